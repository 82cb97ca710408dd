"""Where deliveries go: the SMTP server of ``--smtp-url`` or ``SLABILL_SMTP_URL``, and webhook secrets.

``smtp://[user[:password]@]host[:port]`` (port 25 by default), ``smtps://`` for TLS from
the first byte (port 465), ``?starttls=1`` to require STARTTLS on a plain connection,
``?timeout=SECONDS`` for the socket (default 30).  A user or password may be
percent-encoded (``%40`` for ``@``).  The password is held but never shown: the server
is described as ``smtp://user:***@host:port``, and a URL that cannot be read is refused
without being repeated.  A password is refused on a connection without TLS to anything
but this machine (loopback), where it would cross the network in clear.

Webhook secrets live in the environment variables the issuer's ``webhooks`` name
(``secret_env``); they are read when a run starts and never stored or printed.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from ..core.errors import InputError

SMTP_VARIABLE = "SLABILL_SMTP_URL"
URL_SHAPE = "smtp://[user[:password]@]host[:port] (smtps:// for TLS; ?starttls=1 to require STARTTLS)"


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server to send through; ``repr`` and ``describe`` never show the password."""

    host: str
    port: int
    tls: str
    """implicit (smtps://), starttls (?starttls=1) or none"""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def parse(cls, url: str, field_name: str = "--smtp-url") -> "SmtpServer":
        """Read an SMTP URL.

        >>> SmtpServer.parse("smtps://billing%40hostco.example:s3cret@mail.hostco.example")
        SmtpServer(host='mail.hostco.example', port=465, tls='implicit', user='billing@hostco.example', timeout=30.0)
        >>> SmtpServer.parse("smtp://127.0.0.1:2525?starttls=1").describe()
        'smtp://127.0.0.1:2525?starttls=1'
        """
        def refuse(why: str) -> InputError:
            # The URL itself is never repeated: it may hold a password.
            return InputError(f"the SMTP server URL {why}; write it {URL_SHAPE}", field=field_name)

        try:
            parts = urlsplit(url.strip())
            port = parts.port
            host = parts.hostname
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise refuse("cannot be read") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise refuse("must start with smtp:// or smtps://")
        if not host:
            raise refuse("names no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise refuse("has a path; only a host and port are used")
        tls = "implicit" if parts.scheme == "smtps" else "none"
        timeout = 30.0
        for key, value in query:
            if key == "starttls":
                if value not in ("1", "true", "0", "false"):
                    raise refuse("says starttls=" + value + ", not 1 or 0")
                if value in ("1", "true"):
                    if tls == "implicit":
                        raise refuse("asks for STARTTLS on smtps://, which is TLS already")
                    tls = "starttls"
            elif key == "timeout":
                try:
                    timeout = float(value)
                except ValueError:
                    raise refuse("gives a timeout that is not a number of seconds") from None
                if not 0 < timeout <= 600:
                    raise refuse("gives a timeout outside 0 to 600 seconds")
            else:
                raise refuse(f"has an unknown setting {key!r}")
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and tls == "none" and not _loopback(host):
            raise InputError(f"the SMTP password would cross the network in clear to {host}: use smtps://, "
                             "or add ?starttls=1", field=field_name)
        return cls(host, port or (465 if tls == "implicit" else 25), tls, user, password, timeout)

    def describe(self) -> str:
        """The server as a URL, the password replaced by ***."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        who = ""
        if self.user is not None:
            who = self.user.replace("@", "%40") + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        settings = []
        if self.tls == "starttls":
            settings.append("starttls=1")
        if self.timeout != 30.0:
            settings.append(f"timeout={self.timeout:g}")
        return f"{scheme}://{who}{host}:{self.port}" + ("?" + "&".join(settings) if settings else "")

    def __str__(self) -> str:
        return self.describe()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smtp_server(url: str | None, environ: Mapping[str, str] = os.environ) -> SmtpServer | None:
    """``--smtp-url``, else ``SLABILL_SMTP_URL``, else None."""
    if url:
        return SmtpServer.parse(url)
    if environ.get(SMTP_VARIABLE):
        return SmtpServer.parse(environ[SMTP_VARIABLE], SMTP_VARIABLE)
    return None


def webhook_secret(variable: str, url: str, environ: Mapping[str, str] = os.environ) -> bytes:
    """The signing secret of a webhook endpoint, from the environment variable its ``secret_env`` names."""
    secret = environ.get(variable)
    if not secret:
        raise InputError(f"the webhook {url} signs with the secret in the environment variable {variable}, "
                         "which is not set", field="issuer.webhooks.secret_env")
    return secret.encode("utf-8")

"""Speaking SMTP with the standard library's smtplib: one connection, many mail transactions.

``Mailer.send`` runs one transaction and says how it ended: *delivered* (250 after
the end of the data), *transient* (a 4xx reply, or the connection lost or timed out
before the server answered the end of the data: without its 250 the server has not
taken the message, RFC 5321 section 4.1.1.4) or *permanent* (a 5xx reply to MAIL,
RCPT or DATA: 550 for a mailbox that does not exist, say).  Every recipient must be
accepted or the message goes to none of them, so a retry never reaches anyone twice.

The data is written here rather than by smtplib's ``data``, which sends the final
``.`` in the same call: ``before_end`` runs once the whole message is written but its
end is not, and the caller records there, durably, that the server may now take it.
A run that dies before that point knows the server did not.

Problems of the session rather than of one message raise: ``ServerUnavailable`` when
the server cannot be reached now (refused, timed out, a 4xx greeting), ``ServerRefused``
when it refuses this client whatever the message (the login, TLS, a 5xx greeting): a
setting to fix.  No message says the password.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from typing import Callable, Sequence

from ..core.errors import InputError
from .settings import SmtpServer


@dataclass(frozen=True)
class Reply:
    """How one attempt ended."""

    outcome: str
    """delivered | transient | permanent"""
    code: str | None
    """the server's reply code, None when the connection failed"""
    detail: str


class ServerUnavailable(Exception):
    """The SMTP server cannot be reached now; every message would fail the same way."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.detail)
        self.reply = reply


class ServerRefused(InputError):
    """The SMTP server refuses this client (login, TLS, greeting): a setting to fix, not a message to retry."""


def dot_stuffed(data: bytes) -> bytes:
    r"""A message as DATA carries it: CRLF line ends, a leading '.' doubled, ending in CRLF (RFC 5321 4.5.2).

    >>> dot_stuffed(b"a\n.b\r\n..c")
    b'a\r\n..b\r\n...c\r\n'
    """
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


class Mailer:
    """A connection to one SMTP server, opened on the first message and kept for the next ones."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._smtp: smtplib.SMTP | None = None

    def send(self, sender: str, recipients: Sequence[str], message: bytes, before_end: Callable[[], None]) -> Reply:
        """One mail transaction; ``before_end`` runs just before the end of the data is sent."""
        smtp = self._smtp or self._connect()
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                return self._refused(code, text, "MAIL FROM")
            for recipient in recipients:
                code, text = smtp.rcpt(recipient)
                if code not in (250, 251):
                    return self._refused(code, text, f"RCPT TO <{recipient}>")
            code, text = smtp.docmd("data")
            if code != 354:
                return self._refused(code, text, "DATA")
            smtp.send(dot_stuffed(message))
            try:
                before_end()
            except BaseException:
                self._drop()  # the end was not sent: the server discards what it has
                raise
            smtp.send(b".\r\n")
            code, text = smtp.getreply()
            if code == 250:
                return Reply("delivered", "250", _text(text))
            return self._refused(code, text, "the end of the data")
        except OSError as exc:  # smtplib's disconnections, timeouts and resets are all OSErrors
            self._drop()
            return Reply("transient", None, f"the connection to {self.server} was lost before the server "
                                            f"took the message ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()

    # -- the session ------------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        where = server.describe()
        try:
            if server.tls == "implicit":
                smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        except smtplib.SMTPConnectError as exc:
            self._greeting_refused(exc.smtp_code, exc.smtp_error, where)
        except ssl.SSLError as exc:
            raise ServerRefused(f"TLS with the SMTP server {where} failed: {exc.reason or exc}",
                                field="--smtp-url") from None
        except OSError as exc:
            raise ServerUnavailable(Reply("transient", None, f"the SMTP server {where} cannot be reached "
                                                             f"({type(exc).__name__}: {exc})")) from None
        try:
            smtp.ehlo_or_helo_if_needed()
            if server.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ServerRefused(f"the SMTP server {where} offers no STARTTLS, which the URL requires",
                                        field="--smtp-url")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if server.user is not None:
                smtp.login(server.user, server.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise ServerRefused(f"the SMTP server {where} refused the login of {server.user} "
                                f"({exc.smtp_code} {_text(exc.smtp_error)}): check the user and password",
                                field="--smtp-url") from None
        except smtplib.SMTPNotSupportedError:
            smtp.close()
            raise ServerRefused(f"the SMTP server {where} offers no login (AUTH) for the user in the URL",
                                field="--smtp-url") from None
        except smtplib.SMTPHeloError as exc:
            smtp.close()
            self._greeting_refused(exc.smtp_code, exc.smtp_error, where)
        except ssl.SSLError as exc:
            smtp.close()
            raise ServerRefused(f"TLS with the SMTP server {where} failed: {exc.reason or exc}",
                                field="--smtp-url") from None
        except OSError as exc:
            smtp.close()
            raise ServerUnavailable(Reply("transient", None, f"the SMTP server {where} dropped the session "
                                                             f"({type(exc).__name__}: {exc})")) from None
        self._smtp = smtp
        return smtp

    @staticmethod
    def _greeting_refused(code: int, text, where: str):
        detail = f"the SMTP server {where} answered {code} {_text(text)}"
        if 400 <= code < 500:
            raise ServerUnavailable(Reply("transient", str(code), detail))
        raise ServerRefused(detail, field="--smtp-url")

    def _refused(self, code: int, text, stage: str) -> Reply:
        detail = f"{stage}: {code} {_text(text)}"
        if code == 421 or not 400 <= code < 600:
            self._drop()  # 421: the server is closing the connection; anything else: it no longer follows
            return Reply("transient", str(code), detail)
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()
        return Reply("transient" if code < 500 else "permanent", str(code), detail)

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None

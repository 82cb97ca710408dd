"""Real servers on loopback for the delivery tests: an SMTP server (aiosmtpd) and a webhook receiver.

Neither is a mock: slabill talks to them over TCP as it would to a mail relay or an ERP.
Each can be told how to answer (a 421, a 550, a dropped connection) and can kill the
process that is delivering at a chosen moment, for the crash tests.  Also here: a book of
``n`` contracts that each earn one credit note, for tests that need many documents.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """A message the SMTP server accepted (it answered 250 to the end of its data)."""

    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def header(self, name: str) -> str:
        """A header as RFC 2047 decodes it: adjacent encoded words joined, the space between them dropped.

        (The parser of ``email.headerregistry`` keeps that space inside a display name, which
        would turn a folded "الرقمية" into "الرق مية"; mail programs join the words.)
        """
        from email.header import decode_header, make_header

        raw = email.message_from_bytes(self.data, policy=email.policy.compat32)[name]
        return str(make_header(decode_header(raw)))

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def number(self) -> str:
        return self.message["X-Slabill-Document"]


@dataclass
class Script:
    """How the SMTP server answers: a queue of answers per stage (MAIL, RCPT, DATA), then 250.

    An answer is an SMTP reply such as ``"421 4.3.2 try again later"``, or ``"drop"``
    (at DATA: read the first line of the message, then close the connection), or a
    callable run with the envelope that returns one of those or None (answer normally).
    """

    mail: list = field(default_factory=list)
    rcpt: list = field(default_factory=list)
    data: list = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """recipient address -> the reply every RCPT TO of it gets, e.g. "550 5.1.1 no such user\""""


class _Handler:
    def __init__(self, server: "MailServer") -> None:
        self.server = server

    def _next(self, queue: list, envelope):
        with self.server.lock:
            answer = queue.pop(0) if queue else None
        return answer(envelope) if callable(answer) else answer

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        answer = self._next(self.server.script.mail, envelope)
        if answer:
            return answer
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refused = self.server.script.refuse.get(address)
        if refused:
            return refused
        answer = self._next(self.server.script.rcpt, envelope)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = self._next(self.server.script.data, envelope)
        if answer:
            return answer
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued"


class _DroppingSMTP(SMTP):
    """aiosmtpd's server, which can drop the connection in the middle of a message's data."""

    def __init__(self, handler, mail_server: "MailServer", **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.mail_server = mail_server

    async def smtp_DATA(self, arg: str) -> None:
        with self.mail_server.lock:
            drop = bool(self.mail_server.script.data) and self.mail_server.script.data[0] == "drop"
            if drop:
                self.mail_server.script.data.pop(0)
        if not drop:
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")  # the first line of the message, then the line goes dead
        self.mail_server.dropped += 1
        self.transport.close()


class _Controller(Controller):
    def __init__(self, mail_server: "MailServer", **kwargs) -> None:
        self.mail_server = mail_server
        super().__init__(_Handler(mail_server), **kwargs)

    def factory(self):
        return _DroppingSMTP(self.handler, self.mail_server, **self.SMTP_kwargs)


class MailServer:
    """An aiosmtpd server on a loopback port, recording what it accepted."""

    def __init__(self, port: int | None = None, **smtp_kwargs) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.script = Script()
        self.dropped = 0
        self.port = port or free_port()
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port, **smtp_kwargs)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def numbers(self) -> list[str]:
        """The document numbers received, in order, one per message."""
        with self.lock:
            return [r.number for r in self.received]


# --- webhooks ----------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One POST the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    """what it answered"""

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """A ``http.server`` on a loopback port, in a thread: records each POST and answers as scripted."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: list = []
        """statuses (or callables returning one) for the next POSTs; 200 when empty"""
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                status = answer(body) if callable(answer) else answer
                with receiver.lock:
                    receiver.calls.append(Call(self.path, dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/slabill"

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_by(secret: bytes, call: Call, now: int, tolerance: int = 300) -> bool:
    """A receiver's own check of ``Slabill-Signature``, written from the documented scheme with hmac alone:
    ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    parts = dict(item.split("=", 1) for item in call.headers["Slabill-Signature"].split(","))
    expected = hmac.new(secret, parts["t"].encode() + b"." + call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - int(parts["t"])) <= tolerance


def killer(pid_of: Callable[[], int]) -> Callable:
    """An answer that kills the delivering process with SIGKILL (``kill -9``); the server then goes down
    too, keeping nothing of the message (its answer, a 421, reaches nobody)."""

    def kill(*_args):
        os.kill(pid_of(), signal.SIGKILL)
        return "421 4.3.2 shutting down"

    return kill


# --- a book of many documents -------------------------------------------------------------------------------

LOCALES = ("fr_FR", "en_GB", "de_DE", "es_ES")


def write_book(folder: Path, contracts: int, *, webhooks: str = "") -> Path:
    """``contracts`` contracts under standard-hosting, each down 2 hours in October 2026: one credit note each.

    2 hours of 44,640 minutes is an attainment of 99.731183 %, below 99.9 and at least 99.0:
    the first tier, 10 % of the 1,000.00 EUR compute fee, a credit of 100.00 EUR and
    120.00 EUR with 20 % VAT.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["issuer:", "  name: Hexanuage SAS", "  vat_id: FR58832476915", "  country: FR",
             '  address: "27 quai de la Seine, 75019 Paris, France"', "  email: facturation@hexanuage.example",
             "  credit_note_prefix: AV"]
    if webhooks:
        lines.append(webhooks.rstrip())
    lines.append("contracts:")
    incidents = ["contract,service,start,end,cause,announced_at"]
    for index in range(1, contracts + 1):
        contract = f"C-{index:05d}"
        lines += [f"  - id: {contract}",
                  f"    customer: {{id: K{index}, name: Customer {index}, locale: {LOCALES[index % len(LOCALES)]}, "
                  f"country: FR, email: billing@customer{index}.example}}",
                  "    currency: EUR", "    timezone: Europe/Paris", "    ruleset: standard-hosting",
                  "    start: 2025-01-01", '    vat_rate: "20"',
                  '    services: [{id: compute, monthly_fee: "1000.00"}]']
        incidents.append(f"{contract},compute,2026-10-08T10:00:00Z,2026-10-08T12:00:00Z,outage,")
    (folder / "contracts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "incidents.csv").write_text("\n".join(incidents) + "\n", encoding="utf-8")
    return folder

"""``slabill deliver``: each issued document to its customer once by e-mail, and its events to the issuer's webhooks.

A run, in order:

1. reads the webhook secrets (all of them, before anything is sent) and records itself,
   holding the lock that says it is alive (``engine.store.delivery``);
2. settles what runs that died left claimed (``after_crash``);
3. takes the documents no run has taken yet: each gets its e-mail delivery, with its
   Message-ID chosen now, and a ``document.issued`` event for each webhook endpoint;
4. e-mails what is due, in the order documents were issued, a batch of claims at a
   time, on one SMTP connection; each document's e-mail goes to its customer's billing
   address and copies (``email`` and ``cc`` of the contract's terms in force) from the
   issuer's ``email``, with the files ``invoices.attachments`` says the customer takes,
   each checked against the hash stored at issue;
5. posts the webhook events that are due (``document.delivered`` and
   ``delivery.failed`` are made as e-mails settle, so they go out in the same run).

What an attempt's ending means:

* **delivered**: the server's 250 (an HTTP 2xx);
* **transient** (SMTP 4xx, a refused, dropped or timed-out connection, HTTP 408, 425,
  429 or 5xx): retried by a later run, after ``retry_delay``; after ``MAX_FAILURES``
  in a row the delivery has failed;
* **permanent** (SMTP 5xx, a customer without an address or with a bad one, another
  HTTP 4xx): failed, reported, and never in the way of other documents;
* a server that cannot be reached stops the e-mails of this run (the document at hand
  counts a transient failure, the others wait untouched); one that refuses the login
  or TLS stops the run: a setting to fix.

A run that died is reconciled by ``after_crash``.  Nothing of an e-mail had been sent
when no attempt was open, or the server cannot have taken it when the attempt had not
reached the end of the data: it is sent again.  When the end of the data may have
been sent, the server may have taken the message and nobody can ask it: the delivery
is *unknown* and never sent again by itself, so that no customer gets a document
twice; ``deliver --status`` lists it with its Message-ID, to look for in the mailbox,
and ``deliver --resend NUMBER`` sends it again once someone has looked.  A webhook
event is sent again: it carries the same id and idempotency key, and receivers drop
an id they have seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from invoices.attachments import customer_files
from invoices.documents import Document
from invoices.mail import covering_mail
from invoices.report import documents_from_rows, render_report

from .. import __version__
from ..core.canonical import canonical, from_micros, to_micros
from ..core.errors import InputError
from ..core.model import Issuer, mail_address
from ..issued import DocumentMismatch, issued_pdf, issued_xml
from ..store import Claim, Settlement, Store, StoredContract
from .messages import build_message, message_id
from .settings import SmtpServer, webhook_secret
from .smtp import Mailer, Reply, ServerUnavailable
from .webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, event_body, event_id, post, signature

BATCH = 20
"""deliveries claimed at a time: another run claims the next ones meanwhile"""
MAX_FAILURES = 10
"""transient failures in a row after which a delivery has failed (about 2 days and 10 hours of retries)"""
REPORTS_KEPT = 16
"""monthly reports kept rendered: a contract's documents of a period are issued, and so delivered, together"""


def retry_delay(failures: int) -> timedelta:
    """How long to wait after the ``failures``-th transient failure in a row: 5 minutes, tripled each time, at most 12 hours.

    >>> [str(retry_delay(n)) for n in (1, 2, 3, 4, 5, 6, 9)]
    ['0:05:00', '0:15:00', '0:45:00', '2:15:00', '6:45:00', '12:00:00', '12:00:00']
    """
    return min(timedelta(minutes=5) * 3 ** (failures - 1), timedelta(hours=12))


def after_crash(channel: str, phase: str | None, failures: int) -> Settlement:
    """What a delivery left claimed by a run that died becomes (see the module's docstring)."""
    waiting = "retry" if failures else "pending"
    if phase is None:
        return Settlement("interrupted", waiting, detail="the run that claimed it stopped before sending it")
    if channel == "email":
        return Settlement("unknown", "unknown", detail=(
            "the run died after the end of the message may have reached the server, which may have taken it: it is "
            "not sent again by itself; look for its Message-ID in the mailbox, then deliver --resend if it is not "
            "there"))
    return Settlement("interrupted", waiting, detail=(
        "the run died while the event was being sent; it is sent again with the same id and idempotency key"))


@dataclass(frozen=True)
class Problem:
    """A delivery that did not go through in this run."""

    number: str
    what: str
    """"e-mail", or "<event> to <url>\""""
    detail: str
    retry_at: datetime | None = None


@dataclass
class DeliveryReport:
    """What a run did."""

    run_id: int
    taken: int = 0
    """documents taken for delivery for the first time"""
    delivered: list[str] = field(default_factory=list)
    """the numbers of the documents e-mailed"""
    events: int = 0
    """webhook events delivered"""
    retrying: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    unknown: list[Problem] = field(default_factory=list)
    stopped: str | None = None
    """why e-mailing stopped before everything due was tried (the server could not be reached)"""
    waiting: int = 0
    """deliveries (of the period) waiting for a retry when the run ended, this run's and earlier ones'"""

    @property
    def exit_code(self) -> int:
        """3 when something waits for a retry (run again later), 4 when something failed or is unknown, else 0."""
        if self.retrying or self.stopped or self.waiting:
            return 3
        if self.failed or self.unknown:
            return 4
        return 0

    def as_json(self) -> dict:
        return {"run": self.run_id, "taken": self.taken, "delivered": len(self.delivered), "events": self.events,
                "retrying": len(self.retrying), "failed": len(self.failed), "unknown": len(self.unknown),
                "stopped": self.stopped, "waiting": self.waiting}


def deliver(store: Store, *, smtp: SmtpServer | None, now: Callable[[], datetime], period: str | None = None,
            environ: Mapping[str, str] = os.environ, batch: int = BATCH) -> DeliveryReport:
    """Deliver every issued document (of ``period``) not delivered yet; see the module's docstring."""
    if smtp is None:
        raise InputError("no SMTP server to deliver through: give --smtp-url smtp://host:port or set "
                         "SLABILL_SMTP_URL", field="--smtp-url")
    return _Run(store, smtp, now, period, environ, batch).run()


def resend(store: Store, number: str) -> None:
    """Queue a document's e-mail again after a permanent failure, an unknown outcome, or to retry it now."""
    row = store.document(number)
    if row is None:
        raise InputError(f"no document numbered {number!r} in the store", field="--resend")
    status = store.requeue_email(number)
    if status in ("failed", "unknown", "retry"):
        return
    if status == "delivered":
        raise InputError(f"{number} was delivered; a document is delivered once (forward that e-mail if the customer "
                         "lost it)", field="--resend")
    raise InputError(f"{number} is waiting to be sent ({status or 'pending'}); deliver sends it without --resend",
                     field="--resend")


def _micros(moment: datetime) -> int:
    return to_micros(moment.astimezone(timezone.utc))


def _utc_text(micros: int) -> str:
    return from_micros(micros).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_data(row, document: Document) -> dict:
    """What an event says of its document."""
    return {"number": row.number, "kind": row.kind, "contract": row.contract_id, "customer": document.customer.name,
            "period": row.period, "issue_date": row.issue_date.isoformat(), "currency": row.currency,
            "net_total": row.net_total, "tax_total": row.tax_total, "gross_total": row.gross_total,
            "corrects": document.corrects, "content_sha256": row.content_sha256, "html_sha256": row.html_sha256}


def stored_hashes(row, pdf: str | None = None) -> dict[str, str]:
    """The sha256 the store kept of each format a customer may take: at issue (HTML, XML), or
    when it was first handed out (the PDF)."""
    hashes = {"html": row.html_sha256}
    if row.xml_sha256:
        hashes["xml"] = row.xml_sha256
    if pdf:
        hashes["pdf"] = pdf
    return hashes


class _Run:
    """One run of ``deliver``: its settings, its lock, and what it has done so far."""

    def __init__(self, store: Store, smtp: SmtpServer, now: Callable[[], datetime], period: str | None,
                 environ: Mapping[str, str], batch: int) -> None:
        self.store, self.now, self.period, self.batch = store, now, period, batch
        self.mailer = Mailer(smtp)
        self.issuers: dict[int, Issuer] = store.issuers()
        # Every secret is read before anything is sent: a missing one stops the run at once.
        self.endpoints = {endpoint.url: (endpoint, webhook_secret(endpoint.secret_env, endpoint.url, environ))
                          for issuer in self.issuers.values() for endpoint in issuer.webhooks}
        self._reports: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._rule_sets: dict[str, object] = {}

    def run(self) -> DeliveryReport:
        store = self.store
        run_id, lease = store.open_delivery_run(_micros(self.now()), socket.gethostname(), os.getpid())
        self.run_id, self.lease = run_id, lease
        self.report = report = DeliveryReport(run_id)
        try:
            for owner in store.claimed_by_others(run_id):
                if lease.is_free(owner):
                    self._reconciled(store.reconcile(owner, _micros(self.now()), after_crash))
            self._take_new()
            self._email()
            self._webhooks()
            report.waiting = store.delivery_counts(self.period).get("retry", 0)
        finally:
            self.mailer.close()
            # Claims this run did not get to go back to the queue; an attempt left open
            # (an error while sending) is settled as a crash's would be.
            try:
                self._reconciled(store.reconcile(run_id, _micros(self.now()), after_crash))
            finally:
                store.close_delivery_run(run_id, lease, _micros(self.now()), canonical(report.as_json()))
        return report

    def _reconciled(self, settled) -> None:
        numbers = {row.id: row.number for row in self.store.documents_by_id([s.document_id for s in settled]).values()}
        for item in settled:
            if item.status == "unknown":
                self.report.unknown.append(Problem(numbers[item.document_id], "e-mail", after_crash(
                    "email", item.phase, 0).detail or ""))

    # -- taking new documents ------------------------------------------------------------------------------------------

    def _take_new(self) -> None:
        after = 0
        while page := self.store.documents_without_delivery(self.period, after, 500):
            created = _micros(self.now())
            emails, events = [], []
            for row in page:
                issuer = self.issuers[row.issuer_id]
                if not issuer.email:
                    raise InputError(f"the issuer {issuer.name} has no email in contracts.yaml, and documents are "
                                     "sent from it", field="issuer.email")
                emails.append({"document_id": row.id, "channel": "email", "event": "", "endpoint": "",
                               "status": "pending", "attempts": 0, "failures": 0, "created_us": created,
                               "message_id": message_id(row.number, row.content_sha256, issuer.email)})
                events += self._events(row, Document.from_json(json.loads(row.content_json)), issuer,
                                       "document.issued", {}, created)
            # A document's e-mail and its document.issued events are taken in one transaction.
            self.report.taken += self.store.add_deliveries(emails, events)[0]
            after = page[-1].id

    def _events(self, row, document: Document, issuer: Issuer, event: str, delivery: dict, created: int) -> list[dict]:
        """One delivery of ``event`` per endpoint of the issuer that receives it, its body fixed now."""
        identifier = event_id(issuer.key, row.number, event)
        data = {"document": document_data(row, document), **({"delivery": delivery} if delivery else {})}
        body = event_body(identifier, event, _utc_text(created), data)
        return [{"document_id": row.id, "channel": "webhook", "event": event, "endpoint": endpoint.url,
                 "status": "pending", "attempts": 0, "failures": 0, "created_us": created, "message_id": identifier,
                 "payload_json": body} for endpoint in issuer.webhooks if event in endpoint.events]

    # -- e-mail --------------------------------------------------------------------------------------------------------

    def _email(self) -> None:
        while self.report.stopped is None:
            claims = self.store.claim(self.run_id, "email", _micros(self.now()), self.batch, self.period)
            if not claims:
                return
            rows = self.store.documents_by_id([c.document_id for c in claims])
            contracts = {s.contract.id: s for s in self.store.contracts(sorted({r.contract_id for r in rows.values()}))}
            for claim in claims:
                if self.report.stopped is not None:
                    return  # the rest of the batch goes back to the queue when the run ends
                self.lease.check()
                row = rows[claim.document_id]
                self._send_email(claim, row, contracts[row.contract_id])

    def _send_email(self, claim: Claim, row, stored: StoredContract) -> None:
        document = Document.from_json(json.loads(row.content_json))
        issuer = self.issuers[row.issuer_id]
        customer = stored.contract.customer
        try:
            if not customer.email:
                raise ValueError(f"the customer of contract {row.contract_id} has no email in contracts.yaml")
            to = mail_address(customer.email)
        except ValueError as exc:
            return self._settle_email(claim, row, document, None, Reply("permanent", None, str(exc)), [], "[]")
        recipients = list(dict.fromkeys([to, *customer.cc]))  # an address given twice receives one copy
        try:
            # The PDF/A and the e-invoice XML, checked against what was issued (engine.issued); a
            # document issued before e-invoices goes as it was issued, its HTML.
            pdf = issued_pdf(self.store, row, document) if document.e_invoice is not None else None
            xml = issued_xml(row, document) if row.xml_sha256 else None
        except DocumentMismatch as exc:
            return self._settle_email(claim, row, document, None, Reply("permanent", None, str(exc)), recipients, "[]")
        files = customer_files(document, self._report(row), pdf, xml)
        kept = self.store.rendition(row.id, "pdf") if pdf is not None else None
        hashes = stored_hashes(row, kept.sha256 if kept else None)
        for file in files:
            expected = hashes.get(file.stored_as) if file.stored_as else None
            if expected is not None and hashlib.sha256(file.data).hexdigest() != expected:
                return self._settle_email(claim, row, document, None, Reply(
                    "permanent", None, f"{file.name} does not render to the bytes issued (sha256 {expected})"),
                    recipients, "[]")
        files_json = canonical([{"name": f.name, "media_type": f.media_type, "bytes": len(f.data),
                                 "sha256": hashlib.sha256(f.data).hexdigest()} for f in files])
        sent_at = self.now()
        data = build_message(sender=(issuer.name, issuer.email), to=(customer.name, to), cc=customer.cc,
                             mail=covering_mail(document, files), files=files, message_id=claim.message_id,
                             number=row.number, date=sent_at)
        attempt: list[int] = []

        def before_end() -> None:
            attempt.append(self.store.begin_attempt(self.run_id, claim, _micros(sent_at), ", ".join(recipients),
                                                    files_json))

        try:
            reply = self.mailer.send(issuer.email, recipients, data, before_end)
        except ServerUnavailable as exc:
            reply = exc.reply
            self.report.stopped = reply.detail
        self._settle_email(claim, row, document, attempt[0] if attempt else None, reply, recipients, files_json)

    def _settle_email(self, claim: Claim, row, document: Document, attempt_id: int | None, reply: Reply,
                      recipients: list[str], files_json: str) -> None:
        now = _micros(self.now())
        settlement = self._settlement(claim, reply, now)
        delivery = {"channel": "email", "recipients": recipients, "message_id": claim.message_id,
                    "attempts": claim.attempts + 1, "code": reply.code}
        follow_ups: list[dict] = []
        issuer = self.issuers[row.issuer_id]
        if settlement.status == "delivered":
            follow_ups = self._events(row, document, issuer, "document.delivered",
                                      {**delivery, "delivered_at": _utc_text(now)}, now)
            self.report.delivered.append(row.number)
        elif settlement.status == "failed":
            follow_ups = self._events(row, document, issuer, "delivery.failed",
                                      {**delivery, "failed_at": _utc_text(now), "reason": settlement.detail}, now)
            self.report.failed.append(Problem(row.number, "e-mail", settlement.detail or ""))
        else:
            self.report.retrying.append(Problem(row.number, "e-mail", settlement.detail or "",
                                                from_micros(settlement.next_attempt_us)))
        self.store.settle(self.run_id, claim, attempt_id, now, settlement, recipients=", ".join(recipients),
                          files_json=files_json, follow_ups=follow_ups)

    @staticmethod
    def _settlement(claim: Claim, reply: Reply, now: int) -> Settlement:
        if reply.outcome == "delivered":
            return Settlement("delivered", "delivered", reply.code, reply.detail, failures=claim.failures)
        if reply.outcome == "permanent":
            return Settlement("permanent", "failed", reply.code, reply.detail, failures=claim.failures)
        failures = claim.failures + 1
        if failures >= MAX_FAILURES:
            return Settlement("transient", "failed", reply.code,
                              f"{reply.detail} (given up after {failures} transient failures in a row)", failures)
        return Settlement("transient", "retry", reply.code, reply.detail, failures,
                          now + retry_delay(failures) // timedelta(microseconds=1))

    def _report(self, row) -> str | None:
        """The monthly report of the document's contract and period, from its latest record, as HTML."""
        key = (row.contract_id, row.period)
        if key in self._reports:
            self._reports.move_to_end(key)
            return self._reports[key]
        latest = self.store.latest_records(row.period, row.contract_id).get(row.contract_id)
        text = None
        if latest is not None:
            record = json.loads(latest.record_json)
            sha = record["ruleset"]["sha256"]
            if sha not in self._rule_sets:
                self._rule_sets[sha] = self.store.rule_set(sha)
            documents = documents_from_rows(self.store.documents(period=row.period, contract=row.contract_id))
            text = render_report(record, "html", documents=documents, rule_set=self._rule_sets[sha])
        self._reports[key] = text
        if len(self._reports) > REPORTS_KEPT:
            self._reports.popitem(last=False)
        return text

    # -- webhooks ------------------------------------------------------------------------------------------------------

    def _webhooks(self) -> None:
        unreachable: set[str] = set()
        while claims := self.store.claim(self.run_id, "webhook", _micros(self.now()), self.batch, self.period):
            numbers = {row.id: row.number for row in self.store.documents_by_id(
                sorted({c.document_id for c in claims})).values()}
            for claim in claims:
                if claim.endpoint in unreachable:
                    continue  # it waits for the next run, untouched
                self.lease.check()
                self._post(claim, numbers[claim.document_id], unreachable)

    def _post(self, claim: Claim, number: str, unreachable: set[str]) -> None:
        what = f"{claim.event} to {claim.endpoint}"
        configured = self.endpoints.get(claim.endpoint)
        attempt_id = None
        if configured is None:
            reply = Reply("permanent", None, "the endpoint is no longer among the issuer's webhooks")
        else:
            body = (claim.payload_json or "").encode("utf-8")
            sent_at = self.now()
            headers = {SIGNATURE_HEADER: signature(configured[1], int(sent_at.timestamp()), body),
                       IDEMPOTENCY_HEADER: claim.message_id, "User-Agent": f"slabill/{__version__}"}
            attempt_id = self.store.begin_attempt(self.run_id, claim, _micros(sent_at), claim.endpoint)
            reply = post(claim.endpoint, body, headers)
            if reply.outcome == "transient" and reply.code is None:
                unreachable.add(claim.endpoint)
        now = _micros(self.now())
        settlement = self._settlement(claim, reply, now)
        if settlement.status == "delivered":
            self.report.events += 1
        elif settlement.status == "failed":
            self.report.failed.append(Problem(number, what, settlement.detail or ""))
        else:
            self.report.retrying.append(Problem(number, what, settlement.detail or "",
                                                from_micros(settlement.next_attempt_us)))
        self.store.settle(self.run_id, claim, attempt_id, now, settlement, recipients=claim.endpoint)

"""Delivery: every issued document reaches its customer once, by e-mail, and its events reach the issuer's webhooks.

Everything here talks to real servers on loopback (``tests/mailservers.py``): aiosmtpd
for SMTP, never a mock of smtplib, and ``http.server`` for webhooks.  The store runs on
SQLite and, when configured, on PostgreSQL.  Runs that crash are real processes killed
with SIGKILL by the server at a chosen moment of the conversation, so no test waits on
the wall clock: deliveries are timed by an injected clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from email.utils import parseaddr
from pathlib import Path

import pytest

from engine.core.period import Period
from engine.delivery import SmtpServer, deliver
from engine.delivery.deliver import MAX_FAILURES
from engine.jobs.output import write_reports
from engine.jobs.run import monthly_run
from engine.loading.contracts import load_book
from engine.store import Store
from invoices.einvoice import SUFFIX
from tests.conftest import ROOT, load_fixtures
from tests.mailservers import MailServer, WebhookReceiver, free_port, killer, signed_by, write_book

OCTOBER = Period(2026, 10)
ISSUED_AT = datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)
SLABILL = Path(sys.executable).parent / "slabill"
SECRET = "whsec_5e9c1f0a7b"

# What the October 2026 run of the fixtures issues, in order (tests/test_cli.py).
ISSUED = ["AV-2026-000001", "AV-2026-000002", "AV-2026-000003", "ADJ-2026-000001", "ADJ-2026-000002",
          "ADJ-2026-000003", "AV-2026-000004", "ADJ-2026-000004"]


class Clock:
    """The time a delivery run reads; tests move it instead of waiting."""

    def __init__(self, at: datetime = ISSUED_AT) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **amount) -> None:
        self.at += timedelta(**amount)


@pytest.fixture
def mail_server():
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def ran(store):
    """The fixtures loaded and October 2026 run: eight documents to deliver."""
    load_fixtures(store)
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=lambda: ISSUED_AT)
    return store


def load_book_folder(store: Store, folder: Path):
    from engine.loading.measurements import load_measurements
    from engine.loading.rates import load_rates
    from engine.loading.rulesets import load_rule_files, rule_set_files

    book = load_book(folder / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(ROOT / "rules")),
               measurements=load_measurements(folder / "data", book), rates=load_rates(ROOT / "rules"))
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=lambda: ISSUED_AT)
    return book


def webhooks_yaml(url: str, variable: str = "SLABILL_TEST_WEBHOOK_SECRET") -> str:
    return f"  webhooks:\n    - {{url: \"{url}\", secret_env: {variable}}}\n"


def statuses(store: Store, channel: str = "email") -> dict[str, str]:
    return {s.number: s.status for s in store.delivery_states() if s.channel == channel}


def attempts_of(store: Store, number: str, channel: str = "email"):
    return [attempts for delivery, attempts in store.delivery_attempts(number) if delivery.channel == channel][0]


def attachments(received) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in received.message.iter_attachments()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(*args, env=None, db=None) -> subprocess.CompletedProcess:
    arguments = [str(SLABILL), *map(str, args)] + (["--db", db] if db else [])
    return subprocess.run(arguments, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT)


def start(*args, env=None, db=None) -> subprocess.Popen:
    arguments = [str(SLABILL), *map(str, args)] + (["--db", db] if db else [])
    return subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=ROOT)


# --- the SMTP URL ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, host, port, tls, user", [
    ("smtp://mail.hostco.example", "mail.hostco.example", 25, "none", None),
    ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, "none", None),
    ("smtps://relay.example", "relay.example", 465, "implicit", None),
    ("smtp://relay.example:587?starttls=1", "relay.example", 587, "starttls", None),
    ("smtps://billing%40hostco.example:p%40ss@relay.example:2465", "relay.example", 2465, "implicit",
     "billing@hostco.example"),
    ("smtp://user:pw@localhost:2525", "localhost", 2525, "none", "user"),  # loopback: no network to cross
    ("smtp://user:pw@[::1]:2525", "::1", 2525, "none", "user"),
])
def test_smtp_urls_are_read_as_interface_md_writes_them(url, host, port, tls, user):
    server = SmtpServer.parse(url)
    assert (server.host, server.port, server.tls, server.user) == (host, port, tls, user)


def test_a_percent_encoded_password_is_decoded_and_never_shown():
    server = SmtpServer.parse("smtps://billing:p%40ss%3Aword@relay.example")
    assert server.password == "p@ss:word"
    assert "p@ss" not in repr(server) and "p@ss" not in str(server) and "p%40ss" not in str(server)
    assert server.describe() == "smtps://billing:***@relay.example:465"


@pytest.mark.parametrize("url, says", [
    ("http://relay.example", "must start with smtp:// or smtps://"),
    ("smtp://:2525", "names no host"),
    ("smtp://relay.example:99999", "cannot be read"),
    ("smtp://relay.example/inbox", "has a path"),
    ("smtp://relay.example?tls=1", "unknown setting 'tls'"),
    ("smtps://relay.example?starttls=1", "TLS already"),
    ("smtp://relay.example?timeout=soon", "not a number of seconds"),
    ("smtp://billing:hunter2-secret@relay.example", "would cross the network in clear"),
])
def test_a_bad_smtp_url_is_refused_without_repeating_it(url, says):
    from engine.core.errors import InputError

    with pytest.raises(InputError) as refused:
        SmtpServer.parse(url)
    assert says in str(refused.value)
    assert "hunter2" not in str(refused.value) and url not in str(refused.value)


# --- e-mail: what the customer receives --------------------------------------------------------------------------

# (number, language, subject, a sentence of the text body) as each customer reads them.
LETTERS = [
    # C-1001, fr_FR: 224.58 EUR credited + 20 % VAT 44.92 = 269.50 EUR
    ("AV-2026-000001", "fr", "Avoir n° AV-2026-000001 – octobre 2026",
     "Veuillez trouver ci-joint notre avoir AV-2026-000001 pour octobre 2026, contrat C-1001\u00a0: "
     "269,50\u00a0€ TTC."),
    # C-4001, de_DE, settled on the next invoice: 360.00 EUR reverse charged (AE, 0 %) = 360.00 EUR off
    # it (it was 360.00 + 19 % = 428.40 while the demo charged the customer German VAT)
    ("ADJ-2026-000003", "de", "Rechnungskorrektur Nr. ADJ-2026-000003 – Oktober 2026",
     "Ihre nächste Rechnung verringert sich um 360,00\u00a0€ inkl. MwSt."),
    # C-3001, en_GB: late-payment fees of 6.39 GBP, which carry no VAT, added to the next invoice
    ("ADJ-2026-000002", "en", "Invoice adjustment no. ADJ-2026-000002 – October 2026",
     "Your next invoice will be higher by £6.39, VAT included."),
    # C-2001, en_US, outside the scope of French VAT (O, 0 %): 1,375.00 USD
    ("AV-2026-000003", "en", "Credit note no. AV-2026-000003 – October 2026",
     "Please find attached our credit note AV-2026-000003 for October 2026, contract C-2001: $1,375.00, VAT included."),
]


def test_each_document_reaches_its_customer_with_files_that_hash_to_the_stored_hashes(ran, mail_server, tmp_path):
    report = deliver(ran, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    assert (report.delivered, report.exit_code, report.taken) == (ISSUED, 0, 8)
    assert mail_server.numbers() == ISSUED

    book = load_book(ROOT / "fixtures" / "contracts.yaml")
    rows = {row.number: row for row in ran.documents()}
    reports = {path.name: path.read_bytes() for path in write_reports(ran, "2026-10", tmp_path, formats=("html",))}
    for received in mail_server.received:
        message, row = received.message, rows[received.number]
        customer = book.contract(row.contract_id).customer
        assert received.sender == "facturation@hexanuage.example"
        assert received.recipients == [customer.email]
        assert parseaddr(received.header("From")) == ("Hexanuage SAS", "facturation@hexanuage.example")
        assert parseaddr(received.header("To")) == (customer.name, customer.email)
        assert message["Date"].datetime == ISSUED_AT
        assert message["Auto-Submitted"] == "auto-generated"
        # chosen when the document was taken, kept in the log, named on the document and its content hash
        assert message["Message-ID"] == f"<{row.number}.{row.content_sha256[:20]}@hexanuage.example>"
        (delivery, attempts), = [d for d in ran.delivery_attempts(row.number) if d[0].channel == "email"]
        assert delivery.message_id == message["Message-ID"] and delivery.status == "delivered"
        files = attachments(received)
        report_name = f"{row.contract_id}-2026-10-report.html"
        # since e-invoices the customer also takes the PDF/A and the XML of its channel
        xml_name = f"{row.number}.{SUFFIX[row.e_invoice]}"
        assert sorted(files) == sorted([f"{row.number}.html", f"{row.number}.pdf", xml_name, report_name])
        # the document's bytes are those issued: their sha256 is the one stored at issue
        assert sha(files[f"{row.number}.html"]) == row.html_sha256
        assert sha(files[xml_name]) == row.xml_sha256
        # the PDF's, the one kept when it was first handed out: by this e-mail
        assert sha(files[f"{row.number}.pdf"]) == ran.rendition(row.id, "pdf").sha256
        # the report is the one `slabill report` writes for the contract and period
        assert files[report_name] == reports[report_name]
        # and the log says what was attached, byte for byte
        assert {f["name"]: f["sha256"] for f in json.loads(attempts[-1].files_json)} == {
            name: sha(data) for name, data in files.items()}

    by_number = {r.number: r for r in mail_server.received}
    for number, language, subject, sentence in LETTERS:
        message = by_number[number].message
        assert by_number[number].header("Subject") == subject
        assert message["Content-Language"] == language
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert sentence in text
        assert f'<html lang="{language}"' in html


def test_spanish_customers_and_copies(store, mail_server, tmp_path):
    """A customer's ``cc`` receives each document too, in the same message; es_ES reads Spanish."""
    folder = write_book(tmp_path / "book", 3)
    contracts = folder / "contracts.yaml"
    contracts.write_text(contracts.read_text().replace(
        "email: billing@customer3.example}", "email: billing@customer3.example, cc: [ap@customer3.example, "
                                             "cfo@customer3.example]}"))
    load_book_folder(store, folder)
    report = deliver(store, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    assert report.delivered == ["AV-2026-000001", "AV-2026-000002", "AV-2026-000003"]
    third = [r for r in mail_server.received if r.number == "AV-2026-000003"][0]  # C-00003, es_ES
    assert third.recipients == ["billing@customer3.example", "ap@customer3.example", "cfo@customer3.example"]
    assert [a.addr_spec for a in third.message["Cc"].addresses] == ["ap@customer3.example", "cfo@customer3.example"]
    assert third.header("Subject") == "Factura rectificativa n.º AV-2026-000003 – octubre de 2026"
    # 2 hours down in 44,640 minutes: 99.731183 %, tier 1, 10 % of 1,000.00 = 100.00 EUR + 20 % VAT = 120.00 EUR
    assert ("Les adjuntamos nuestra factura rectificativa AV-2026-000003 de octubre de 2026, contrato C-00003: "
            "120,00\u00a0€, IVA incluido.") in third.message.get_body(("plain",)).get_content()
    assert [r.recipients for r in mail_server.received if r.number != "AV-2026-000003"] == [
        ["billing@customer1.example"], ["billing@customer2.example"]]


def test_a_second_run_sends_nothing_again(ran, mail_server):
    clock = Clock()
    deliver(ran, smtp=SmtpServer.parse(mail_server.url), now=clock)
    clock.advance(days=40)
    again = deliver(ran, smtp=SmtpServer.parse(mail_server.url), now=clock)
    assert (again.delivered, again.taken, again.exit_code) == ([], 0, 0)
    assert mail_server.numbers() == ISSUED


# --- e-mail: what goes wrong -----------------------------------------------------------------------------------

def test_a_421_is_retried_after_its_backoff_then_delivered_once(ran, mail_server):
    mail_server.script.data.append("421 4.3.2 Service not available, try again later")
    smtp, clock = SmtpServer.parse(mail_server.url), Clock()

    first = deliver(ran, smtp=smtp, now=clock)
    assert first.delivered == ISSUED[1:]
    assert [p.number for p in first.retrying] == ["AV-2026-000001"]
    assert first.retrying[0].retry_at == ISSUED_AT + timedelta(minutes=5)  # the first backoff
    assert first.exit_code == 3  # something waits: run deliver again later
    assert statuses(ran)["AV-2026-000001"] == "retry"

    clock.advance(minutes=4, seconds=59)  # not due yet
    early = deliver(ran, smtp=smtp, now=clock)
    assert (early.delivered, early.exit_code) == ([], 3)

    clock.advance(seconds=1)
    due = deliver(ran, smtp=smtp, now=clock)
    assert (due.delivered, due.exit_code) == (["AV-2026-000001"], 0)
    assert sorted(mail_server.numbers()) == sorted(ISSUED)  # each exactly once
    log = attempts_of(ran, "AV-2026-000001")
    assert [(a.number, a.outcome, a.code) for a in log] == [(1, "transient", "421"), (2, "delivered", "250")]
    assert "421 4.3.2 Service not available" in log[0].detail


def test_transient_failures_back_off_and_end_in_failure(ran, mail_server):
    """5 minutes, tripled after each failure, at most 12 hours; the tenth failure in a row is final."""
    mail_server.script.refuse["comptabilite@lefevre-fils.example"] = "450 4.2.1 mailbox busy"
    smtp, clock = SmtpServer.parse(mail_server.url), Clock()
    waits = []
    for _ in range(MAX_FAILURES):
        report = deliver(ran, smtp=smtp, now=clock)
        problem = [p for p in report.retrying + report.failed if p.number == "AV-2026-000001"][0]
        if problem.retry_at is None:
            break
        waits.append(problem.retry_at - clock())
        clock.at = problem.retry_at
    assert [int(w.total_seconds() // 60) for w in waits] == [5, 15, 45, 135, 405, 720, 720, 720, 720]
    assert statuses(ran)["AV-2026-000001"] == "failed"
    assert "given up after 10 transient failures" in report.failed[0].detail
    assert report.exit_code == 4
    assert "AV-2026-000001" not in mail_server.numbers()


def test_a_550_fails_that_document_and_the_others_are_delivered(ran, mail_server):
    # C-2001's address: its credit note and its adjustment both fail; nobody else is held up.
    mail_server.script.refuse["ap@brightline-analytics.example"] = "550 5.1.1 <ap@brightline-analytics.example>: " \
                                                                     "no such mailbox"
    smtp, clock = SmtpServer.parse(mail_server.url), Clock()
    report = deliver(ran, smtp=smtp, now=clock)
    failed = ["AV-2026-000003", "ADJ-2026-000001"]
    assert [p.number for p in report.failed] == failed
    assert report.delivered == [n for n in ISSUED if n not in failed]
    assert report.exit_code == 4
    assert "550 5.1.1" in report.failed[0].detail
    clock.advance(days=3)
    again = deliver(ran, smtp=smtp, now=clock)  # a permanent failure is never retried by itself
    assert (again.delivered, again.failed, again.exit_code) == ([], [], 0)
    assert {statuses(ran)[n] for n in failed} == {"failed"}
    assert mail_server.numbers() == report.delivered


def test_a_bad_or_missing_address_fails_without_reaching_the_server(store, mail_server, tmp_path):
    folder = write_book(tmp_path / "book", 3)
    contracts = folder / "contracts.yaml"
    contracts.write_text(contracts.read_text().replace("email: billing@customer1.example", "email: billing at customer1")
                         .replace(", email: billing@customer2.example", ""))
    load_book_folder(store, folder)
    report = deliver(store, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    assert report.delivered == ["AV-2026-000003"]
    assert [(p.number, p.detail) for p in report.failed] == [
        ("AV-2026-000001", "'billing at customer1' is not an e-mail address (write it as name@domain)"),
        ("AV-2026-000002", "the customer of contract C-00002 has no email in contracts.yaml")]
    assert mail_server.numbers() == ["AV-2026-000003"]


def test_a_connection_dropped_mid_data_is_retried_and_delivered_once(ran, mail_server):
    mail_server.script.data.append("drop")  # the server reads a line of the first message, then hangs up
    smtp, clock = SmtpServer.parse(mail_server.url), Clock()
    first = deliver(ran, smtp=smtp, now=clock)
    assert mail_server.dropped == 1
    assert [p.number for p in first.retrying] == ["AV-2026-000001"]
    assert "lost before the server took the message" in first.retrying[0].detail
    assert first.delivered == ISSUED[1:]  # on a new connection
    clock.advance(minutes=5)
    assert deliver(ran, smtp=smtp, now=clock).delivered == ["AV-2026-000001"]
    assert sorted(mail_server.numbers()) == sorted(ISSUED)
    assert [a.outcome for a in attempts_of(ran, "AV-2026-000001")] == ["transient", "delivered"]


def test_a_server_that_cannot_be_reached_stops_the_run_and_holds_nothing_up(ran):
    port = free_port()  # nobody listens there yet
    smtp, clock = SmtpServer.parse(f"smtp://127.0.0.1:{port}"), Clock()
    report = deliver(ran, smtp=smtp, now=clock)
    assert report.delivered == [] and report.exit_code == 3
    assert "cannot be reached" in report.stopped
    assert [p.number for p in report.retrying] == ["AV-2026-000001"]  # the document at hand counts a failure
    assert statuses(ran) == {"AV-2026-000001": "retry", **{n: "pending" for n in ISSUED[1:]}}  # the rest wait as they were
    server = MailServer(port).start()
    try:
        clock.advance(minutes=5)
        assert deliver(ran, smtp=smtp, now=clock).delivered == ISSUED
        assert server.numbers() == ISSUED
    finally:
        server.stop()


def test_the_status_lists_pending_delivered_and_failed(ran, mail_server):
    before = cli("deliver", "--status", db=ran.url)
    assert before.returncode == 0, before.stderr
    assert before.stdout.count(" pending ") == 8
    assert before.stdout.strip().endswith("pending 8, delivered 0, failed 0")
    mail_server.script.refuse["ap@brightline-analytics.example"] = "550 5.1.1 no such mailbox"
    deliver(ran, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    after = cli("deliver", "--status", "--period", "2026-10", db=ran.url)
    assert after.returncode == 0, after.stderr
    lines = {line.split("│")[1].strip(): line for line in after.stdout.splitlines() if "-2026-0000" in line}
    assert "delivered" in lines["AV-2026-000001"] and "<AV-2026-000001." in lines["AV-2026-000001"]
    assert "failed" in lines["AV-2026-000003"] and "550 5.1.1 no such mailbox" in lines["AV-2026-000003"]
    assert after.stdout.strip().endswith("pending 0, delivered 6, failed 2")


# --- the command line --------------------------------------------------------------------------------------------

def test_deliver_needs_an_smtp_server(ran):
    result = cli("deliver", db=ran.url, env={"SLABILL_SMTP_URL": ""})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "no SMTP server to deliver through" in result.stderr


def test_deliver_from_the_command_line_names_what_failed_on_stderr(ran, mail_server):
    mail_server.script.refuse["ap@brightline-analytics.example"] = "550 5.1.1 no such mailbox"
    result = cli("deliver", "--smtp-url", mail_server.url, db=ran.url)
    assert result.returncode == 4, result.stderr
    assert result.stdout.startswith("Delivery run 1: 6 document(s) e-mailed")
    assert result.stderr.splitlines() == [
        "slabill: AV-2026-000003, e-mail, failed: RCPT TO <ap@brightline-analytics.example>: 550 5.1.1 no such "
        "mailbox.",
        "slabill: ADJ-2026-000001, e-mail, failed: RCPT TO <ap@brightline-analytics.example>: 550 5.1.1 no such "
        "mailbox."]
    fixed = cli("deliver", "--smtp-url", mail_server.url, "--resend", "AV-2026-000003", db=ran.url)
    assert fixed.returncode == 4  # the address still refuses it
    del mail_server.script.refuse["ap@brightline-analytics.example"]
    fixed = cli("deliver", "--smtp-url", mail_server.url, "--resend", "AV-2026-000003", "--resend",
                "ADJ-2026-000001", db=ran.url)
    assert fixed.returncode == 0, fixed.stderr
    assert sorted(mail_server.numbers()) == sorted(ISSUED)
    once = cli("deliver", "--smtp-url", mail_server.url, "--resend", "AV-2026-000001", db=ran.url)
    assert once.returncode == 2 and "was delivered; a document is delivered once" in once.stderr


def test_run_deliver_delivers_right_after_issuing(store, mail_server):
    load_fixtures(store)
    result = cli("run", "--period", "2026-10", "--as-of", "2026-11-02", "--deliver", db=store.url,
                 env={"SLABILL_SMTP_URL": mail_server.url})
    assert result.returncode == 0, result.stderr
    assert "Delivery run 1: 8 document(s) e-mailed" in result.stdout
    assert mail_server.numbers() == ISSUED
    dry = cli("run", "--period", "2026-10", "--dry-run", "--deliver", db=store.url,
              env={"SLABILL_SMTP_URL": mail_server.url})
    assert dry.returncode == 2 and "delivers nothing" in dry.stderr


def test_the_demo_delivers_to_a_test_server_when_given_one(tmp_path, mail_server):
    skipped = cli("demo", "--out", tmp_path / "a", "--as-of", "2026-11-02", env={"SLABILL_SMTP_URL": mail_server.url})
    assert skipped.returncode == 0, skipped.stderr
    assert "Delivery skipped: no SMTP server was given" in skipped.stdout
    assert mail_server.received == []  # the demo never reads SLABILL_SMTP_URL: its addresses are fictitious
    sent = cli("demo", "--out", tmp_path / "b", "--as-of", "2026-11-02", "--smtp-url", mail_server.url)
    assert sent.returncode == 0, sent.stderr
    assert "Delivery run 1: 8 document(s) e-mailed" in sent.stdout
    assert mail_server.numbers() == ISSUED


# --- passwords -----------------------------------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor-and-3"


def store_bytes(url: str) -> bytes:
    path = Path(url[len("sqlite:///"):])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


@pytest.fixture
def login_server():
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd answers a refusal with 535 itself
        return AuthResult(success=auth_data.login == b"billing" and auth_data.password == PASSWORD.encode(),
                          handled=False)

    # No TLS on loopback, where slabill allows a password in clear (it refuses one across a network).
    server = MailServer(authenticator=authenticate, auth_require_tls=False, auth_required=True).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_password_is_used_but_never_printed_logged_or_stored(tmp_path, login_server):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=lambda: ISSUED_AT)
    url = f"smtp://billing:{PASSWORD}@127.0.0.1:{login_server.port}"

    refused = cli("deliver", "--smtp-url", url.replace(PASSWORD, "wrong-" + PASSWORD), db=store.url)
    assert refused.returncode == 2
    assert refused.stderr.startswith("slabill: field --smtp-url: the SMTP server smtp://billing:***@127.0.0.1:")
    assert "refused the login of billing (535 5.7.8 Authentication credentials invalid)" in refused.stderr
    assert statuses(store) == {n: "pending" for n in ISSUED}  # a setting to fix: no document failed for it

    sent = cli("deliver", db=store.url, env={"SLABILL_SMTP_URL": url})  # from the environment too
    assert sent.returncode == 0, sent.stderr
    assert login_server.numbers() == ISSUED
    status = cli("deliver", "--status", db=store.url, env={"SLABILL_SMTP_URL": url})
    for output in (refused.stdout, refused.stderr, sent.stdout, sent.stderr, status.stdout, status.stderr):
        assert PASSWORD not in output
    assert PASSWORD.encode() not in store_bytes(store.url)
    for received in login_server.received:
        assert PASSWORD.encode() not in received.data
    store.close()


def test_starttls_required_but_not_offered_is_refused(ran, mail_server):
    from engine.core.errors import InputError

    with pytest.raises(InputError, match="offers no STARTTLS, which the URL requires"):
        deliver(ran, smtp=SmtpServer.parse(mail_server.url + "?starttls=1"), now=Clock())
    assert mail_server.received == [] and statuses(ran) == {n: "pending" for n in ISSUED}


# --- crashes ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def sqlite_ran(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=lambda: ISSUED_AT)
    yield store
    store.close()


def test_kill_9_mid_batch_then_a_rerun_delivers_every_document_exactly_once(sqlite_ran, mail_server):
    # The server kills the delivering process when the fourth message begins (at its MAIL FROM),
    # after three were delivered and recorded.
    process = None
    mail_server.script.mail += [None, None, None, killer(lambda: process.pid)]
    process = start("deliver", "--smtp-url", mail_server.url, db=sqlite_ran.url)
    process.communicate()
    assert process.returncode == -9
    assert mail_server.numbers() == ISSUED[:3]
    assert set(statuses(sqlite_ran).values()) == {"delivered", "sending"}  # the rest left claimed by a dead run

    rerun = cli("deliver", "--smtp-url", mail_server.url, db=sqlite_ran.url)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("Delivery run 2: 5 document(s) e-mailed")
    assert sorted(mail_server.numbers()) == sorted(ISSUED)  # every document exactly once
    assert set(statuses(sqlite_ran).values()) == {"delivered"}
    assert [a.outcome for a in attempts_of(sqlite_ran, ISSUED[3])] == ["delivered"]  # nothing had been sent


def test_a_run_killed_once_the_message_may_have_arrived_never_sends_it_again_by_itself(sqlite_ran, mail_server):
    # The fourth message's data is sent to its end; the server dies with the client before answering.
    process = None
    mail_server.script.data += [None, None, None, killer(lambda: process.pid)]
    process = start("deliver", "--smtp-url", mail_server.url, db=sqlite_ran.url)
    process.communicate()
    assert process.returncode == -9
    fourth = ISSUED[3]

    rerun = cli("deliver", "--smtp-url", mail_server.url, db=sqlite_ran.url)
    assert rerun.returncode == 4  # finished, with one outcome nobody can know
    assert rerun.stderr.startswith(f"slabill: {fourth}, e-mail, outcome unknown: the run died after the end of the")
    assert sorted(mail_server.numbers()) == sorted(n for n in ISSUED if n != fourth), mail_server.numbers()
    assert statuses(sqlite_ran)[fourth] == "unknown"
    assert [(a.phase, a.outcome) for a in attempts_of(sqlite_ran, fourth)] == [("sending", "unknown")]
    status = cli("deliver", "--status", db=sqlite_ran.url)
    line = [line for line in status.stdout.splitlines() if fourth in line][0]
    assert "unknown" in line and f"<{fourth}." in line  # the Message-ID to look for in the mailbox

    again = cli("deliver", "--smtp-url", mail_server.url, db=sqlite_ran.url)
    assert again.returncode == 0 and fourth not in mail_server.numbers()  # never by itself
    # Someone looked: it is not in the mailbox.  Sent once, on request.
    resent = cli("deliver", "--smtp-url", mail_server.url, "--resend", fourth, db=sqlite_ran.url)
    assert resent.returncode == 0, resent.stderr
    assert sorted(mail_server.numbers()) == sorted(ISSUED)


# --- webhooks ---------------------------------------------------------------------------------------------------------

def test_events_are_signed_carry_an_idempotency_key_and_describe_the_document(store, mail_server, receiver, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("SLABILL_TEST_WEBHOOK_SECRET", SECRET)
    load_book_folder(store, write_book(tmp_path / "book", 2, webhooks=webhooks_yaml(receiver.url)))
    clock = Clock()
    report = deliver(store, smtp=SmtpServer.parse(mail_server.url), now=clock)
    assert (report.events, report.exit_code) == (4, 0)
    calls = receiver.calls
    assert [(c.event["type"], c.event["data"]["document"]["number"]) for c in calls] == [
        ("document.issued", "AV-2026-000001"), ("document.issued", "AV-2026-000002"),
        ("document.delivered", "AV-2026-000001"), ("document.delivered", "AV-2026-000002")]
    now = int(clock().timestamp())
    for call in calls:
        assert call.path == "/hooks/slabill"
        assert call.headers["Content-Type"] == "application/json"
        assert signed_by(SECRET.encode(), call, now)
        assert not signed_by(b"another secret", call, now)
        assert call.headers["Idempotency-Key"] == call.event["id"]
    assert len({c.event["id"] for c in calls}) == 4
    delivered = calls[2].event
    assert delivered["created"] == "2026-11-02T06:00:00Z"
    document = delivered["data"]["document"]
    row = store.document("AV-2026-000001")
    # 100.00 EUR credited + 20 % VAT 20.00 = 120.00 EUR (tests.mailservers.write_book)
    assert (document["net_total"], document["tax_total"], document["gross_total"]) == ("100.00", "20.00", "120.00")
    assert (document["content_sha256"], document["html_sha256"]) == (row.content_sha256, row.html_sha256)
    assert delivered["data"]["delivery"]["message_id"] == mail_server.received[0].message_id
    assert delivered["data"]["delivery"]["recipients"] == ["billing@customer1.example"]
    # a body changed in transit no longer matches its signature
    tampered = type(calls[0])(calls[0].path, calls[0].headers, calls[0].body.replace(b"120.00", b"999.00"), 200)
    assert not signed_by(SECRET.encode(), tampered, now)


def test_an_event_answered_500_is_retried_with_the_same_body_and_key(store, mail_server, receiver, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("SLABILL_TEST_WEBHOOK_SECRET", SECRET)
    load_book_folder(store, write_book(tmp_path / "book", 2, webhooks=webhooks_yaml(receiver.url)))
    receiver.answers.append(500)
    smtp, clock = SmtpServer.parse(mail_server.url), Clock()
    first = deliver(store, smtp=smtp, now=clock)
    assert [(p.number, p.what) for p in first.retrying] == [("AV-2026-000001", f"document.issued to {receiver.url}")]
    assert first.events == 3 and first.exit_code == 3
    clock.advance(minutes=5)
    second = deliver(store, smtp=smtp, now=clock)
    assert (second.events, second.exit_code) == (1, 0)
    failed, retried = receiver.calls[0], receiver.calls[-1]
    assert (failed.status, retried.status) == (500, 200)
    assert failed.body == retried.body and failed.headers["Idempotency-Key"] == retried.headers["Idempotency-Key"]
    assert signed_by(SECRET.encode(), retried, int(clock().timestamp()))
    acknowledged = [c.event["id"] for c in receiver.calls if c.status == 200]
    assert len(acknowledged) == len(set(acknowledged)) == 4


def test_a_permanent_failure_is_announced_by_a_delivery_failed_event(store, mail_server, receiver, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("SLABILL_TEST_WEBHOOK_SECRET", SECRET)
    load_book_folder(store, write_book(tmp_path / "book", 2, webhooks=webhooks_yaml(receiver.url)))
    mail_server.script.refuse["billing@customer2.example"] = "550 5.1.1 no such mailbox"
    report = deliver(store, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    assert report.exit_code == 4
    assert [(c.event["type"], c.event["data"]["document"]["number"]) for c in receiver.calls] == [
        ("document.issued", "AV-2026-000001"), ("document.issued", "AV-2026-000002"),
        ("document.delivered", "AV-2026-000001"), ("delivery.failed", "AV-2026-000002")]
    failure = receiver.calls[-1].event["data"]["delivery"]
    assert failure["reason"] == "RCPT TO <billing@customer2.example>: 550 5.1.1 no such mailbox"
    assert (failure["code"], failure["failed_at"]) == ("550", "2026-11-02T06:00:00Z")


def test_no_event_is_acknowledged_twice_after_a_crash(tmp_path, mail_server, receiver):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_book_folder(store, write_book(tmp_path / "book", 3, webhooks=webhooks_yaml(receiver.url)))
    store.close()
    process = None

    def kill(body):
        killer(lambda: process.pid)()
        return 500

    receiver.answers += [200, 200, kill]  # the third event is in flight when the run dies
    env = {"SLABILL_TEST_WEBHOOK_SECRET": SECRET}
    process = start("deliver", "--smtp-url", mail_server.url, db=store.url, env=env)
    process.communicate()
    assert process.returncode == -9
    rerun = cli("deliver", "--smtp-url", mail_server.url, db=store.url, env=env)
    assert rerun.returncode == 0, rerun.stderr

    ids = [c.event["id"] for c in receiver.calls]
    acknowledged = [c.event["id"] for c in receiver.calls if c.status == 200]
    # every event acknowledged once: 3 documents x (issued, delivered)
    assert len(acknowledged) == len(set(acknowledged)) == 6
    # the two acknowledged before the crash were never sent again; the one in flight was sent
    # again with the same id, idempotency key and body, as the receiver's rule expects
    assert [ids.count(i) for i in ids[:3]] == [1, 1, 2]
    in_flight = [c for c in receiver.calls if c.event["id"] == ids[2]]
    assert in_flight[0].body == in_flight[1].body
    assert in_flight[0].headers["Idempotency-Key"] == in_flight[1].headers["Idempotency-Key"] == ids[2]
    assert sorted(mail_server.numbers()) == ["AV-2026-000001", "AV-2026-000002", "AV-2026-000003"]


def test_a_missing_webhook_secret_stops_the_run_before_anything_is_sent(tmp_path, mail_server, receiver):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_book_folder(store, write_book(tmp_path / "book", 1, webhooks=webhooks_yaml(receiver.url, "HOOK_SECRET_X")))
    result = cli("deliver", "--smtp-url", mail_server.url, db=store.url, env={"HOOK_SECRET_X": ""})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == ("slabill: field issuer.webhooks.secret_env: the webhook "
                                     f"{receiver.url} signs with the secret in the environment variable HOOK_SECRET_X, "
                                     "which is not set.")
    assert mail_server.received == [] and receiver.calls == []
    sent = cli("deliver", "--smtp-url", mail_server.url, db=store.url, env={"HOOK_SECRET_X": SECRET})
    assert sent.returncode == 0, sent.stderr
    assert len(receiver.calls) == 2
    assert SECRET.encode() not in store_bytes(store.url)
    assert SECRET not in sent.stdout + sent.stderr
    store.close()


# --- two runs at once ----------------------------------------------------------------------------------------------------

def test_two_deliver_processes_at_once_never_send_a_document_twice(store_url, tmp_path):
    """Both runs are held sending at the same moment: the server answers no message's data until
    two connections have each begun one.  PostgreSQL: claims FOR UPDATE SKIP LOCKED; SQLite:
    writers queue (BEGIN IMMEDIATE), and each run's lock is a byte-range lock beside the store."""
    import asyncio

    store = Store(store_url)
    load_book_folder(store, write_book(tmp_path / "book", 40))
    store.close()
    server = MailServer()
    peers: set = set()
    both = {}

    async def hold_until_both_are_sending(envelope):
        if "event" not in both:
            both["event"] = asyncio.Event()
        if len(peers) >= 2:
            both["event"].set()
        try:
            await asyncio.wait_for(both["event"].wait(), 120)
        except asyncio.TimeoutError:
            return "451 4.3.0 the second run never came"
        return None

    handler = server.controller.handler
    original_mail, original_data = handler.handle_MAIL, handler.handle_DATA

    async def handle_mail(smtp, session, envelope, address, options):
        peers.add(session.peer)
        if len(peers) >= 2 and "event" in both:
            both["event"].set()
        return await original_mail(smtp, session, envelope, address, options)

    async def handle_data(smtp, session, envelope):
        refused = await hold_until_both_are_sending(envelope)
        return refused or await original_data(smtp, session, envelope)

    handler.handle_MAIL, handler.handle_DATA = handle_mail, handle_data
    server.start()
    try:
        runs = [start("deliver", "--smtp-url", server.url, db=store_url) for _ in range(2)]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
    finally:
        server.stop()
    numbers = server.numbers()
    assert len(numbers) == len(set(numbers)) == 40
    store = Store(store_url)
    runs = {a.run_id for n in numbers for a in attempts_of(store, n)}
    assert len(runs) == 2  # both delivered a share
    store.close()


# --- stores of earlier versions --------------------------------------------------------------------------------------------

def test_a_store_of_0_2_0_delivers_the_bytes_it_issued(tmp_path, mail_server):
    import shutil

    path = tmp_path / "old.db"
    shutil.copyfile(ROOT / "tests" / "data" / "store-0.2.0-fixtures-2026-10.db", path)
    old = Store(f"sqlite:///{path}")
    report = deliver(old, smtp=SmtpServer.parse(mail_server.url), now=Clock())
    assert report.delivered == ISSUED
    rows = {row.number: row for row in old.documents()}
    for received in mail_server.received:
        assert sha(attachments(received)[f"{received.number}.html"]) == rows[received.number].html_sha256
    old.close()


# --- contracts.yaml: cc and webhooks ------------------------------------------------------------------------------

@pytest.mark.parametrize("replace, field, says", [
    ("email: billing@customer1.example}", "cc", "'ap at customer1' is not an e-mail address"),
    ("  credit_note_prefix: AV", "webhooks", "secret_env names an environment variable"),
    ("  credit_note_prefix: AV", "url", "a webhook url is http:// or https://"),
    ("  credit_note_prefix: AV", "events", "'invoice.paid' is not an event"),
])
def test_bad_delivery_settings_in_contracts_yaml_are_refused_with_file_line_and_field(tmp_path, replace, field, says):
    from engine.core.errors import InputError

    folder = write_book(tmp_path / "book", 1)
    contracts = folder / "contracts.yaml"
    text = contracts.read_text()
    added = {"cc": "email: billing@customer1.example, cc: [ap at customer1]}",
             "webhooks": "  credit_note_prefix: AV\n  webhooks:\n    - {url: 'https://erp.example/h', "
                         "secret_env: 'whsec_abc-def'}",
             "url": "  credit_note_prefix: AV\n  webhooks:\n    - {url: 'https://user:pw@erp.example/h', secret_env: S}",
             "events": "  credit_note_prefix: AV\n  webhooks:\n    - {url: 'https://erp.example/h', secret_env: S, "
                       "events: [invoice.paid]}"}[field]
    contracts.write_text(text.replace(replace, added))
    with pytest.raises(InputError) as refused:
        load_book(contracts)
    message = str(refused.value)
    assert message.startswith(f"{contracts}, line ")
    assert says in message
    assert "pw@" not in message


def test_copies_and_endpoints_change_no_hash_of_what_was_recorded_before(tmp_path):
    """Without cc or webhooks the stored terms read as before those keys existed, so records keep their digests."""
    from engine.core.canonical import canonical

    book = load_book(write_book(tmp_path / "book", 1) / "contracts.yaml")
    assert "cc" not in canonical(book.contracts[0].model_dump(mode="json"))
    assert "webhooks" not in canonical(book.issuer.model_dump(mode="json"))

"""The ``slabill`` command line: parse, call the library once, print.

Every command turns a ``SlabillError`` into one sentence on stderr and exit code 2;
nothing is printed on stdout before the whole result exists.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from . import clock
from .core.errors import SlabillError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="SLA penalty and service-credit billing: measured breaches in, credit notes out.")
rules_app = typer.Typer(no_args_is_help=True, help="Validate rule sets and print their schema.")
app.add_typer(rules_app, name="rules")

err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    json = "json"
    table = "table"


def reports_errors(command):
    """Say a SlabillError in one sentence on stderr and exit 2."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SlabillError as exc:
            err.print(f"slabill: {exc}", markup=False)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@reports_errors
def evaluate(
    rules: Path = typer.Option(..., "--rules", help="a rule-set file, or a folder of *.yaml rule sets"),
    contracts: Path = typer.Option(..., "--contracts", help="contracts.yaml"),
    data: Path = typer.Option(..., "--data", help="folder of measurement CSV files"),
    period: str = typer.Option(..., "--period", help="the month to evaluate, YYYY-MM"),
    contract: Optional[str] = typer.Option(None, "--contract", help="evaluate only this contract"),
    format: Format = typer.Option(Format.json, "--format", help="json for scripts, table for people"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="processes sharing the book's JSON evaluation (default: one per core)"),
) -> None:
    """Evaluate a month statelessly and print the result; writes nothing."""
    from .core.period import Period
    from .jobs.evaluate import Inputs, evaluate_to, evaluations_of
    from .processes import default_workers

    month = Period.parse(period)
    inputs = Inputs(rules, contracts, data)
    if format is Format.table:
        print_table(evaluation_table(str(month), evaluations_of(inputs, month, contract)))
        return
    evaluate_to(sys.stdout, inputs, month, workers or default_workers(), contract)


def evaluation_table(period: str, evaluations: list):
    """A readable summary per contract, for people at a terminal (a Rich table)."""
    from rich.table import Table

    from .core.results import objective_json

    table = Table(title=f"SLA evaluation {period}", show_lines=False)
    amounts = ("attainment", "target", "credit", "total", "late fees")
    for column in ("contract", "objective", "attainment", "target", "met", "tier", "credit", "total", "status",
                   "late fees"):
        # fold, never cut: on a narrow terminal an amount wraps rather than end in "…"
        table.add_column(column, justify="right" if column in amounts else "left", overflow="fold")
    for evaluation in evaluations:
        pricing = evaluation.pricing
        fees = evaluation.late_fees
        # charged to the customer, apart from the credits (INTERFACE.md's late_fee_total)
        late = f"{fees.total} {evaluation.currency}" if fees is not None and fees.fees else "-"
        rows = objective_json(evaluation)
        for index, row in enumerate(rows):
            first = index == 0
            table.add_row(
                evaluation.contract.id if first else "",
                row["id"], row["attainment"] + " %", (row["target"] or "-") + (" %" if row["target"] else ""),
                "yes" if row["met"] else "[bold red]no[/]",
                # counted from 1, as the documents count them ("Tier 1"); the JSON's tier is an index
                "-" if row["tier"] is None else str(row["tier"] + 1),
                f"{row['credit']} {evaluation.currency}",
                f"{pricing.total} {evaluation.currency}" + (" (capped)" if pricing.cap_applied else "") if first else "",
                pricing.status if first else "",
                late if first else "",
            )
        if not rows:
            table.add_row(evaluation.contract.id, "-", "", "", "", "", "", f"{pricing.total} {evaluation.currency}",
                          pricing.status, late)
    return table


@rules_app.command("check")
@reports_errors
def rules_check(
    files: list[Path] = typer.Argument(..., help="rule-set files or folders"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when a tier overlaps or leaves a gap"),
) -> None:
    """Validate rule sets; report tiers that overlap or leave a gap, per objective."""
    from .core.rates import RateBook
    from .core.rulesets import RuleBook, check_french_floor, check_tiers
    from .loading.rates import load_rates
    from .loading.rulesets import load_rule_files, rule_set_files

    paths = [p for f in files for p in rule_set_files(f)]
    loaded = load_rule_files(paths)
    RuleBook(loaded)
    # Each file is judged with the rate tables beside it (table by table, else the shipped ones).
    rate_books: dict[Path, RateBook] = {}
    findings = 0
    console = Console(highlight=False, soft_wrap=True)
    for item in loaded:
        rule_set = item.rules
        problems = [(("objectives", rule_set.objectives.index(o), "credit", "tiers"), f"objective {o.id}", f)
                    for o in rule_set.objectives for f in check_tiers(o)]
        if rule_set.late_payment is not None:
            folder = Path(item.file).parent
            if folder not in rate_books:
                rate_books[folder] = load_rates(folder)
            rate_key = "annual_rate" if rule_set.late_payment.regime == "contractual" else "margin_points"
            problems += [(("late_payment", rate_key), "late_payment", f)
                         for f in check_french_floor(rule_set, rate_books[folder])]
        status = "ok" if not problems else f"{len(problems)} finding(s)"
        console.print(f"{item.file}: {rule_set.ruleset} {rule_set.version} "
                      f"(sha256 {rule_set.sha256[:12]}): {status}", markup=False)
        for path, where, finding in problems:
            console.print(f"  {item.file}, line {item.line_of(path)}, {where}: {finding.message}", markup=False)
        findings += len(problems)
    if findings and strict:
        raise typer.Exit(1)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule-set files, for editors."""
    from .core.schema import RuleSet

    schema = RuleSet.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slabill rule set"
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


# --- the store ---------------------------------------------------------------------------------

DB_HELP = "database URL (default: $SLABILL_DATABASE_URL, else sqlite:///slabill.db)"
SMTP_HELP = ("the SMTP server, smtp://[user[:password]@]host[:port] (smtps:// for TLS, ?starttls=1 to require "
             "STARTTLS; default: $SLABILL_SMTP_URL)")
WORKERS_HELP = "worker processes (default: one per core, at most eight)"


def print_table(table) -> None:
    """A Rich table on stdout; off a terminal, as wide as its cells need.

    Read by a script or kept in a log, a number cut to "AV-20…" is lost: off a terminal
    Rich would assume 80 columns.
    """
    console = Console()
    if not console.is_terminal:
        console = Console(width=Console(width=2**16).measure(table).maximum)
    console.print(table)


def open_store(db: Optional[str], *, create: bool = False):
    """The store ``--db`` names; only ``load`` may create one.

    Every other command reads what was loaded: pointed at a SQLite file that does not
    exist (the default ``slabill.db`` in another folder, say), it would create an empty
    store and report "0 records verified", which reads like a clean bill of health.
    """
    from .core.errors import InputError
    from .store import Store, database_url, sqlite_file

    url = database_url(db)
    path = sqlite_file(url)
    if not create and path is not None and not path.exists():
        raise InputError(f"there is no store at {path}: load a book first (slabill load), or give --db "
                         "(the demo's is sqlite:///out/slabill-demo.db)", field="--db")
    return Store(url)


@app.command()
@reports_errors
def load(
    contracts: Path = typer.Option(..., "--contracts", help="contracts.yaml"),
    data: Optional[Path] = typer.Option(None, "--data", help="folder of measurement CSV files"),
    rules: Optional[Path] = typer.Option(None, "--rules", help="rule-set file or folder (default: ./rules if present)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Bring a book of business, rule sets and measurements into the store; safe to repeat."""
    from .jobs.load import load_files

    if rules is None and Path("rules").is_dir():
        rules = Path("rules")
    report = load_files(lambda: open_store(db, create=True), contracts, data, rules)
    from rich.table import Table

    table = Table(title="Loaded")
    for column in ("kind", "read", "new", "already stored"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, read in report.read.items():
        added = report.added.get(kind, 0)
        table.add_row(kind, f"{read:,}", f"{added:,}", f"{read - added:,}")
    Console().print(table)


@app.command()
@reports_errors
def run(
    period: str = typer.Option(..., "--period", help="the month to bill, YYYY-MM"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be issued; write nothing"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="issue date, YYYY-MM-DD (default: today)"),
    contract: Optional[str] = typer.Option(None, "--contract", help="run only this contract"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the run's documents and each contract's "
                                                           "monthly report (HTML and text) into this folder"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    deliver: bool = typer.Option(False, "--deliver", help="deliver the period's documents right after issuing them "
                                                          "(as slabill deliver --period does)"),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", help=SMTP_HELP),
) -> None:
    """The monthly run: evaluate every active contract, issue credit notes and adjustments, record it all."""
    from .core.errors import InputError
    from .core.period import Period
    from .jobs.output import write_documents, write_reports
    from .jobs.run import WorkerDied, monthly_run
    from .processes import default_workers

    month = Period.parse(period)
    if out is not None and dry_run:
        raise InputError("a dry run writes nothing, so it takes no --out folder", field="--out")
    server = None
    if deliver:
        if dry_run:
            raise InputError("a dry run issues nothing, so it delivers nothing: leave out --deliver", field="--deliver")
        server = _smtp_server(smtp_url)
    issue_date = parse_day(as_of, "--as-of") if as_of else clock.today()
    store = open_store(db)
    try:
        summary = _with_progress(lambda progress: monthly_run(
            store, month, as_of=issue_date, now=clock.now, dry_run=dry_run, contract_id=contract, progress=progress,
            workers=workers or default_workers()))
    except WorkerDied as exc:
        err.print(f"slabill: {exc}.", markup=False)
        raise typer.Exit(3) from None
    console = Console(highlight=False)
    print_summary(summary, console)
    if out is not None:
        files = write_documents(store, out, summary.run_id) + write_reports(store, str(month), out, contract)
        console.print(f"{len(files)} files written to {out.resolve()}/:", markup=False, soft_wrap=True)
        for path in files:
            console.print(f"  {path}", markup=False, soft_wrap=True)
    if server is not None:
        from .delivery import deliver as deliver_documents

        report = deliver_documents(store, smtp=server, now=clock.now, period=str(month))
        print_delivery(report, console)
        if report.exit_code:
            raise typer.Exit(report.exit_code)


def parse_day(text: str, option: str) -> "date":
    from .core.errors import InputError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date written YYYY-MM-DD", field=option) from None


def _with_progress(work):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # No refresh thread (auto_refresh=False): the run forks worker processes, and a fork
    # while another thread holds the console's lock would leave the child holding it.
    with Progress(TextColumn("[bold]evaluating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False, auto_refresh=False) as bar:
        task = bar.add_task("contracts", total=None)

        def progress(advance: int, total: int) -> None:
            bar.update(task, advance=advance, total=total)
            bar.refresh()

        return work(progress)


def print_summary(summary, console: Console) -> None:
    from decimal import Decimal

    from rich.table import Table

    from .core.money import format_amount

    title = f"Monthly run {summary.period}" + (" (dry run: nothing written)" if summary.dry_run else
                                               f" (run {summary.run_id})")
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("contracts evaluated", summary.contracts),
        ("new evaluation records", summary.recorded),
        ("unchanged since the last run", summary.unchanged),
        ("contracts with a breach", summary.breaches),
        ("credit notes", summary.documents.get("credit_note", 0)),
        ("invoice adjustments", summary.documents.get("adjustment", 0)),
        ("corrections of earlier evaluations", summary.corrections),
        ("below the minimum credit (not issued)", summary.below_minimum),
        ("capped", summary.capped),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    for currency in sorted(summary.issued_net):
        net, gross = summary.issued_net[currency], summary.issued_gross[currency]
        credited = summary.credited_net.get(currency, Decimal(0))
        late_fees = summary.late_fees_net.get(currency, Decimal(0))
        # Late fees are owed by customers: they are shown as charged, never as a negative credit.
        if not late_fees:
            table.add_row(f"credited {currency} (net / incl. VAT)", f"{net} / {gross}")
        elif not credited:
            table.add_row(f"late fees charged {currency} (net / incl. VAT)", f"{-net} / {-gross}")
        else:
            table.add_row(f"credited {currency} (net)", format_amount(credited, currency))
            table.add_row(f"late fees charged {currency} (net)", format_amount(late_fees, currency))
            table.add_row(f"credits less late fees {currency} (net / incl. VAT)", f"{net} / {gross}")
    console.print(table)


notes_app = typer.Typer(no_args_is_help=True, help="Issued credit notes and invoice adjustments.")
app.add_typer(notes_app, name="notes")


@notes_app.command("list")
@reports_errors
def notes_list(
    period: Optional[str] = typer.Option(None, "--period", help="only this period, YYYY-MM"),
    contract: Optional[str] = typer.Option(None, "--contract", help="only this contract"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """List issued documents."""
    from rich.table import Table

    rows = open_store(db).documents(period=period, contract=contract)
    table = Table(title="Issued documents")
    for column in ("number", "kind", "contract", "period", "issued", "net", "VAT", "total", "currency"):
        table.add_column(column, justify="right" if column in ("net", "VAT", "total") else "left")
    for row in rows:
        table.add_row(row.number, row.kind, row.contract_id, row.period, row.issue_date.isoformat(),
                      row.net_total, row.tax_total, row.gross_total, row.currency)
    print_table(table)


def _document(db: Optional[str], number: str):
    from invoices.documents import Document

    from .core.errors import InputError

    row = open_store(db).document(number)
    if row is None:
        raise InputError(f"no document numbered {number!r} in the store", field="NUMBER")
    return Document.from_json(json.loads(row.content_json))


@notes_app.command("show")
@reports_errors
def notes_show(
    number: str = typer.Argument(..., help="e.g. AV-2026-000001"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    locale: Optional[str] = typer.Option(None, "--locale", help="render in this locale instead of the customer's"),
) -> None:
    """Print an issued document as text."""
    from invoices.render import render

    sys.stdout.write(render(_document(db, number), "txt", locale))


@notes_app.command("render")
@reports_errors
def notes_render(
    number: str = typer.Argument(..., help="e.g. AV-2026-000001"),
    format: str = typer.Option("html", "--format", help="html, txt, pdf (PDF/A-3b) or xml (the customer's e-invoice)"),
    locale: Optional[str] = typer.Option(None, "--locale", help="default: the customer's locale (html and txt)"),
    out: Path = typer.Option(Path("out"), "--out", help="folder to write into"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write an issued document to a file, checked against what was issued."""
    from .core.errors import InputError
    from .jobs.output import FORMATS, write_document

    if format not in FORMATS:
        raise InputError(f"--format must be html, txt, pdf or xml, not {format!r}", field="--format")
    if locale is not None:
        from .core.locales import check_locale

        try:
            check_locale(locale)
        except ValueError as exc:
            raise InputError(str(exc), field="--locale") from None
    store = open_store(db)
    row = store.document(number)
    if row is None:
        raise InputError(f"no document numbered {number!r} in the store", field="NUMBER")
    paths = write_document(store, row, out, (format,), locale)
    # soft_wrap: a long path is printed whole on one line, so a script can read it back.
    for path in paths:
        Console(highlight=False).print(str(path), markup=False, soft_wrap=True)


@app.command()
@reports_errors
def demo(
    out: Path = typer.Option(Path("out"), "--out", help="where the documents are written"),
    fixtures: Path = typer.Option(None, "--fixtures", help="the demo book (default: the shipped fixtures/)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="issue date, YYYY-MM-DD (default: today)"),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", help="deliver the documents to this SMTP server, "
                                           "a local test server such as smtp://127.0.0.1:8025 (the demo's addresses "
                                           "are fictitious; SLABILL_SMTP_URL is not read)"),
) -> None:
    """The whole monthly job on the shipped fixtures: a fresh SQLite database, documents in ./out/."""
    from .delivery import SmtpServer
    from .jobs.demo import run_demo

    console = Console(highlight=False)
    issue_date = parse_day(as_of, "--as-of") if as_of else clock.today()
    server = SmtpServer.parse(smtp_url) if smtp_url else None
    result = run_demo(out, fixtures, issue_date, clock.now, progress_wrapper=_with_progress, smtp=server)
    print_summary(result.summary, console)
    if result.delivery is None:
        console.print("Delivery skipped: no SMTP server was given (slabill demo --smtp-url smtp://127.0.0.1:8025 "
                      "delivers the documents to a local test server).", markup=False, soft_wrap=True)
    else:
        print_delivery(result.delivery, console)
    # soft_wrap: paths are printed whole, one a line, however long, so they can be read back.
    console.print(f"Database: {result.database}", markup=False, soft_wrap=True)
    documents = sum(result.summary.documents.values())
    console.print(f"{len(result.files)} files of {documents} documents written to {out.resolve()}/:", markup=False,
                  soft_wrap=True)
    for path in result.files:
        console.print(f"  {path}", markup=False, soft_wrap=True)
    console.print(f"{len(result.reports)} monthly reports written to {out.resolve()}/:", markup=False, soft_wrap=True)
    for path in result.reports:
        console.print(f"  {path}", markup=False, soft_wrap=True)
    if result.delivery is not None and result.delivery.exit_code:
        raise typer.Exit(result.delivery.exit_code)


class ReportFormat(str, Enum):
    html = "html"
    txt = "txt"


@app.command()
@reports_errors
def report(
    period: str = typer.Option(..., "--period", help="the month, YYYY-MM"),
    contract: Optional[str] = typer.Option(None, "--contract", help="only this contract (default: every contract "
                                                                   "evaluated for the period)"),
    format: ReportFormat = typer.Option(ReportFormat.html, "--format", help="html or txt"),
    out: Path = typer.Option(..., "--out", help="folder to write the reports into"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write the monthly SLA report of each contract: objectives, indicators and a chart of the month."""
    from .core.errors import InputError
    from .core.period import Period
    from .jobs.output import write_reports

    month = str(Period.parse(period))
    paths = write_reports(open_store(db), month, out, contract, (format.value,))
    if not paths:
        whose = f"contract {contract}" if contract else "any contract"
        raise InputError(f"no evaluation of {whose} for {month} is recorded; run that period first",
                         field="--contract" if contract else "--period")
    console = Console(highlight=False, soft_wrap=True)
    for path in paths:
        console.print(str(path), markup=False)


# --- delivery --------------------------------------------------------------------------------------------------

def _smtp_server(smtp_url: Optional[str]):
    from .core.errors import InputError
    from .delivery import smtp_server

    server = smtp_server(smtp_url)
    if server is None:
        raise InputError("no SMTP server to deliver through: give --smtp-url smtp://host:port or set SLABILL_SMTP_URL",
                         field="--smtp-url")
    return server


@app.command("deliver")
@reports_errors
def deliver_command(
    period: Optional[str] = typer.Option(None, "--period", help="only the documents of this period, YYYY-MM"),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", help=SMTP_HELP),
    status: bool = typer.Option(False, "--status", help="list what is pending, delivered and failed; send nothing"),
    resend: list[str] = typer.Option([], "--resend", metavar="NUMBER",
                                     help="send a document's e-mail again after it failed or its outcome is unknown "
                                          "(repeatable)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Send every issued document not delivered yet, once: by e-mail to its customer, and its events to the issuer's
    webhooks. Exit 3 when some wait for a retry, 4 when some failed."""
    from .core.errors import InputError
    from .core.period import Period

    month = str(Period.parse(period)) if period else None
    if status:
        if resend:
            raise InputError("--status sends nothing, so it takes no --resend", field="--resend")
        store = open_store(db)
        print_delivery_status(store.delivery_states(month), store.delivery_counts(month))
        return
    from .delivery import deliver, resend as requeue

    server = _smtp_server(smtp_url)
    store = open_store(db)
    for number in resend:
        requeue(store, number)
    report = deliver(store, smtp=server, now=clock.now, period=month)
    print_delivery(report, Console(highlight=False))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def print_delivery(report, console: Console) -> None:
    """A run's counts on stdout; each document that did not go through on stderr, with why."""
    console.print(f"Delivery run {report.run_id}: {len(report.delivered):,} document(s) e-mailed, "
                  f"{report.events:,} webhook event(s) delivered, {report.taken:,} document(s) taken for the first "
                  f"time.", markup=False, soft_wrap=True)
    if report.waiting:
        console.print(f"{report.waiting:,} deliverie(s) wait for a retry: slabill deliver --status lists them.",
                      markup=False, soft_wrap=True)
    for problem in report.retrying:
        when = problem.retry_at.strftime("%Y-%m-%d %H:%M UTC") if problem.retry_at else "the next run"
        err.print(f"slabill: {problem.number}, {problem.what}: {problem.detail}; retried from {when}.", markup=False)
    for problem in report.failed:
        err.print(f"slabill: {problem.number}, {problem.what}, failed: {problem.detail}.", markup=False)
    for problem in report.unknown:
        err.print(f"slabill: {problem.number}, {problem.what}, outcome unknown: {problem.detail}.", markup=False)
    if report.stopped:
        err.print(f"slabill: e-mailing stopped: {report.stopped}; what is left waits for the next deliver.",
                  markup=False)


def print_delivery_status(states, counts: dict) -> None:
    from datetime import datetime, timezone

    from rich.table import Table

    def when(micros):
        if micros is None:
            return ""
        return datetime.fromtimestamp(micros / 1_000_000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    table = Table(title="Deliveries")
    for column in ("number", "contract", "period", "channel", "status", "attempts", "when", "detail"):
        table.add_column(column, justify="right" if column == "attempts" else "left", overflow="fold")
    for state in states:
        channel = "e-mail" if state.channel == "email" else f"{state.event} to {state.endpoint}"
        if state.status == "delivered":
            moment, detail = when(state.delivered_us), state.message_id if state.channel == "email" else state.last_code
        elif state.status == "retry":
            moment, detail = "next " + when(state.next_attempt_us), state.last_detail
        elif state.status == "unknown":
            moment, detail = "", f"{state.message_id}: {state.last_detail}"
        else:
            moment, detail = "", state.last_detail
        table.add_row(state.number, state.contract, state.period, channel, state.status, str(state.attempts), moment,
                      detail or "")
    print_table(table)
    order = ("pending", "retry", "sending", "delivered", "failed", "unknown")
    Console(highlight=False).print(", ".join(f"{status} {counts.get(status, 0):,}" for status in order
                                             if counts.get(status) or status in ("pending", "delivered", "failed")),
                                   markup=False, soft_wrap=True)


# --- audit ----------------------------------------------------------------------------------------------------

audit_app = typer.Typer(no_args_is_help=True, help="Check the audit chain and export it for auditors.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@reports_errors
def audit_verify(
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    files: Optional[Path] = typer.Option(None, "--files", help="also check the documents' files in this folder "
                                                               "(HTML, PDF, XML) against the hashes issued"),
) -> None:
    """Walk the chain of evaluation records; report the first broken link (exit 1)."""
    from .audit.verify import verify
    from .processes import default_workers

    store = open_store(db)
    report = verify(store, workers=workers or default_workers())
    checked, edited = 0, None
    if report.ok and files is not None:
        from .jobs.output import check_files

        checked, edited = check_files(store, files)
    if edited:
        err.print(f"slabill: the chain holds, but {edited}.", markup=False)
        raise typer.Exit(1)
    console = Console(highlight=False, soft_wrap=True)
    if report.ok:
        console.print(f"The audit chain holds: {report.records:,} records and {report.documents:,} documents verified.",
                      markup=False)
        if files is not None:
            console.print(f"{checked:,} document files in {files} are the ones issued.", markup=False)
        return
    err.print(f"slabill: the audit chain is broken at {report.problem}.", markup=False)
    raise typer.Exit(1)


@audit_app.command("export")
@reports_errors
def audit_export(
    out: Path = typer.Option(..., "--out", help="the JSON Lines file to write"),
    period: Optional[str] = typer.Option(None, "--period", help="only this period, YYYY-MM (default: every record)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write the rule sets used and one JSON line per record, for checking without slabill."""
    from .audit.export import export
    from .core.period import Period

    if period is not None:
        period = str(Period.parse(period))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        rule_sets, records = export(open_store(db), handle, period)
    Console(highlight=False, soft_wrap=True).print(f"{out}: {rule_sets} rule set(s), {records:,} record(s).",
                                                   markup=False)


@app.command()
@reports_errors
def replay(
    evaluation: Optional[int] = typer.Argument(None, help="an evaluation (record) id"),
    run_id: Optional[int] = typer.Option(None, "--run", help="every record of a run"),
    period: Optional[str] = typer.Option(None, "--period", help="every record of a period, YYYY-MM"),
    with_current_rules: bool = typer.Option(False, "--with-current-rules",
                                            help="what-if: evaluate the recorded inputs under today's rule files"),
    rules: Path = typer.Option(Path("rules"), "--rules", help="today's rule files, for --with-current-rules"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
) -> None:
    """Re-evaluate recorded evaluations from their records alone and compare every figure (exit 1 on a difference)."""
    from .audit.replay import replay as replay_records
    from .core.errors import InputError
    from .core.period import Period
    from .loading.rulesets import load_rule_sets

    if evaluation is None and run_id is None and period is None:
        raise InputError("name an evaluation id, --run RUN_ID or --period YYYY-MM", field="EVALUATION_ID")
    if period is not None:
        period = str(Period.parse(period))
    current = load_rule_sets(rules) if with_current_rules else None
    console = Console(highlight=False, soft_wrap=True)
    replayed = differing = 0
    from .processes import default_workers

    for outcome in replay_records(open_store(db), evaluation_id=evaluation, run_id=run_id, period=period,
                                  current_rules=current, workers=workers or default_workers()):
        replayed += 1
        label = "what-if " if outcome.what_if else ""
        head = f"{label}record {outcome.evaluation_id} ({outcome.contract} {outcome.period})"
        if outcome.note:
            head += f" [{outcome.note}]"
        if outcome.differences:
            differing += 1
            console.print(f"{head}: {len(outcome.differences)} difference(s)", markup=False)
            for difference in outcome.differences:
                console.print(f"  {difference}", markup=False)
    if replayed == 0:
        raise InputError("no recorded evaluation matches", field="EVALUATION_ID")
    verdict = "what-if, not a correction: " if with_current_rules else ""
    console.print(f"{verdict}{replayed:,} replayed, {replayed - differing:,} identical, {differing:,} different.",
                  markup=False)
    if differing and not with_current_rules:
        raise typer.Exit(1)


@app.command()
@reports_errors
def explain(
    contract: str = typer.Argument(..., help="the contract id"),
    period: str = typer.Option(..., "--period", help="YYYY-MM"),
    locale: Optional[str] = typer.Option(None, "--locale", help="default: the customer's locale"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Say why a contract got what it got for a period, in the customer's language."""
    from invoices.explain import explain as word

    from .core.errors import InputError
    from .core.locales import check_locale
    from .core.period import Period

    month = str(Period.parse(period))
    if locale is not None:
        try:
            check_locale(locale)
        except ValueError as exc:
            raise InputError(str(exc), field="--locale") from None
    found = open_store(db).latest_records(month, contract).get(contract)
    if found is None:
        raise InputError(f"no evaluation of contract {contract} for {month} is recorded; run that period first",
                         field="CONTRACT")
    sys.stdout.write(word(json.loads(found.record_json), locale))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

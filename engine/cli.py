"""The ``slabill`` command line: parse, call the library once, print.

Every command turns a ``SlabillError`` into one sentence on stderr and exit code 2;
nothing is printed on stdout before the whole result exists.  Usage errors (an unknown
option, a missing one, a value of the wrong kind) are one sentence too, naming the
option, never a usage box; a bug is one sentence and exit code 70, never a traceback
(set ``SLABILL_TRACEBACK=1`` to see it).

Exit codes (INTERFACE.md sections 4 and 6.5): 0 success, 1 a finding the user asked to
fail on, 2 bad input or usage, 3 a run that did not finish, 4 a run that finished but
held back contracts it could not evaluate, 70 a bug in slabill.

Help is click's plain help, as most command lines print it: ``-h`` or ``--help``, each
option with the kind of value it takes (``--period YYYY-MM``), flags bare.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from . import clock
from .core.errors import InputError, SlabillError
from .jobs.formats import DOCUMENT_FORMATS, LIST_FORMATS, REPORT_FORMATS, SUMMARY_FORMATS

# The click that typer runs on: newer typers carry their own copy (typer._click), whose
# exceptions and parameters are not the click package's.
_click: Any = getattr(typer, "_click", None)
if _click is None:  # pragma: no cover - typer before its own copy
    import click as _click
usage = _click.exceptions
"""click's usage errors: UsageError, BadParameter, MissingParameter, NoSuchOption, ..."""
Context, HelpFormatter = _click.core.Context, _click.formatting.HelpFormatter


def _is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "option"

err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_UNFINISHED = 3
EXIT_HELD = 4
EXIT_BUG = 70


# --- the conventions every command shares ------------------------------------------------------------------

def _name_of(param: Any) -> str:
    """An option as the user types it (its long form), an argument as its help shows it."""
    if _is_option(param):
        return max(param.opts, key=len)
    return param.metavar or (param.name or "").upper()


def usage_sentence(error: usage.ClickException) -> str:
    """A click usage error as one of slabill's sentences, naming the option as its field.

    >>> usage_sentence(usage.NoSuchOption("--bogus", possibilities=["--out"]))
    'field --bogus: there is no option --bogus (did you mean --out?).'
    """
    param = getattr(error, "param", None)
    if isinstance(error, usage.MissingParameter) and param is not None:
        name = _name_of(param)
        return str(InputError(f"{name} is required" + (f" ({param.help})" if getattr(param, "help", None) else ""),
                              field=name))
    if isinstance(error, usage.BadParameter) and param is not None:
        return str(InputError(error.message, field=_name_of(param)))
    if isinstance(error, usage.NoSuchOption):
        hint = f"did you mean {', '.join(sorted(error.possibilities))}?" if error.possibilities else None
        return str(InputError(f"there is no option {error.option_name}", field=error.option_name, hint=hint))
    if isinstance(error, usage.BadOptionUsage):
        if "requires an argument" in error.message:
            return str(InputError(f"{error.option_name} needs a value", field=error.option_name))
        return str(InputError(error.message, field=error.option_name))
    message = error.format_message().replace("\n", " ").rstrip(".")
    return str(InputError(message[:1].lower() + message[1:]))


class Command(TyperCommand):
    """A command whose help shows its arguments and options as people write them."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if _is_argument(param):
                name = _name_of(param) + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments = [(_name_of(p) + ("..." if p.nargs != 1 else ""), getattr(p, "help", None) or "")
                     for p in self.get_params(ctx) if _is_argument(p)]
        options = [record for p in self.get_params(ctx) if _is_option(p)
                   if (record := p.get_help_record(ctx)) is not None]
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


class Group(TyperGroup):
    """slabill's commands, whose errors are all one sentence on stderr."""

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        Command.format_options(self, ctx, formatter)  # type: ignore[arg-type]
        self.format_commands(ctx, formatter)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,  # type: ignore[override]
             **extra):
        try:
            code = super().main(args=args, prog_name=prog_name or "slabill", complete_var=complete_var,
                                standalone_mode=False, **extra)
        except usage.NoArgsIsHelpError as error:  # "slabill notes": its help, as a usage error
            error.show()
            code = EXIT_BAD_INPUT
        except usage.ClickException as error:
            err.print(f"slabill: {usage_sentence(error)}", markup=False)
            code = EXIT_BAD_INPUT
        except typer.Abort:
            err.print("slabill: stopped.", markup=False)
            code = 130
        except SlabillError as error:  # raised outside a command (there are none); said the same way
            err.print(f"slabill: {sentence(error)}", markup=False)
            code = EXIT_BAD_INPUT
        except Exception as error:
            if os.environ.get("SLABILL_TRACEBACK"):
                raise
            said = " ".join(str(error).split())
            err.print(f"slabill: an unexpected error stopped the command ({type(error).__name__}: {said}); "
                      "this is a bug in slabill: please report it, with the command, and run it again with "
                      "SLABILL_TRACEBACK=1 to see where it happened.", markup=False)
            code = EXIT_BUG
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def typer_app(help: str) -> typer.Typer:
    return typer.Typer(cls=Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                       rich_markup_mode=None, context_settings=HELP, help=help)


app = typer_app("SLA penalty and service-credit billing: measured breaches in, credit notes out.")
rules_app = typer_app("Validate rule sets and print their schema.")
app.add_typer(rules_app, name="rules")
notes_app = typer_app("Issued credit notes and invoice adjustments.")
app.add_typer(notes_app, name="notes")
audit_app = typer_app("Check the audit chain and export it for auditors.")
app.add_typer(audit_app, name="audit")


def command(group: typer.Typer, name: Optional[str] = None) -> Callable:
    """Register a command of ``group`` whose help is slabill's (``Command``)."""
    return group.command(name, cls=Command)


def reports_errors(work: Callable) -> Callable:
    """Say a SlabillError in one sentence on stderr and exit 2."""
    from functools import wraps

    @wraps(work)
    def wrapper(*args, **kwargs):
        try:
            return work(*args, **kwargs)
        except SlabillError as exc:
            err.print(f"slabill: {sentence(exc)}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def sentence(error: Exception) -> str:
    """An error as one sentence: on one line, ending with a full stop."""
    text = " ".join(str(error).split())
    return text if text.endswith((".", "?", "!")) else text + "."


def choice(values: tuple[str, ...] | list[str], default: str, help: str, option: str = "--format") -> Any:
    """An option taking one of ``values``: the same help, check and message for every command's ``--format``."""
    values = tuple(values)

    def check(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{option} must be {_one_of(values)}, not {value!r}")
        return value

    return typer.Option(default, option, metavar="|".join(values), callback=check, help=help)


def _one_of(values: tuple[str, ...]) -> str:
    """``a, b or c``

    >>> _one_of(("table", "json", "csv"))
    'table, json or csv'
    """
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def whole_number(name: str, least: int = 0) -> Callable[[Optional[str]], Optional[int]]:
    """A callback reading a whole number of at least ``least`` from what was typed, with slabill's own message."""

    def read(value: Optional[str]) -> Optional[int]:
        if value is None:
            return None
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or int(text) < least:
            raise typer.BadParameter(f"{name} takes a whole number of at least {least}, not {value!r}")
        return int(text)

    return read


def workers_option(help: str = "worker processes (default: one per core, at most eight)") -> Any:
    return typer.Option(None, "--workers", metavar="N", callback=whole_number("--workers", 1), help=help)


SMTP_HELP = ("the SMTP server, smtp://[user[:password]@]host[:port] (smtps:// for TLS, ?starttls=1 to require "
             "STARTTLS; default: $SLABILL_SMTP_URL)")


SCHEDULER_VARIABLE = "SLABILL_DASK_SCHEDULER"


def _cluster(scheduler: Optional[str], workers: Optional[str], store_url: str):
    """The Dask cluster ``--scheduler`` (else ``SLABILL_DASK_SCHEDULER``) names, or None for local processes."""
    field = "--scheduler" if scheduler else SCHEDULER_VARIABLE
    scheduler = scheduler or os.environ.get(SCHEDULER_VARIABLE) or None
    if scheduler is None:
        return None
    if workers is not None:
        raise InputError("--workers counts this machine's processes, and with a Dask scheduler its workers work "
                         "the batches: leave out one of them", field="--workers")
    from .distributed import Cluster

    return Cluster.connect(scheduler, store_url, field=field)


def db_option() -> Any:
    return typer.Option(None, "--db", metavar="URL",
                        help="database URL (default: $SLABILL_DATABASE_URL, else sqlite:///slabill.db)")


def checkpoints_option() -> Any:
    return typer.Option(None, "--checkpoints", metavar="DIR",
                        help="the folder of signed checkpoints and their key (default: SLABILL_CHECKPOINTS, else a "
                             "folder beside a SQLite store named after it, else ./slabill-checkpoints)")


def period_option(help: str = "the month, YYYY-MM", required: bool = True) -> Any:
    return typer.Option(... if required else None, "--period", metavar="YYYY-MM", help=help)


def _version(asked: bool) -> None:
    if not asked:
        return
    from . import __version__
    from .core.matching import durable_rules_version
    from .store import schema_head

    # Three facts an auditor quotes: the engine, the rule engine it was built on, and the
    # schema revision it creates and upgrades stores to.
    print(f"slabill {__version__}\nrule engine: durable-rules {durable_rules_version()}\n"
          f"store schema revision: {schema_head()}")
    raise typer.Exit(0)


@app.callback()
def root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                      help="print slabill's version, the rule engine's, and the store schema "
                                           "revision, then exit")) -> None:
    """SLA penalty and service-credit billing: measured breaches in, credit notes out."""


# --- evaluating, statelessly -------------------------------------------------------------------------------

@command(app)
@reports_errors
def evaluate(
    rules: Path = typer.Option(..., "--rules", metavar="DIR|FILE",
                               help="a rule-set file, or a folder of *.yaml rule sets"),
    contracts: Path = typer.Option(..., "--contracts", metavar="FILE", help="contracts.yaml"),
    data: Path = typer.Option(..., "--data", metavar="DIR", help="folder of measurement CSV files"),
    period: str = period_option("the month to evaluate, YYYY-MM"),
    contract: Optional[str] = typer.Option(None, "--contract", metavar="ID", help="evaluate only this contract"),
    format: str = choice(SUMMARY_FORMATS[::-1], "json", "json for scripts, table for people"),
    workers: Optional[str] = workers_option("processes sharing the book's JSON evaluation (default: one per core)"),
) -> None:
    """Evaluate a month statelessly and print the result; writes nothing."""
    from .core.period import Period
    from .jobs.evaluate import Inputs, evaluate_to, evaluations_of
    from .processes import default_workers

    month = Period.parse(period)
    inputs = Inputs(rules, contracts, data)
    if format == "table":
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


@command(rules_app, "check")
@reports_errors
def rules_check(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="rule-set files or folders"),
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


@command(rules_app, "schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule-set files, for editors."""
    from .core.schema import RuleSet

    schema = RuleSet.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slabill rule set"
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


# --- the store ---------------------------------------------------------------------------------

def print_table(table) -> None:
    """A Rich table on stdout; off a terminal, as wide as its cells need.

    Read by a script or kept in a log, a number cut to "AV-20…" is lost: off a terminal
    Rich would assume 80 columns.
    """
    console = Console()
    if not console.is_terminal:
        console = Console(width=Console(width=2**16).measure(table).maximum)
    console.print(table)


def print_rows(rows: list[dict], columns: dict[str, str], format: str, title: str, key: str,
               right: tuple[str, ...] = ()) -> None:
    """A list as a table for people, or as JSON (``{key: [...]}``) or CSV (a header row, then one row each).

    ``columns`` maps each key of the rows to its heading in the table; JSON and CSV use the keys.
    An empty list is a table with its headings, ``{key: []}``, or a CSV header alone.
    """
    if format == "json":
        sys.stdout.write(json.dumps({key: rows}, ensure_ascii=False, indent=2) + "\n")
        return
    if format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" if row[c] is None else row[c] for c in columns} for row in rows)
        return
    from rich.table import Table

    table = Table(title=title)
    for column, heading in columns.items():
        table.add_column(heading, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    print_table(table)


def open_store(db: Optional[str]):
    """The store ``--db`` names, which must exist: only ``load`` creates one.

    Every other command reads what was loaded: pointed at a SQLite file that does not
    exist (the default ``slabill.db`` in another folder, say), it would create an empty
    store and report "0 records verified", which reads like a clean bill of health.
    """
    from .store import Store, database_url, sqlite_file

    url = database_url(db)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise InputError(f"there is no store at {path}: load a book first (slabill load), or give --db "
                         "(the demo's is sqlite:///out/slabill-demo.db)", field="--db")
    return Store(url)


@command(app)
@reports_errors
def load(
    contracts: Path = typer.Option(..., "--contracts", metavar="FILE", help="contracts.yaml"),
    data: Optional[Path] = typer.Option(None, "--data", metavar="DIR", help="folder of measurement CSV files"),
    rules: Optional[Path] = typer.Option(None, "--rules", metavar="DIR|FILE",
                                         help="rule-set file or folder (default: ./rules if present)"),
    db: Optional[str] = db_option(),
) -> None:
    """Bring a book of business, rule sets and measurements into the store; safe to repeat."""
    from rich.table import Table

    from .jobs.load import load_files
    from .store import database_url

    if rules is None and Path("rules").is_dir():
        rules = Path("rules")
    loaded = load_files(database_url(db), contracts, data, rules)
    table = Table(title="Loaded")
    for column in ("kind", "read", "new", "already stored"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, read in loaded.report.read.items():
        added = loaded.report.added.get(kind, 0)
        table.add_row(kind, f"{read:,}", f"{added:,}", f"{read - added:,}")
    Console().print(table)
    if loaded.report.corrected:
        corrected = ", ".join(f"{count:,} {kind}" for kind, count in loaded.report.corrected.items())
        Console(highlight=False, soft_wrap=True).print(
            f"Corrected: {corrected} stored before (kept, superseded by load {loaded.report.load}).", markup=False)
    for warning in loaded.warnings:
        err.print(f"slabill: warning: {warning}", markup=False)


def parse_day(text: str, option: str) -> "date":
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date written YYYY-MM-DD", field=option) from None


@command(app)
@reports_errors
def run(
    period: str = period_option("the month to bill, YYYY-MM"),
    db: Optional[str] = db_option(),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be issued; write nothing"),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                                        help="issue date (default: today)"),
    contract: Optional[str] = typer.Option(None, "--contract", metavar="ID", help="run only this contract"),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="also write every document of the period and each contract's monthly "
                                            "report (HTML and text) into this folder, checked before anything "
                                            "is issued"),
    format: str = choice(SUMMARY_FORMATS, "table", "table for people, json for scripts (one object)"),
    workers: Optional[str] = workers_option(),
    deliver: bool = typer.Option(False, "--deliver", help="deliver the period's documents right after issuing them "
                                                          "(as slabill deliver --period does)"),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", metavar="URL", help=SMTP_HELP),
    checkpoints: Optional[Path] = checkpoints_option(),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="tcp://HOST:PORT",
                                            help="evaluate and render on the workers of this Dask scheduler "
                                                 f"(default: ${SCHEDULER_VARIABLE}, else local processes)"),
) -> None:
    """The monthly run: evaluate every active contract, issue credit notes and adjustments, record it all.

    Exit code 3: the run did not finish (run it again); 4: it finished but held back
    contracts it could not evaluate, each named on stderr (a later run picks them up).
    With --deliver, a delivery that did not go through all gives deliver's own code.
    """
    from .audit.checkpoints import checkpoint_folder
    from .core.period import Period
    from .jobs.output import check_folder, write_documents, write_reports
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
    if out is not None:
        check_folder(out)
    store = open_store(db)
    folder = checkpoint_folder(store.url, checkpoints)
    cluster = _cluster(scheduler, workers, store.url)
    try:
        summary = _with_progress(lambda progress: monthly_run(
            store, month, as_of=issue_date, now=clock.now, dry_run=dry_run, contract_id=contract, progress=progress,
            workers=workers or default_workers(), checkpoints=folder, cluster=cluster))
    except WorkerDied as exc:
        err.print(f"slabill: {sentence(exc)}", markup=False)
        raise typer.Exit(EXIT_UNFINISHED) from None
    finally:
        if cluster is not None:
            cluster.close()
    files: list[Path] = []
    if out is not None:
        # Every document of the period, whichever run issued it: a run that finds nothing
        # new to issue still writes what was issued before.
        files = (write_documents(store, out, period=str(month), contract=contract)
                 + write_reports(store, str(month), out, contract))
    delivery = None
    if server is not None:
        from .delivery import deliver as deliver_documents

        delivery = deliver_documents(store, smtp=server, now=clock.now, period=str(month))
    console = Console(highlight=False)
    if format == "json":
        result = summary.as_json()
        if out is not None:
            result["files"] = [str(path) for path in files]
        if delivery is not None:
            result["delivery"] = {"run": delivery.run_id, "emailed": len(delivery.delivered),
                                  "webhook_events": delivery.events, "waiting": delivery.waiting,
                                  "exit_code": delivery.exit_code}
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        print_summary(summary, console)
        if summary.checkpoint is not None:
            console.print(f"Checkpoint signed: {summary.checkpoint}", markup=False, soft_wrap=True)
        if out is not None:
            console.print(f"{len(files)} files written to {out.resolve()}/:", markup=False, soft_wrap=True)
            for path in files:
                console.print(f"  {path}", markup=False, soft_wrap=True)
    if delivery is not None:
        print_delivery(delivery, console, counts=format != "json")
    for held in summary.held:
        err.print(f"slabill: contract {held.contract_id} held back: {sentence(held.reason)}", markup=False)
    code = (delivery.exit_code if delivery is not None else 0) or (EXIT_HELD if summary.held else 0)
    if code:
        raise typer.Exit(code)


def _with_progress(work):
    """``work(progress)``, with a progress bar on stderr when it is a terminal (never in a log or a pipe)."""
    if not err.is_terminal:
        return work(lambda done, total: None)
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
        ("contracts evaluated", summary.contracts - len(summary.held)),
        ("held back (not evaluated; named on stderr)", len(summary.held)),
        ("new evaluation records", summary.recorded),
        ("unchanged since the last run", summary.unchanged),
        ("contracts with a breach", summary.breaches),
        ("credit notes", summary.documents.get("credit_note", 0)),
        ("invoice adjustments", summary.documents.get("adjustment", 0)),
        ("corrections of earlier evaluations", summary.corrections),
        ("below the minimum credit (not issued)", summary.below_minimum),
        ("capped", summary.capped),
    ]
    if summary.interrupted:
        rows.append(("earlier runs found interrupted: " + ", ".join(map(str, summary.interrupted)),
                     len(summary.interrupted)))
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


@command(app, "runs")
@reports_errors
def runs(
    period: Optional[str] = period_option("only this period, YYYY-MM", required=False),
    format: str = choice(LIST_FORMATS, "table", "table for people, json or csv for scripts"),
    db: Optional[str] = db_option(),
) -> None:
    """List the monthly runs and where each stands: running, done, held, stopped or interrupted."""
    from .core.period import Period
    from .processes import gone

    month = str(Period.parse(period)) if period is not None else None
    rows = []
    for row in open_store(db).runs(period=month):
        summary = json.loads(row.summary_json or "{}")
        status = row.status
        # A run left running by a process of this machine that is gone is interrupted, whether
        # or not a later run said so yet.
        if status == "running" and gone(summary.get("runner")):
            status = "interrupted"
        rows.append({"run": row.id, "period": row.period, "as_of": row.as_of.isoformat(), "status": status,
                     "started": row.started_at, "finished": row.finished_at,
                     "held": [h["contract"] for h in summary.get("held", [])]})
    if format != "json":
        rows = [row | {"held": " ".join(row["held"])} for row in rows]
    columns = {"run": "run", "period": "period", "as_of": "as of", "status": "status", "started": "started",
               "finished": "finished", "held": "held back"}
    print_rows(rows, columns, format, "Monthly runs", "runs", right=("run",))


@command(notes_app, "list")
@reports_errors
def notes_list(
    period: Optional[str] = period_option("only this period, YYYY-MM", required=False),
    contract: Optional[str] = typer.Option(None, "--contract", metavar="ID", help="only this contract"),
    format: str = choice(LIST_FORMATS, "table", "table for people, json or csv for scripts"),
    db: Optional[str] = db_option(),
) -> None:
    """List issued documents."""
    from .core.period import Period

    month = str(Period.parse(period)) if period is not None else None
    # Amounts as issued: strings with the currency's minor-unit digits (INTERFACE.md section 5).
    rows = [{"number": row.number, "kind": row.kind, "contract": row.contract_id, "period": row.period,
             "issued": row.issue_date.isoformat(), "net": row.net_total, "vat": row.tax_total,
             "total": row.gross_total, "currency": row.currency}
            for row in open_store(db).documents(period=month, contract=contract)]
    columns = {"number": "number", "kind": "kind", "contract": "contract", "period": "period", "issued": "issued",
               "net": "net", "vat": "VAT", "total": "total", "currency": "currency"}
    print_rows(rows, columns, format, "Issued documents", "documents", right=("net", "vat", "total"))


def _document_row(store, number: str):
    row = store.document(number)
    if row is None:
        raise InputError(f"no document numbered {number!r} in the store", field="NUMBER")
    return row


def _locale(locale: Optional[str]) -> Optional[str]:
    if locale is not None:
        from .core.locales import check_locale

        try:
            check_locale(locale)
        except ValueError as exc:
            raise InputError(str(exc), field="--locale") from None
    return locale


@command(notes_app, "show")
@reports_errors
def notes_show(
    number: str = typer.Argument(..., metavar="NUMBER", help="e.g. AV-2026-000001"),
    db: Optional[str] = db_option(),
    locale: Optional[str] = typer.Option(None, "--locale", metavar="LOCALE",
                                         help="render in this locale instead of the customer's (e.g. de_DE)"),
) -> None:
    """Print an issued document as text."""
    from invoices.documents import Document
    from invoices.render import render

    locale = _locale(locale)
    row = _document_row(open_store(db), number)
    sys.stdout.write(render(Document.from_json(json.loads(row.content_json)), "txt", locale))


@command(notes_app, "render")
def notes_render(
    number: Optional[str] = typer.Argument(None, metavar="NUMBER", help="e.g. AV-2026-000001; or give --period"),
    period: Optional[str] = period_option("every document of this period, YYYY-MM", required=False),
    contract: Optional[str] = typer.Option(None, "--contract", metavar="ID", help="with --period: only this contract"),
    format: str = choice(tuple(DOCUMENT_FORMATS), "html", "the file format"),
    locale: Optional[str] = typer.Option(None, "--locale", metavar="LOCALE", help="default: the customer's locale"),
    out: Path = typer.Option(Path("out"), "--out", metavar="DIR", help="folder to write into"),
    db: Optional[str] = db_option(),
) -> None:
    """Write issued documents to files, as the bytes issued: one by its number, or every document of a period.

    Files are OUT/NUMBER.FORMAT, or OUT/NUMBER.LOCALE.FORMAT with --locale.
    Formats: html, txt, pdf (PDF/A-3b, with the Factur-X XML inside for a facturx customer)
    and xml (the customer's e-invoice; with --period, of the documents issued with one).
    Each file is checked against what was issued (exit 1, nothing written for it, if it no
    longer renders to those bytes).
    """
    _writes_documents(lambda: _render_documents(number, period, contract, format, locale, out, db))


def _render_documents(number, period, contract, format, locale, out, db) -> None:
    from .core.period import Period
    from .jobs.output import check_folder, write_document, write_documents

    if (number is None) == (period is None):
        raise InputError("name a document NUMBER, or every document of a --period, not both", field="NUMBER"
                         if number is None else "--period")
    if contract is not None and period is None:
        raise InputError("--contract narrows a --period; a NUMBER names one document already", field="--contract")
    locale = _locale(locale)
    month = str(Period.parse(period)) if period is not None else None
    store = open_store(db)
    row = _document_row(store, number) if number is not None else None
    check_folder(out)
    if locale is not None and format in ("pdf", "xml"):
        raise InputError(f"a {format.upper()} is written as issued, in the customer's language: --locale applies "
                         "to html and txt", field="--locale")
    if row is not None:
        paths = write_document(store, row, out, (format,), locale)
    else:
        paths = write_documents(store, out, period=month, contract=contract, formats=(format,), locale=locale)
    # soft_wrap: a long path is printed whole on one line, so a script can read it back.
    console = Console(highlight=False, soft_wrap=True)
    for path in paths:
        console.print(str(path), markup=False)


def _writes_documents(work: Callable[[], None]) -> None:
    """Run ``work``: a document that no longer renders to the bytes issued is a finding (exit 1)."""
    from .jobs.output import IssuedBytesError

    try:
        work()
    except IssuedBytesError as exc:
        err.print(f"slabill: {sentence(exc)}", markup=False)
        raise typer.Exit(1) from None
    except SlabillError as exc:
        err.print(f"slabill: {sentence(exc)}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


@command(app)
@reports_errors
def demo(
    out: Path = typer.Option(Path("out"), "--out", metavar="DIR", help="where the documents are written"),
    fixtures: Path = typer.Option(None, "--fixtures", metavar="DIR",
                                  help="the demo book (default: the shipped fixtures/)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM-DD", help="issue date (default: today)"),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", metavar="URL",
                                           help="deliver the documents to this SMTP server, a local test server such "
                                                "as smtp://127.0.0.1:8025 (the demo's addresses are fictitious; "
                                                "SLABILL_SMTP_URL is not read)"),
) -> None:
    """The whole monthly job on the shipped fixtures: a fresh SQLite database, documents in ./out/.

    Each demo starts afresh: its database, and the documents and reports an earlier demo
    wrote into the folder, are removed first; other files are left alone.
    """
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
    if result.summary.checkpoint is not None:
        console.print(f"Checkpoint signed: {result.summary.checkpoint}", markup=False, soft_wrap=True)
    if result.removed:
        console.print(f"{len(result.removed)} files of an earlier demo removed from {out.resolve()}/.", markup=False,
                      soft_wrap=True)
    console.print(f"{result.documents} documents written to {out.resolve()}/, each in the formats its customer "
                  f"takes ({len(result.files)} files):", markup=False, soft_wrap=True)
    for path in result.files:
        console.print(f"  {path}", markup=False, soft_wrap=True)
    console.print(f"{result.contracts_reported} monthly reports written to {out.resolve()}/, each in HTML and text "
                  f"({len(result.reports)} files):", markup=False, soft_wrap=True)
    for path in result.reports:
        console.print(f"  {path}", markup=False, soft_wrap=True)
    if result.delivery is not None and result.delivery.exit_code:
        raise typer.Exit(result.delivery.exit_code)


@command(app)
@reports_errors
def report(
    period: str = period_option(),
    contract: Optional[str] = typer.Option(None, "--contract", metavar="ID",
                                           help="only this contract (default: every contract evaluated for the "
                                                "period)"),
    format: str = choice(REPORT_FORMATS, "html", "the file format"),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="folder to write the reports into"),
    db: Optional[str] = db_option(),
) -> None:
    """Write the monthly SLA report of each contract: objectives, indicators and a chart of the month."""
    from .core.period import Period
    from .jobs.output import check_folder, write_reports

    month = str(Period.parse(period))
    store = open_store(db)
    if not store.latest_records(month, contract):
        whose = f"contract {contract}" if contract else "any contract"
        raise InputError(f"no evaluation of {whose} for {month} is recorded; run that period first",
                         field="--contract" if contract else "--period")
    check_folder(out)
    paths = write_reports(store, month, out, contract, (format,))
    console = Console(highlight=False, soft_wrap=True)
    for path in paths:
        console.print(str(path), markup=False)


# --- delivery --------------------------------------------------------------------------------------------------

def _smtp_server(smtp_url: Optional[str]):
    from .delivery import smtp_server

    server = smtp_server(smtp_url)
    if server is None:
        raise InputError("no SMTP server to deliver through: give --smtp-url smtp://host:port or set SLABILL_SMTP_URL",
                         field="--smtp-url")
    return server


@command(app, "deliver")
@reports_errors
def deliver_command(
    period: Optional[str] = period_option("only the documents of this period, YYYY-MM", required=False),
    smtp_url: Optional[str] = typer.Option(None, "--smtp-url", metavar="URL", help=SMTP_HELP),
    status: bool = typer.Option(False, "--status", help="list what is pending, delivered and failed; send nothing"),
    resend: list[str] = typer.Option([], "--resend", metavar="NUMBER",
                                     help="send a document's e-mail again after it failed or its outcome is unknown "
                                          "(repeatable)"),
    db: Optional[str] = db_option(),
) -> None:
    """Send every issued document not delivered yet, once: by e-mail to its customer, and its events to the issuer's
    webhooks. Exit 3 when some wait for a retry, 4 when some failed."""
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


def print_delivery(report, console: Console, counts: bool = True) -> None:
    """A run's counts on stdout (unless ``counts`` is false: a JSON result holds them); each document
    that did not go through on stderr, with why."""
    if counts:
        console.print(f"Delivery run {report.run_id}: {len(report.delivered):,} document(s) e-mailed, "
                      f"{report.events:,} webhook event(s) delivered, {report.taken:,} document(s) taken for the "
                      f"first time.", markup=False, soft_wrap=True)
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

@command(audit_app, "verify")
@reports_errors
def audit_verify(
    db: Optional[str] = db_option(),
    workers: Optional[str] = workers_option(),
    files: Optional[Path] = typer.Option(None, "--files", metavar="DIR",
                                         help="also check the documents' files in this folder (HTML, PDF, XML) "
                                              "against the hashes issued"),
    checkpoint: Optional[list[Path]] = typer.Option(
        None, "--checkpoint", metavar="FILE", help="prove the store still extends this signed checkpoint (a run's, "
                                                    "or an export's header); repeat it for several"),
    public_key: Optional[Path] = typer.Option(None, "--public-key", metavar="FILE",
                                              help="the public key the checkpoints are checked with (default: "
                                                   "slabill-checkpoint.pub beside each checkpoint)"),
    format: str = choice(SUMMARY_FORMATS, "table", "table for people, json for scripts (one object)"),
) -> None:
    """Walk the chain of evaluation records and check the store against itself and its checkpoints;
    report the first broken link (exit 1)."""
    from invoices.derive import documents_problem

    from .audit.checkpoints import read_checkpoint
    from .audit.verify import verify
    from .processes import default_workers

    # Read first: a checkpoint file that cannot be read is bad input (exit 2), before any work.
    anchors = [read_checkpoint(path, public_key) for path in checkpoint or []]
    store = open_store(db)
    report = verify(store, workers=workers or default_workers(), checkpoints=anchors, planner=documents_problem)
    checked, edited = 0, None
    if report.ok and files is not None:
        from .jobs.output import check_files

        checked, edited = check_files(store, files)
    problem = report.problem or (f"the chain holds, but {edited}" if edited else None)
    if format == "json":
        result = {"ok": problem is None, "records": report.records, "documents": report.documents,
                  "head": report.head, "checkpoints": report.checkpoints, "problem": problem}
        if files is not None:
            result["files"] = checked
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    if edited:
        if format != "json":
            err.print(f"slabill: the chain holds, but {edited}.", markup=False)
        raise typer.Exit(1)
    console = Console(highlight=False, soft_wrap=True)
    if report.ok:
        if format == "json":
            return
        anchored = (f", extending {report.checkpoints} checkpoint{'s' if report.checkpoints != 1 else ''}"
                    if report.checkpoints else "")
        console.print(f"The audit chain holds: {report.records:,} records and {report.documents:,} documents verified"
                      f"{anchored}; head {report.head}.", markup=False)
        if files is not None:
            console.print(f"{checked:,} document files in {files} are the ones issued.", markup=False)
        return
    err.print(f"slabill: the audit chain is broken at {report.problem}.", markup=False)
    raise typer.Exit(1)


@command(audit_app, "export")
@reports_errors
def audit_export(
    out: Path = typer.Option(..., "--out", metavar="FILE", help="the JSON Lines file to write"),
    period: Optional[str] = period_option("only this period, YYYY-MM (default: every record)", required=False),
    db: Optional[str] = db_option(),
    checkpoints: Optional[Path] = checkpoints_option(),
) -> None:
    """Write the rule sets used and one JSON line per record, for checking without slabill; the header
    carries a checkpoint of the exported chain, signed with the key of the checkpoints' folder."""
    from .audit.checkpoints import checkpoint_folder, signing_key
    from .audit.export import export
    from .core.period import Period
    from .jobs.output import check_file, write_file

    if period is not None:
        period = str(Period.parse(period))
    store = open_store(db)
    check_file(out)
    key = signing_key(checkpoint_folder(store.url, checkpoints))
    counted: list[tuple[int, int]] = []
    write_file(out, lambda handle: counted.append(export(store, handle, period, key=key, written_at=clock.now())))
    rule_sets, records = counted[0]
    Console(highlight=False, soft_wrap=True).print(f"{out}: {rule_sets} rule set(s), {records:,} record(s).",
                                                   markup=False)


@command(app)
@reports_errors
def replay(
    evaluation: Optional[str] = typer.Argument(None, metavar="EVALUATION_ID", callback=whole_number("EVALUATION_ID", 1),
                                               help="an evaluation (record) id"),
    run_id: Optional[str] = typer.Option(None, "--run", metavar="RUN_ID", callback=whole_number("--run", 1),
                                         help="every record of a run"),
    period: Optional[str] = period_option("every record of a period, YYYY-MM", required=False),
    with_current_rules: bool = typer.Option(False, "--with-current-rules",
                                            help="what-if: evaluate the recorded inputs under today's rule files; "
                                                 "it shows differences but never fails (exit 0)"),
    rules: Path = typer.Option(Path("rules"), "--rules", metavar="DIR|FILE",
                               help="today's rule files, for --with-current-rules"),
    db: Optional[str] = db_option(),
    workers: Optional[str] = workers_option(),
) -> None:
    """Re-evaluate recorded evaluations from their records alone and compare every figure.

    Exit 1 when a record differs from its replay.  A what-if (--with-current-rules) is
    not a check of the records: it prints its differences and exits 0.
    """
    from .audit.replay import replay as replay_records
    from .core.period import Period
    from .loading.rulesets import load_rule_sets
    from .processes import default_workers

    if evaluation is None and run_id is None and period is None:
        raise InputError("name an evaluation id, --run RUN_ID or --period YYYY-MM", field="EVALUATION_ID")
    if period is not None:
        period = str(Period.parse(period))
    current = load_rule_sets(rules) if with_current_rules else None
    console = Console(highlight=False, soft_wrap=True)
    replayed = differing = 0
    lines = []
    for outcome in replay_records(open_store(db), evaluation_id=evaluation, run_id=run_id, period=period,
                                  current_rules=current, workers=workers or default_workers()):
        replayed += 1
        label = "what-if " if outcome.what_if else ""
        head = f"{label}record {outcome.evaluation_id} ({outcome.contract} {outcome.period})"
        if outcome.note:
            head += f" [{outcome.note}]"
        if outcome.differences:
            differing += 1
            lines.append(f"{head}: {len(outcome.differences)} difference(s)")
            lines += [f"  {difference}" for difference in outcome.differences]
    if replayed == 0:
        raise InputError("no recorded evaluation matches", field="EVALUATION_ID")
    for line in lines:
        console.print(line, markup=False)
    verdict = "what-if, not a correction: " if with_current_rules else ""
    console.print(f"{verdict}{replayed:,} replayed, {replayed - differing:,} identical, {differing:,} different.",
                  markup=False)
    if differing and not with_current_rules:
        raise typer.Exit(1)


@command(app)
@reports_errors
def explain(
    contract: str = typer.Argument(..., metavar="CONTRACT", help="the contract id"),
    period: str = period_option(),
    locale: Optional[str] = typer.Option(None, "--locale", metavar="LOCALE", help="default: the customer's locale"),
    db: Optional[str] = db_option(),
) -> None:
    """Say why a contract got what it got for a period, in the customer's language."""
    from invoices.explain import explain as word

    from .core.period import Period

    month = str(Period.parse(period))
    locale = _locale(locale)
    found = open_store(db).latest_records(month, contract).get(contract)
    if found is None:
        raise InputError(f"no evaluation of contract {contract} for {month} is recorded; run that period first",
                         field="CONTRACT")
    sys.stdout.write(word(json.loads(found.record_json), locale))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

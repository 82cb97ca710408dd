"""``slabill demo``: the whole monthly job on the shipped fixtures.

It loads the rule sets in ``rules/`` and the book in ``fixtures/`` into a fresh SQLite
database, runs the period the data is about (the UTC month holding most of its incident
and request rows),
and writes every issued document and every contract's monthly SLA report, as HTML and
as text, into the output folder.  Given an SMTP server (a local test server: the book's
addresses are fictitious), it then delivers the documents, as ``slabill deliver`` does.

The files are written by ``engine.jobs.output``, as ``slabill run --out`` writes them.
The demo starts afresh each time: its database, and the documents and reports an
earlier demo wrote into the folder (files named as the demo names them, directly in
the folder), are removed first, so the folder holds this run's files and nothing else of
the demo's.  Other files in the folder are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from ..core.model import Measurements
from ..core.period import Period
from ..delivery import DeliveryReport, SmtpServer, deliver
from ..loading.contracts import load_book
from ..loading.measurements import load_measurements
from ..loading.rates import load_rates
from ..loading.rulesets import load_rule_files, rule_set_files
from ..store import Store
from .formats import FILE_SUFFIXES
from .output import check_folder, write_documents, write_reports
from .run import RunSummary, monthly_run

ROOT = Path(__file__).resolve().parent.parent.parent
_WRITTEN = re.compile(r"^(?:[A-Z0-9]{1,8}-[0-9]{4}-[0-9]{6}|[A-Za-z0-9][A-Za-z0-9._-]*-[0-9]{4}-[0-9]{2}-report)\.(?:"
                      + "|".join(suffix.replace(".", r"\.") for suffix in FILE_SUFFIXES) + r")$")
"""the names of the documents (AV-2026-000001.html) and reports (C-1001-2026-10-report.txt) a demo writes"""


@dataclass(frozen=True)
class DemoResult:
    summary: RunSummary
    database: Path
    files: list[Path]
    """the issued documents' files, each document in every format its customer takes"""
    reports: list[Path] = field(default_factory=list)
    """one monthly SLA report per contract, HTML and text"""
    removed: list[Path] = field(default_factory=list)
    """what an earlier demo had written into the folder, removed first"""
    delivery: DeliveryReport | None = None
    """what was delivered, when an SMTP server was given"""

    @property
    def documents(self) -> int:
        """How many documents were issued (each is written in every format its customer takes)."""
        return len({path.name.split(".")[0] for path in self.files})

    @property
    def contracts_reported(self) -> int:
        return len({path.name.rsplit("-report.", 1)[0] for path in self.reports})


def earlier_output(out: Path) -> list[Path]:
    """The documents and reports an earlier demo wrote directly into ``out``."""
    return sorted(path for path in out.iterdir() if path.is_file() and _WRITTEN.match(path.name)) \
        if out.is_dir() else []


def period_of(measurements: Measurements) -> Period:
    """The month (UTC) that holds most measurement rows; the latest such month on a tie."""
    months: Counter = Counter()
    for rows in measurements.incidents.values():
        months.update(Period(r.start.year, r.start.month) for r in rows)
    for rows in measurements.requests.values():
        months.update(Period(r.interval_start.year, r.interval_start.month) for r in rows)
    if not months:
        raise ValueError("the demo data holds no measurements")
    return max(months, key=lambda p: (months[p], p))


def run_demo(out: Path, fixtures: Path | None, as_of: date, now: Callable[[], datetime],
             progress_wrapper: Callable = lambda work: work(lambda done, total: None),
             smtp: SmtpServer | None = None) -> DemoResult:
    fixtures = fixtures or ROOT / "fixtures"
    rules = fixtures / "rules" if (fixtures / "rules").is_dir() else ROOT / "rules"
    book = load_book(fixtures / "contracts.yaml")
    measurements = load_measurements(fixtures / "data", book)
    check_folder(out)
    database = out / "slabill-demo.db"
    for stale in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-deliver.lock"))):
        stale.unlink(missing_ok=True)
    removed = earlier_output(out)
    for stale in removed:
        stale.unlink()
    # The demo's own checkpoints, beside its database; those of an earlier demo describe a store that is gone.
    checkpoints = database.with_name(f"{database.stem}-checkpoints")
    for stale in sorted(checkpoints.glob("checkpoint-*.json")) if checkpoints.is_dir() else []:
        stale.unlink()
    store = Store(f"sqlite:///{database}")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(rules)), measurements=measurements,
               rates=load_rates(rules))
    period = period_of(measurements)
    summary = progress_wrapper(lambda progress: monthly_run(store, period, as_of=as_of, now=now, progress=progress,
                                                                  checkpoints=checkpoints))
    files = write_documents(store, out, summary.run_id)
    reports = write_reports(store, str(period), out)
    delivery = deliver(store, smtp=smtp, now=now, period=str(period)) if smtp is not None else None
    store.close()
    return DemoResult(summary, database, files, reports, removed, delivery)

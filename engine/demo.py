"""``slabill demo``: the whole monthly job on the shipped fixtures.

It loads the rule sets in ``rules/`` and the book in ``fixtures/`` into a fresh SQLite
database, runs the period the data is about (the month holding most of its rows),
and writes every issued document and every contract's monthly SLA report, as HTML and
as text, into the output folder.

``write_documents`` and ``write_reports`` are also what ``slabill run --out`` and
``slabill report`` call: they read the store and write files, and leave the rendering
to ``invoices``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from .book import Measurements, load_book, load_measurements
from .period import Period
from .rates import load_rates
from .rulesets import load_rule_files, rule_set_files
from .run import RunSummary, monthly_run
from .store import Store

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoResult:
    summary: RunSummary
    database: Path
    files: list[Path]
    """the issued documents"""
    reports: list[Path] = field(default_factory=list)
    """one monthly SLA report per contract, HTML and text"""


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
             progress_wrapper: Callable = lambda work: work(lambda done, total: None)) -> DemoResult:
    fixtures = fixtures or ROOT / "fixtures"
    rules = fixtures / "rules" if (fixtures / "rules").is_dir() else ROOT / "rules"
    out.mkdir(parents=True, exist_ok=True)
    database = out / "slabill-demo.db"
    for stale in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        stale.unlink(missing_ok=True)
    book = load_book(fixtures / "contracts.yaml")
    measurements = load_measurements(fixtures / "data", book)
    store = Store(f"sqlite:///{database}")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(rules)), measurements=measurements,
               rates=load_rates(rules))
    period = period_of(measurements)
    summary = progress_wrapper(lambda progress: monthly_run(store, period, as_of=as_of, now=now, progress=progress))
    files = write_documents(store, out, summary.run_id)
    reports = write_reports(store, str(period), out)
    store.close()
    return DemoResult(summary, database, files, reports)


def write_documents(store: Store, out: Path, run_id: int | None) -> list[Path]:
    """Every document a run issued, as HTML and text, checked against the bytes recorded at issue."""
    from invoices.documents import Document
    from invoices.render import render

    files = []
    if run_id is None:
        return files
    out.mkdir(parents=True, exist_ok=True)
    for row in store.documents(run_id=run_id):
        document = Document.from_json(json.loads(row.content_json))
        for format, expected in (("html", row.html_sha256), ("txt", row.text_sha256)):
            data = render(document, format).encode("utf-8")
            # The HTML's hash was stored at issue (the text's too, for documents issued
            # before text became a view made on demand): what is written must be those bytes.
            if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                raise RuntimeError(f"{row.number} does not render to the bytes that were issued")
            path = out / f"{row.number}.{format}"
            path.write_bytes(data)
            files.append(path)
    return files


def write_reports(store: Store, period: str, out: Path, contract: str | None = None,
                  formats: tuple[str, ...] = ("html", "txt")) -> list[Path]:
    """The monthly SLA report of every contract evaluated for ``period`` (or of one), from its latest record.

    Each report lists every document issued for the contract and period, whichever revision
    issued it, and words the ticket objectives from the rule set the record names.  Files are
    ``<out>/<contract>-<period>-report.<format>``; returns them, none when nothing is recorded.
    """
    from invoices.report import render_report, report_name, documents_from_rows

    latest: dict[str, Any] = {}
    for row in store.evaluations(period=period, contract=contract):
        if row.contract_id not in latest or row.revision > latest[row.contract_id].revision:
            latest[row.contract_id] = row
    documents: dict[str, list[Any]] = {}
    for row in store.documents(period=period, contract=contract):
        documents.setdefault(row.contract_id, []).append(row)
    rule_sets: dict[str, Any] = {}
    paths = []
    for contract_id in sorted(latest):
        row = latest[contract_id]
        record = json.loads(row.record_json)
        sha = record["ruleset"]["sha256"]
        if sha not in rule_sets:
            rule_sets[sha] = store.rule_set(sha)
        for format in formats:
            text = render_report(record, format, documents=documents_from_rows(documents.get(contract_id, [])),
                                 rule_set=rule_sets[sha])
            out.mkdir(parents=True, exist_ok=True)
            path = out / report_name(contract_id, period, format)
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    return paths

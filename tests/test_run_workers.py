"""The monthly run with worker processes gives exactly what the run in one process gives."""

from __future__ import annotations

import json
import os
import signal
from datetime import date, datetime, timezone

import pytest

import engine.jobs.run as run_module
from engine.audit.verify import verify
from engine.core.period import Period
from engine.jobs.run import NUMBER, WorkerDied, monthly_run
from engine.store import Store
from invoices.derive import documents_problem
from invoices.documents import Document
from invoices.render import render
from tests.conftest import load_fixtures


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def contents(store: Store):
    records = [(e.contract_id, e.revision, e.record_sha256, e.credit_total) for e in store.evaluations()]
    documents = [(d.number, d.content_sha256, d.html_sha256, d.gross_total) for d in store.documents()]
    return records, documents


def test_two_workers_record_and_issue_byte_for_byte_what_one_process_does(tmp_path, store_url):
    """On each store: one process into a SQLite file, two workers into the store under test."""
    reference = Store(f"sqlite:///{tmp_path / 'one.db'}")
    load_fixtures(reference)
    monthly_run(reference, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=1, batch_size=3)
    store = Store(store_url)
    load_fixtures(store)
    summary = monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=2, batch_size=3)
    assert (summary.recorded, sum(summary.documents.values())) == (8, 8)
    assert verify(store, planner=documents_problem).ok
    assert contents(store) == contents(reference)
    # A second run with workers finds nothing new, and still describes the period.
    again = monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=2)
    assert (again.unchanged, again.recorded, sum(again.documents.values())) == (8, 0, 0)
    assert (again.breaches, again.capped, again.below_minimum) == (summary.breaches, summary.capped,
                                                                   summary.below_minimum)


def test_a_worker_that_dies_stops_the_run_instead_of_hanging_it(tmp_path, monkeypatch):
    """A worker killed mid-run (as a crash in native code would) breaks the pool: the run
    raises at once; the batches recorded before stand, and a second run finishes the period
    with numbers that have no gap."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    parent = os.getpid()
    real = run_module.work_out

    def dies_in_a_worker_on_c3001(stored, *arguments):
        if os.getpid() != parent and stored.contract.id == "C-3001":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(stored, *arguments)

    monkeypatch.setattr(run_module, "work_out", dies_in_a_worker_on_c3001)
    with pytest.raises(WorkerDied):
        monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=2, batch_size=2)
    monkeypatch.setattr(run_module, "work_out", real)
    assert verify(store, planner=documents_problem).ok
    monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=2, batch_size=2)
    assert verify(store, planner=documents_problem).ok
    assert len(store.evaluations()) == 8
    numbers = sorted(d.number for d in store.documents())
    for prefix in {n.rsplit("-", 1)[0] for n in numbers}:
        sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(prefix + "-"))
        assert sequence == list(range(1, len(sequence) + 1))


def test_a_document_rendered_before_its_number_gives_the_bytes_of_the_numbered_one(store):
    load_fixtures(store)
    monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock)
    for row in store.documents():
        document = Document.from_json(json.loads(row.content_json))
        for format in ("html", "txt"):
            assert render(document.numbered(NUMBER), format).replace(NUMBER, row.number) == render(document, format)

"""The monthly run with worker processes gives exactly what the run in one process gives."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from engine.audit import verify
from engine.period import Period
from engine.run import NUMBER, monthly_run
from engine.store import Store
from invoices.documents import Document
from invoices.render import render
from tests.conftest import load_fixtures


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def contents(store: Store):
    records = [(e.contract_id, e.revision, e.record_sha256, e.credit_total) for e in store.evaluations()]
    documents = [(d.number, d.content_sha256, d.html_sha256, d.gross_total) for d in store.documents()]
    return records, documents


def test_two_workers_record_and_issue_byte_for_byte_what_one_process_does(tmp_path):
    stores = []
    for workers in (1, 2):
        store = Store(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        load_fixtures(store)
        summary = monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=workers,
                              batch_size=3)
        assert (summary.recorded, sum(summary.documents.values())) == (8, 8)
        assert verify(store).ok
        stores.append(store)
    assert contents(stores[0]) == contents(stores[1])
    # A second run with workers finds nothing new.
    assert monthly_run(stores[1], Period(2026, 10), as_of=date(2026, 11, 2), now=clock, workers=2).unchanged == 8


def test_a_document_rendered_before_its_number_gives_the_bytes_of_the_numbered_one(store):
    load_fixtures(store)
    monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=clock)
    for row in store.documents():
        document = Document.from_json(json.loads(row.content_json))
        for format in ("html", "txt"):
            assert render(document.numbered(NUMBER), format).replace(NUMBER, row.number) == render(document, format)

"""Stores written by earlier versions of slabill still verify, replay and render as issued.

``tests/data/store-0.2.0-fixtures-2026-10.db`` was written by slabill 0.2.0 (commit d49b800,
before the engine was split into packages): the shipped rules and fixtures loaded, and
October 2026 run with ``--as-of 2026-11-02``.  An auditor must be able to check it with
any later version, whatever changed inside.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.audit.replay import replay
from engine.audit.verify import verify
from engine.jobs.output import write_documents
from engine.store import Store
from invoices.derive import documents_problem
from tests.conftest import ROOT

STORES = ROOT / "tests" / "data"


@pytest.fixture
def old_store(tmp_path: Path):
    # A copy: opening a store may upgrade its schema, and the file in the repository stays as written.
    path = tmp_path / "old.db"
    shutil.copyfile(STORES / "store-0.2.0-fixtures-2026-10.db", path)
    store = Store(f"sqlite:///{path}")
    yield store
    store.close()


def test_a_store_of_0_2_0_verifies(old_store):
    report = verify(old_store, planner=documents_problem)
    assert report.ok, report.problem
    assert (report.records, report.documents) == (8, 8)


def test_every_record_of_a_store_of_0_2_0_replays_identically(old_store):
    outcomes = list(replay(old_store, period="2026-10"))
    assert len(outcomes) == 8
    assert [o.contract for o in outcomes if o.differences] == []


def test_the_documents_of_a_store_of_0_2_0_render_to_the_bytes_issued(old_store, tmp_path):
    # write_documents refuses a rendering whose sha256 differs from the one stored at issue.
    files = write_documents(old_store, tmp_path / "out", run_id=1)
    assert len(files) == 16  # 8 documents, HTML and text


def test_the_measurements_of_a_store_of_0_2_0_are_vouched_for_by_the_load_its_upgrade_sealed(old_store):
    # 0010 seals one load for the rows the store held, after its 8 records: an edited row is then found.
    from sqlalchemy import text

    assert old_store.chain().length == 9
    [load] = old_store.load_rows()
    assert json.loads(load.entry_json)["files"]["incidents.csv"]["added"] == 27
    with old_store.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER incidents_no_update"))
        connection.execute(text("UPDATE incidents SET end_us = end_us - 60000000 WHERE id = 3"))
    report = verify(old_store)
    assert report.problem.startswith("incidents row 3 (") and "no longer matches its key: it was edited" in report.problem

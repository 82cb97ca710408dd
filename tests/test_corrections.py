"""Corrected measurements really correct, and the measurements stored are evidence (issue 17, items 4 and 5).

A loaded incident or request interval whose key is stored with other content supersedes
the stored row (kept, marked, for the audit); the next run of the period issues the
difference.  Each load that changes rows is sealed onto the audit chain, and ``audit
verify`` holds every stored row to the load that vouches for it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from engine.audit.replay import replay
from engine.audit.verify import verify
from engine.cli import app
from engine.core.evaluation import evaluate_book
from engine.core.period import Period
from engine.core.results import evaluation_json
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_sets
from engine.store import Store
from tests.conftest import ROOT, load_fixtures, postgres_base_url, postgres_schema
from tests.test_audit import broken, run, tamper

OCTOBER = Period(2026, 10)
LATER = date(2026, 12, 1)


def copy_of_fixtures(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    shutil.copytree(ROOT / "fixtures", folder, ignore=shutil.ignore_patterns("expected", "scenarios"))
    return folder


def load_folder(store: Store, folder: Path):
    book = load_book(folder / "contracts.yaml")
    return store.load(book=book, measurements=load_measurements(folder / "data", book))


def evaluated_from_files(folder: Path) -> dict[str, dict]:
    book = load_book(folder / "contracts.yaml")
    return {e.contract.id: evaluation_json(e) for e in evaluate_book(
        load_rule_sets(ROOT / "rules"), book, load_measurements(folder / "data", book), OCTOBER,
        rates=load_rates(ROOT / "rules"))}


def latest_recorded(store: Store) -> dict[str, dict]:
    return {contract: json.loads(row.record_json)["result"]["evaluation"]
            for contract, row in store.latest_records("2026-10").items()}


def edit_line(path: Path, number: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines()
    assert old in lines[number - 1], lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("\n".join(lines) + "\n")


def current_incidents(store: Store, contract: str) -> list[tuple]:
    with store.engine.connect() as connection:
        return connection.execute(text(
            "SELECT id, end_us, superseded_by, load_id FROM incidents WHERE contract_id = :c ORDER BY id"),
            {"c": contract}).all()


# --- the defect of the issue, and its fix --------------------------------------------------------------------

def test_a_shorter_outage_supersedes_the_stored_incident_and_the_run_issues_the_difference(store, tmp_path):
    load_fixtures(store)
    run(store)
    assert latest_recorded(store)["C-1002"]["credit_total"] == "724.54"
    folder = copy_of_fixtures(tmp_path)
    # Line 11: the 8 h 44 min outage of 14 October in fact ended at 04:02:10, after 44 min 28 s.
    edit_line(folder / "data" / "incidents.csv", 11, "2026-10-14T12:02:10+02:00", "2026-10-14T04:02:10+02:00")
    report = load_folder(store, folder)
    assert (report.added["incidents"], report.corrected) == (1, {"incidents": 1})
    rows = current_incidents(store, "C-1002")
    assert len(rows) == 5 and [r for r in rows if r.superseded_by is None].__len__() == 4  # as the file holds
    [old] = [r for r in rows if r.superseded_by is not None]
    assert old.superseded_by == report.load and rows[-1].load_id == report.load
    # Loading the corrected file again changes nothing, and records no load.
    again = load_folder(store, folder)
    assert (again.added["incidents"], again.corrected, again.load) == (0, {}, None)

    summary = run(store, as_of=LATER)
    assert (summary.recorded, summary.unchanged) == (1, 7)
    assert latest_recorded(store) == evaluated_from_files(folder)
    assert latest_recorded(store)["C-1002"]["credit_total"] == "241.52"
    # 724.54 was credited; 241.52 is owed: 483.02 is taken back (+ 20 % VAT: 96.604 -> 96.60).
    adjustment = store.documents(contract="C-1002")[-1]
    assert (adjustment.kind, adjustment.net_total, adjustment.tax_total, adjustment.gross_total) == (
        "adjustment", "483.02", "96.60", "579.62")
    assert verify(store).ok and all(not o.differences for o in replay(store, period="2026-10"))
    assert run(store, as_of=LATER).recorded == 0


def test_a_changed_request_count_corrects_the_stored_interval(store, tmp_path):
    load_fixtures(store)
    run(store)
    folder = copy_of_fixtures(tmp_path)
    requests = folder / "data" / "requests.csv"
    lines = requests.read_text().splitlines()
    cells = lines[1].split(",")
    cells[4] = str(int(cells[3]))  # every request of the first interval failed
    lines[1] = ",".join(cells)
    requests.write_text("\n".join(lines) + "\n")
    report = load_folder(store, folder)
    assert (report.added["request intervals"], report.corrected) == (1, {"request intervals": 1})
    run(store, as_of=LATER)
    assert latest_recorded(store) == evaluated_from_files(folder)
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM request_counts WHERE superseded_by IS NOT NULL")
                                  ).scalar_one() == 1
    assert verify(store).ok


def test_an_incident_id_is_its_key(store, tmp_path):
    # With ids, two incidents may start at the same instant, and a correction may move a start.
    folder = copy_of_fixtures(tmp_path)
    data = folder / "data" / "incidents.csv"
    data.write_text("contract,service,start,end,cause,announced_at,impact,id\n"
                    "C-1002,compute,2026-10-14T01:00:00Z,2026-10-14T02:00:00Z,outage,,,INC-1\n"
                    "C-1002,compute,2026-10-14T01:00:00Z,2026-10-14T01:30:00Z,customer,,,INC-2\n")
    store.load(book=load_book(folder / "contracts.yaml"), measurements=load_measurements(
        folder / "data", load_book(folder / "contracts.yaml")))
    data.write_text("contract,service,start,end,cause,announced_at,impact,id\n"
                    "C-1002,compute,2026-10-14T01:10:00Z,2026-10-14T02:00:00Z,outage,,,INC-1\n")
    report = load_folder(store, folder)
    assert (report.added["incidents"], report.corrected) == (1, {"incidents": 1})
    starts = {row[0] for row in _current(store)}
    assert starts == {("INC-1", "2026-10-14T01:10:00+00:00"), ("INC-2", "2026-10-14T01:00:00+00:00")}


def _current(store: Store) -> list[tuple]:
    from engine.core.canonical import from_micros

    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT incident, start_us FROM incidents WHERE superseded_by IS NULL")).all()
    return [((incident, from_micros(start).isoformat()),) for incident, start in rows]


def test_an_earlier_content_may_come_back(store, tmp_path):
    load_fixtures(store)
    folder = copy_of_fixtures(tmp_path)
    path = folder / "data" / "incidents.csv"
    edit_line(path, 11, "2026-10-14T12:02:10+02:00", "2026-10-14T04:02:10+02:00")
    load_folder(store, folder)
    edit_line(path, 11, "2026-10-14T04:02:10+02:00", "2026-10-14T12:02:10+02:00")  # the correction was wrong
    report = load_folder(store, folder)
    assert report.corrected == {"incidents": 1}
    rows = current_incidents(store, "C-1002")
    assert [r.end_us for r in rows if r.superseded_by is None][-1] == rows[2].end_us  # the first content, current
    assert verify(store).ok


def test_a_response_that_arrived_since_supersedes_the_stored_ticket(store, tmp_path):
    load_fixtures(store)
    folder = copy_of_fixtures(tmp_path)
    edit_line(folder / "data" / "tickets.csv", 9, "C-1001,T-107,P1,2026-10-30T16:40:00+01:00,,",
              "C-1001,T-107,P1,2026-10-30T16:40:00+01:00,2026-10-30T17:10:00+01:00,")
    report = load_folder(store, folder)
    assert (report.added["tickets"], report.corrected) == (1, {"tickets": 1})
    rows = _rows(store, "SELECT first_response_us IS NOT NULL, superseded_by FROM tickets WHERE ticket = 'T-107' "
                        "ORDER BY id")
    assert rows == [(False, report.load), (True, None)]
    assert store.known_tickets()["T-107"].first_response is not None
    assert verify(store).ok


def test_an_incident_stored_twice_under_one_key_before_keys_existed_is_set_right_by_loading_again(store, tmp_path):
    # What the defect left in stores written before keys: line 11's outage, shortened, stored beside it.
    load_fixtures(store)
    with store.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO incidents (row_key, contract_id, service, start_us, end_us, cause, source, load_id) "
            "SELECT 'legacy', contract_id, service, start_us, start_us + 60000000, cause, 'old', load_id "
            "FROM incidents WHERE source LIKE '%incidents.csv:11'"))
    assert len([r for r in current_incidents(store, "C-1002") if r.superseded_by is None]) == 5
    report = load_folder(store, copy_of_fixtures(tmp_path))
    assert (report.added["incidents"], report.corrected) == (0, {"incidents": 1})
    rows = current_incidents(store, "C-1002")
    assert [r.superseded_by for r in rows] == [None] * 4 + [report.load]  # the row the file holds stays


# --- bad input stays bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["load", "evaluate"])
def test_one_key_twice_in_one_file_with_other_content_is_bad_input(store_url, tmp_path, command):
    folder = copy_of_fixtures(tmp_path)
    path = folder / "data" / "incidents.csv"
    lines = path.read_text().splitlines()
    lines.append(lines[10].replace("2026-10-14T12:02:10+02:00", "2026-10-14T11:00:00+02:00"))  # line 29
    path.write_text("\n".join(lines) + "\n")
    arguments = ["--rules", str(ROOT / "rules"), "--contracts", str(folder / "contracts.yaml"),
                 "--data", str(folder / "data")]
    if command == "load":
        arguments += ["--db", store_url]
    else:
        arguments += ["--period", "2026-10"]
    result = CliRunner().invoke(app, [command, *arguments])
    assert result.exit_code == 2, result.output
    assert (f"{path}, line 29, field start: an incident of C-1002 compute with this start is already listed on "
            "line 11 with other content") in result.stderr
    assert "Traceback" not in result.output
    if command == "load":
        opened = Store(store_url)
        with opened.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
        opened.close()


def test_the_same_row_twice_in_one_file_is_one_incident(store, tmp_path):
    folder = copy_of_fixtures(tmp_path)
    path = folder / "data" / "incidents.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[10]]) + "\n")
    report = load_folder(store, folder)
    assert (report.read["incidents"], report.added["incidents"]) == (28, 27)


# --- the database keeps measurements as loaded ----------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE incidents SET end_us = end_us - 60000000",
    "DELETE FROM incidents",
    "UPDATE request_counts SET errors = 0",
    "DELETE FROM request_counts",
    "UPDATE loads SET entry_json = '{}'",
    "DELETE FROM loads",
])
def test_the_database_refuses_to_edit_measurements(store, statement):
    load_fixtures(store)
    with pytest.raises(Exception, match="refused"):
        with store.engine.begin() as connection:
            connection.execute(text(statement))


def test_the_database_lets_a_row_be_marked_superseded_once_and_nothing_else(store, tmp_path):
    load_fixtures(store)
    with pytest.raises(Exception, match="refused"):
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE incidents SET superseded_by = 7, end_us = 0 WHERE id = 1"))
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE incidents SET superseded_by = 7 WHERE id = 1"))
    with pytest.raises(Exception, match="refused"):
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE incidents SET superseded_by = NULL WHERE id = 1"))


# --- tampering with measurements is a finding ------------------------------------------------------------------

@pytest.fixture
def corrected(store, tmp_path):
    """The fixtures loaded and run, then C-1002's outage of 14 October corrected and October run again."""
    load_fixtures(store)
    run(store)
    folder = copy_of_fixtures(tmp_path)
    edit_line(folder / "data" / "incidents.csv", 11, "2026-10-14T12:02:10+02:00", "2026-10-14T04:02:10+02:00")
    load_folder(store, folder)
    run(store, as_of=LATER)
    assert verify(store).ok
    return store


def test_a_stored_incident_row_edited_is_caught(corrected):
    # C-1001's outage of line 2 made 10 minutes shorter, triggers dropped: the row names itself.
    [(row_id,)] = _rows(corrected, "SELECT id FROM incidents WHERE source LIKE '%incidents.csv:2' AND load_id = 1")
    tamper(corrected, f"UPDATE incidents SET end_us = end_us - 600000000 WHERE id = {row_id}")
    problem = broken(corrected)
    assert problem.startswith(f"incidents row {row_id} (C-1001 compute from ")
    assert "no longer matches its key: it was edited" in problem
    assert "the incidents rows load 1 added from incidents.csv (27 stored) no longer match the 27 it recorded" in problem


def test_a_stored_incident_row_edited_with_its_key_is_caught(corrected):
    # The insider also rewrites the row's key: the load's digest still names the table and the load.
    from engine.core.canonical import from_micros
    from engine.core.model import Incident
    from engine.core.schema import Cause
    from engine.store.loading import incident_key

    [(row_id, contract, service, start, end)] = _rows(corrected, "SELECT id, contract_id, service, start_us, end_us "
                                                                 "FROM incidents WHERE cause = 'outage' AND announced_us IS NULL "
                                                                 "AND impact IS NULL AND load_id = 1 ORDER BY id LIMIT 1")
    key = incident_key(contract, service, Incident(from_micros(start), from_micros(end - 600_000_000), Cause.outage,
                                                   None, 0))
    tamper(corrected, f"UPDATE incidents SET end_us = end_us - 600000000, row_key = '{key}' WHERE id = {row_id}")
    assert broken(corrected) == ("the incidents rows load 1 added from incidents.csv (27 stored) no longer match the 27 "
                                 "it recorded: a row was edited, added or removed")


def test_a_superseded_incident_made_current_again_is_caught(corrected):
    tamper(corrected, "UPDATE incidents SET superseded_by = NULL WHERE superseded_by IS NOT NULL")
    assert broken(corrected) == ("the incidents rows marked superseded by load 2 (0) are not the 1 it superseded: "
                                 "a mark was removed or added")


def test_an_incident_slipped_in_is_caught(corrected):
    tamper(corrected, "INSERT INTO incidents (row_key, contract_id, service, start_us, end_us, cause, source, load_id) "
                      "VALUES ('x', 'C-1001', 'compute', 1791000000000000, 1791003600000000, 'customer', 'x', 2)")
    assert "the incidents rows load 2 added from incidents.csv (2 stored) no longer match the 1 it recorded" \
        in broken(corrected)


def test_a_deleted_request_interval_is_caught(corrected):
    tamper(corrected, "DELETE FROM request_counts WHERE id = 5")
    assert broken(corrected) == ("the request_counts rows load 1 added from requests.csv (160 stored) no longer match "
                                 "the 161 it recorded: a row was edited, added or removed")


def test_an_invoice_edited_is_caught(corrected):
    # An invoice is a measurement of late payment: lowering what it says lowers the interest.
    tamper(corrected, "UPDATE invoices SET gross = '1.00' WHERE number = 'F-2026-0910'")
    assert broken(corrected) == ("the invoices rows load 1 added from invoices.csv (9 stored) no longer match the 9 "
                                 "it recorded: a row was edited, added or removed")


def test_a_payment_slipped_in_is_caught(corrected):
    tamper(corrected, "INSERT INTO payments (row_key, invoice_number, paid_on, amount, source, load_id) "
                      "VALUES ('y', 'F-2026-0910', '2026-10-02', '1866.90', 'x', 1)")
    # Its key is not its content's hash, so the row is named, beside what the load recorded.
    assert broken(corrected) == ("payments row 4 (F-2026-0910 2026-10-02) no longer matches its key: it was edited; "
                                 "the payments rows load 1 added from payments.csv (4 stored) no longer match the 3 "
                                 "it recorded: a row was edited, added or removed")


def test_a_load_cut_out_of_the_chain_is_caught(corrected):
    # The correcting load deleted and the next record re-linked over it would need its hash
    # rewritten; deleting the load alone leaves its rows vouched for by nothing.
    tamper(corrected, "DELETE FROM loads WHERE id = 2")
    problem = broken(corrected)
    assert "does not follow the record before it" in problem


def _rows(store: Store, query: str) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query)).all()]


# --- the property: whatever is corrected, the store ends where the files are -----------------------------------

def _instant(textual: str) -> datetime:
    return datetime.fromisoformat(textual)


@st.composite
def corrections(draw):
    """Edits to the fixtures' incidents (ends moved, causes changed) and request counts, in place."""
    incidents = draw(st.lists(st.tuples(st.integers(2, 28), st.integers(-600, 600), st.booleans()),
                              min_size=1, max_size=4, unique_by=lambda c: c[0]))
    requests = draw(st.lists(st.tuples(st.integers(2, 162), st.integers(0, 100)), max_size=4,
                             unique_by=lambda c: c[0]))
    return incidents, requests


def apply(folder: Path, changes) -> None:
    incidents, requests = changes
    path = folder / "data" / "incidents.csv"
    lines = path.read_text().splitlines()
    for number, minutes, recause in incidents:
        cells = lines[number - 1].split(",")
        start, end = _instant(cells[2]), _instant(cells[3])
        moved = max(end + timedelta(minutes=minutes), start + timedelta(minutes=1))
        cells[3] = moved.isoformat()
        if recause and cells[4] in ("", "outage", "customer"):
            cells[4] = "customer" if cells[4] in ("", "outage") else "outage"
        lines[number - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    path = folder / "data" / "requests.csv"
    lines = path.read_text().splitlines()
    for number, share in requests:
        cells = lines[number - 1].split(",")
        cells[4] = str(int(cells[3]) * share // 100)
        lines[number - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def given_back(store: Store, contract: str) -> Decimal:
    """The SLA credit the documents of a contract's October gave, read line by line: a credit note's
    credit lines are given; an adjustment's are on the next invoice, negative when given."""
    total = Decimal(0)
    for document in store.documents(contract=contract):
        if document.period != "2026-10":
            continue
        for line in store.document_lines(document.id):
            if line.kind in ("sla_credit", "cap", "sla_correction"):
                net = Decimal(line.net_amount)
                total += net if document.kind == "credit_note" else -net
    return total


def check_property(url: str, changes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = copy_of_fixtures(Path(scratch))
        store = Store(url)
        try:
            load_fixtures(store)
            run(store)
            before = (folder / "data" / "incidents.csv").read_text()
            apply(folder, changes)
            report = load_folder(store, folder)
            if (folder / "data" / "incidents.csv").read_text() != before:
                assert report.corrected.get("incidents"), changes
            run(store, as_of=LATER)
            expected = evaluated_from_files(folder)
            recorded = latest_recorded(store)
            assert recorded == expected
            for contract, evaluation in expected.items():
                owed = Decimal(evaluation["credit_total"]) if evaluation["credit_status"] == "issued" else Decimal(0)
                assert given_back(store, contract) == owed, contract
            assert verify(store).ok
        finally:
            store.close()


@settings(max_examples=6)
@given(corrections())
def test_corrected_files_leave_the_store_where_evaluate_is_sqlite(changes):
    with tempfile.TemporaryDirectory() as scratch:
        check_property(f"sqlite:///{scratch}/store.db", changes)


@pytest.mark.skipif(not postgres_base_url(), reason="set SLABILL_TEST_POSTGRES_URL to run the PostgreSQL variant")
@settings(max_examples=2)
@given(corrections())
def test_corrected_files_leave_the_store_where_evaluate_is_postgresql(changes):
    with postgres_schema(postgres_base_url()) as url:
        check_property(url, changes)

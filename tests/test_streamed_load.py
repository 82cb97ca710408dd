"""The streamed load: a book read and written a chunk at a time stores exactly what a load of
the whole book stores, and a row repeating one of an earlier chunk is refused as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.core.errors import InputError
from engine.jobs.load import load_files
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_files, rule_set_files
from engine.store import Store

from .conftest import ROOT, load_fixtures

TABLES = {
    "contracts": "id, current_sha256",
    "contract_versions": "contract_id, sha256, terms_json",
    "incidents": "row_key, contract_id, service, start_us, end_us, cause, announced_us, impact, source",
    "request_counts": "contract_id, service, interval_us, requests, errors, source",
    "invoices": "number, contract_id, issued, due, net, tax, gross, currency, period, source",
    "payments": "row_key, invoice_number, paid_on, amount, source",
    "tickets": "ticket, contract_id, priority, created_us, first_response_us, resolved_us, source",
    "ticket_pauses": "row_key, ticket, start_us, end_us, source",
}


def _rows(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as connection:
        return {table: [tuple(str(v) for v in row) for row in connection.execute(
                    text(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}, source"
                         if "source" in columns else f"SELECT {columns} FROM {table} ORDER BY 1, 2"))]
                for table, columns in TABLES.items()}


def _book(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "fixtures", tmp_path / "book", ignore=shutil.ignore_patterns("expected", "scenarios"))
    return tmp_path / "book"


def _streamed(store: Store, book: Path, chunk: int):
    return store.load_streamed(contracts=book / "contracts.yaml", data=book / "data",
                               rule_sets=load_rule_files(rule_set_files(ROOT / "rules")),
                               rates=load_rates(ROOT / "rules"), chunk=chunk)


def test_chunks_of_three_rows_store_what_the_whole_book_stores(store, tmp_path):
    book = _book(tmp_path)
    # The fixtures' data folder names its own paths in each row's source: load both from one place.
    whole = Store(f"sqlite:///{tmp_path / 'whole.db'}")
    load_fixtures(whole, book)
    report, index = _streamed(store, book, chunk=3)
    assert _rows(store) == _rows(whole)
    assert len(index) == 9
    assert report.read["incidents"] == 27 and report.added["incidents"] == 27
    assert report.read["request intervals"] == 161 and report.added["request intervals"] == 161
    assert report.read["contract terms"] == 9 and report.added["contract terms"] == 9
    whole.close()


def test_an_issuer_written_after_the_contracts_loads_the_same_book(store, tmp_path):
    book = _book(tmp_path)
    lines = (book / "contracts.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("issuer:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("contracts:"))
    moved = lines[:start] + lines[end:] + lines[start:end]
    (book / "contracts.yaml").write_text("".join(moved), encoding="utf-8")
    whole = Store(f"sqlite:///{tmp_path / 'whole.db'}")
    load_fixtures(whole, book)
    _streamed(store, book, chunk=4)
    assert _rows(store) == _rows(whole)
    whole.close()


REPEATS = {
    # file: (a row repeating the file's first data row, the field named, the message)
    "requests.csv": ("interval_start", "this interval is already counted on line 2"),
    "invoices.csv": ("number", "invoice F-2026-0910 is already listed on line 2"),
    "tickets.csv": ("ticket", "ticket T-100 is already listed on line 2"),
    "payments.csv": ("amount", "the same payment is already listed on line 2; write two payments of one day as one row"),
}


@pytest.mark.parametrize("name", sorted(REPEATS))
def test_a_row_repeating_one_of_an_earlier_chunk_is_refused_and_nothing_is_written(store, tmp_path, name):
    book = _book(tmp_path)
    path = book / "data" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(4, lines[1])  # the first row again, on line 5: in the second chunk of three rows
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    field, message = REPEATS[name]
    with pytest.raises(InputError) as raised:
        _streamed(store, book, chunk=3)
    assert str(raised.value) == f"{path}, line 5, field {field}: {message}."
    with store.engine.connect() as connection:
        assert {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in (*TABLES, "rule_sets", "issuers")} == dict.fromkeys((*TABLES, "rule_sets", "issuers"), 0)


@pytest.mark.parametrize("name", sorted(REPEATS))
def test_a_repeated_row_in_one_chunk_is_refused_by_slabill_load(store_url, tmp_path, name):
    book = _book(tmp_path)
    path = book / "data" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(4, lines[1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    field, message = REPEATS[name]
    with pytest.raises(InputError) as raised:
        load_files(store_url, book / "contracts.yaml", book / "data", ROOT / "rules")
    assert str(raised.value) == f"{path}, line 5, field {field}: {message}."


def test_a_row_repeating_one_of_an_earlier_chunk_is_found_in_small_chunks_too(store, tmp_path):
    book = _book(tmp_path)
    path = book / "data" / "requests.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append(lines[1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"line {len(lines)}, field interval_start: this interval is already "
                                         r"counted on line 2\."):
        _streamed(store, book, chunk=2)


def test_contracts_with_anchors_before_the_issuer_wait_for_it_and_load_the_same_book(store, tmp_path):
    book = _book(tmp_path)
    text = (book / "contracts.yaml").read_text(encoding="utf-8")
    text = text.replace("    currency: EUR\n", "    currency: &money EUR\n", 1)  # an anchor inside a contract
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("issuer:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("contracts:"))
    (book / "contracts.yaml").write_text("".join(lines[:start] + lines[end:] + lines[start:end]), encoding="utf-8")
    whole = Store(f"sqlite:///{tmp_path / 'whole.db'}")
    load_fixtures(whole, book)
    _streamed(store, book, chunk=5)
    assert _rows(store) == _rows(whole)
    whole.close()


def test_an_incident_key_given_other_content_in_a_later_chunk_is_refused_and_the_same_row_is_one_row(store, tmp_path):
    # (contract, service, start) is an incident's key when the file gives no id (issue 17):
    # within one file two rows under one key must say the same, also chunks apart.
    book = _book(tmp_path)
    path = book / "data" / "incidents.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    assert first[:4] == ["C-1001", "compute", "2026-09-30T23:10:00+02:00", "2026-10-01T00:25:00+02:00"]
    path.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")  # the same row again, chunks later
    report, _ = _streamed(store, book, chunk=2)
    assert report.read["incidents"] == len(lines) and report.added["incidents"] == len(lines) - 1
    store.close()

    other = tmp_path / "other"
    other.mkdir()
    book = _book(other)
    path = book / "data" / "incidents.csv"
    later = ",".join(first[:3] + ["2026-10-01T00:05:00+02:00"] + first[4:])  # the same start, an earlier end
    path.write_text("\n".join(lines + [later]) + "\n", encoding="utf-8")
    fresh = Store(f"sqlite:///{other / 'store.db'}")
    with pytest.raises(InputError) as raised:
        _streamed(fresh, book, chunk=2)
    assert str(raised.value) == (
        f"{path}, line {len(lines) + 1}, field start: an incident of C-1001 compute with this start is already "
        "listed on line 2 with other content; an incident's key (contract, service and id, else start) names one "
        "incident.")
    assert fresh.chain().length == 0
    fresh.close()


def test_a_load_leaves_postgresql_statistics_that_count_its_rows(tmp_path):
    """Without them the planner took the tables for empty and scanned all the incidents for each
    batch of the next run; a load ends by counting what it wrote."""
    from .conftest import POSTGRES_VARIABLE, postgres_base_url, postgres_schema

    base = postgres_base_url()
    if not base:
        pytest.skip(f"set {POSTGRES_VARIABLE} to run the store tests on PostgreSQL too")
    with postgres_schema(base) as url:
        store = Store(url)
        try:
            _streamed(store, _book(tmp_path), chunk=10_000)
            with store.engine.connect() as connection:
                counted = dict(connection.execute(text(
                    "SELECT relname, reltuples FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                    "AND relname IN ('contracts', 'incidents', 'request_counts')")).all())
        finally:
            store.close()
    # the fixture book: 9 contracts, 27 incidents, 161 request intervals (never analyzed: -1)
    assert counted == {"contracts": 9, "incidents": 27, "request_counts": 161}

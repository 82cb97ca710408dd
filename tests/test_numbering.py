"""Gap-free document numbers, on real processes: a crash, two concurrent runs, a rerun.

docs/DESIGN.md promises that numbers are allocated inside the issuing transaction, so a
crash burns no number and two concurrent runs never share one.  These tests check it
the hard way.  A generated book (one outage per contract under ``standard-hosting``,
so every contract earns one credit note) is loaded into a store; the monthly run then
goes through ``python -m tests.test_numbering`` in child processes, which kill
themselves with SIGKILL inside a ledger transaction, or run side by side on one
database.  Afterwards the store must hold one evaluation and one credit note per
contract, numbers 1..N of the issuer's year each exactly once, a sequence row that
says N, and an unbroken audit chain as long as the evaluations.

Each test runs on a SQLite file and, when ``SLABILL_TEST_POSTGRES_URL`` is set, on a
fresh PostgreSQL schema (the ``store_url`` fixture).  No assertion is about how long
anything takes; waits on children are bounded so that a deadlock fails instead of
hanging.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from engine.audit.records import GENESIS
from engine.core.canonical import sha256_text
from engine.core.period import Period
from engine.jobs.run import monthly_run
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rulesets import load_rule_files, rule_set_files
from engine.store import Ledger, Store
from engine.store.tables import ChainHeadRow, EvaluationRow, LoadRow, NumberSequenceRow, RunRow

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = Period(2026, 10)
ISSUED = date(2026, 11, 3)
PREFIX = "AV"
BATCH = 10
CHILD_TIMEOUT = 120
"""seconds a child may take before it is killed and the test fails (a hang, not a timing)"""


def clock() -> datetime:
    return datetime(2026, 11, 3, 6, 0, tzinfo=timezone.utc)


# --- a generated book -------------------------------------------------------------------------------

HOMES = (("fr_FR", "FR"), ("en_GB", "GB"), ("de_DE", "DE"))


def write_book(folder: Path, contracts: int) -> Path:
    """A book of ``contracts`` contracts, each with one October outage long enough for a credit.

    Contract ``N-0007`` pays 1007.00 EUR a month for compute and was down for
    60 + (7 * 37 % 240) minutes on 2026-10-08: below the 99.9 % target, so its credit
    note is 10 % of its fee.  Everything follows from the index: the same call writes
    the same bytes.
    """
    (folder / "data").mkdir(parents=True, exist_ok=True)
    lines = ["issuer:", "  name: Numérotation Test SAS", "  vat_id: FR00123456789", "  country: FR",
             f"  credit_note_prefix: {PREFIX}", "contracts:"]
    incidents = ["contract,service,start,end,cause,announced_at"]
    for index in range(1, contracts + 1):
        locale, country = HOMES[index % len(HOMES)]
        contract = f"N-{index:04d}"
        lines += [f"  - id: {contract}",
                  f"    customer: {{id: CUST-{index:04d}, name: Customer {index}, locale: {locale}, country: {country}}}",
                  "    currency: EUR", "    timezone: Europe/Paris", "    ruleset: standard-hosting",
                  "    start: 2025-01-01", '    vat_rate: "20"',
                  f'    services: [{{id: compute, monthly_fee: "{1000 + index}.00"}}]']
        start = datetime(2026, 10, 1 + index % 28, 8, 0, tzinfo=timezone.utc)
        end = start + timedelta(minutes=60 + index * 37 % 240)
        incidents.append(f"{contract},compute,{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ},outage,")
    (folder / "contracts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "data" / "incidents.csv").write_text("\n".join(incidents) + "\n", encoding="utf-8")
    return folder


def load_generated(store: Store, folder: Path, contracts: int) -> list[str]:
    """Generate a book, load it with the shipped rule sets; returns the contract ids."""
    write_book(folder, contracts)
    book = load_book(folder / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(ROOT / "rules")),
               measurements=load_measurements(folder / "data", book))
    return [c.id for c in book.contracts]


# --- what must hold afterwards ------------------------------------------------------------------------

def sequence_of(number: str) -> int:
    """The running number inside a printed document number.

    >>> sequence_of("AV-2026-000042")
    42
    """
    prefix, year, sequence = number.split("-")
    return int(sequence)


def chain_problems(store: Store) -> list[str]:
    """Walk every evaluation record in the order written (and the loads of measurements sealed
    between them, entries of the same chain); say where the chain breaks."""
    problems = []
    with store.reading() as session:
        rows = session.exec(select(EvaluationRow).order_by(EvaluationRow.id)).all()
        head = session.exec(select(ChainHeadRow).where(ChainHeadRow.id == 1)).one()
        loads = {load.previous_sha256: load for load in session.exec(select(LoadRow))}
    previous = GENESIS
    entries = len(loads)
    for row in rows:
        while previous != row.previous_sha256 and previous in loads:
            previous = loads.pop(previous).entry_sha256
        if sha256_text(row.record_json) != row.record_sha256:
            problems.append(f"record {row.id} does not hash to its hash")
        if row.previous_sha256 != previous or json.loads(row.record_json)["previous"] != previous:
            problems.append(f"record {row.id} does not follow the record before it")
        previous = row.record_sha256
    while previous in loads:
        previous = loads.pop(previous).entry_sha256
    if loads:
        problems.append(f"{len(loads)} load(s) are not on the chain")
    if head.length != len(rows) + entries:
        problems.append(f"the chain head says {head.length} entries, the store holds {len(rows)} records and "
                        f"{entries} loads")
    if head.last_sha256 != previous:
        problems.append("the chain head is not the last record")
    return problems


def assert_numbered_once(store: Store, contracts: list[str]) -> None:
    """One evaluation (revision 0) and one credit note per contract; numbers 1..N, once each."""
    evaluations = store.evaluations(period=str(OCTOBER))
    assert sorted(e.contract_id for e in evaluations) == sorted(contracts), "one evaluation per contract"
    assert {e.revision for e in evaluations} == {0}
    documents = store.documents(period=str(OCTOBER))
    assert {d.kind for d in documents} == {"credit_note"}
    assert sorted(d.contract_id for d in documents) == sorted(contracts), "one credit note per contract"
    numbers = [d.number for d in documents]
    duplicates = [n for n, count in Counter(numbers).items() if count > 1]
    assert not duplicates, f"numbers issued twice: {duplicates}"
    assert all(n.startswith(f"{PREFIX}-{ISSUED.year}-") for n in numbers)
    assert sorted(sequence_of(n) for n in numbers) == list(range(1, len(contracts) + 1)), "numbers 1..N, no gap"
    # Each credit note belongs to its contract's evaluation, and that record lists it.
    by_id = {e.id: e for e in evaluations}
    for document in documents:
        evaluation = by_id[document.evaluation_id]
        assert evaluation.contract_id == document.contract_id
        listed = [d["number"] for d in json.loads(evaluation.record_json)["documents"]]
        assert listed == [document.number]
    with store.reading() as session:
        sequences = session.exec(select(NumberSequenceRow)).all()
    assert [(s.kind, s.year, s.last_number) for s in sequences] == [("credit_note", ISSUED.year, len(contracts))]
    assert chain_problems(store) == []
    with store.reading() as session:
        assert session.exec(select(func.count()).select_from(EvaluationRow)).one() == len(contracts)


# --- the child process ---------------------------------------------------------------------------------

def start_child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.test_numbering", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(child: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = child.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"the child run did not end within {CHILD_TIMEOUT} s (a deadlock?)\n{err[-3000:]}")
    return child.returncode, out, err


def _die_after(method_name: str, calls: int) -> None:
    """Patch ``Ledger.<method_name>`` so that its ``calls``-th call ends the process with SIGKILL."""
    original = getattr(Ledger, method_name)
    seen = [0]

    def patched(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        seen[0] += 1
        if seen[0] == calls:
            # Inside the ledger transaction, rows written, nothing committed: no
            # rollback, no cleanup, no goodbye to the database.
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(Ledger, method_name, patched)


def child_main(argv: list[str]) -> None:
    """``crash URL METHOD CALLS``: run October, die at the CALLS-th ``Ledger.METHOD``.

    ``run URL NAME SYNC PAUSE WORKERS``: mark SYNC/ready-NAME, wait for SYNC/go, run
    October with WORKERS worker processes, pausing PAUSE seconds after each batch, print
    what it did as JSON.
    """
    mode, url = argv[0], argv[1]
    store = Store(url)
    if mode == "crash":
        _die_after(argv[2], int(argv[3]))
        monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH)
        sys.exit("the run ended without reaching the crash point")
    name, sync, pause, workers = argv[2], Path(argv[3]), float(argv[4]), int(argv[5])
    (sync / f"ready-{name}").touch()
    deadline = time.monotonic() + CHILD_TIMEOUT
    while not (sync / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("no go")
        time.sleep(0.005)
    batches: list[float] = []

    def progress(done: int, total: int) -> None:
        batches.append(time.monotonic())
        time.sleep(pause)  # outside the ledger transaction: let the other run take the lock

    # CLOCK_MONOTONIC is one clock for every process on the machine, so the parent can
    # compare the two children's moments (for ordering only, never for durations).
    started = time.monotonic()
    summary = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH, progress=progress,
                          workers=workers)
    finished = time.monotonic()
    store.close()
    print(json.dumps({"summary": summary.as_json(), "numbers": summary.numbers, "started": started,
                      "finished": finished, "batches": batches}))


# --- 1. a crash inside the issuing transaction burns no number -------------------------------------------

CONTRACTS = 60


@pytest.mark.parametrize("method, calls", [
    pytest.param("append", 2 * BATCH + 5, id="mid-batch"),  # 5 records of batch 3 written, then killed
    pytest.param("flush_numbers", 3, id="before-commit"),   # batch 3 fully written, sequence moved, then killed
])
def test_a_run_killed_inside_the_ledger_leaves_no_gap(store, store_url, tmp_path, method, calls):
    contracts = load_generated(store, tmp_path / "book", CONTRACTS)

    code, out, err = finish_child(start_child("crash", store_url, method, str(calls)))
    assert code == -signal.SIGKILL, f"the child should have been killed, it exited {code}\n{err[-3000:]}"

    # What the two committed batches wrote is there; the killed batch left nothing.
    documents = store.documents(period=str(OCTOBER))
    assert sorted(sequence_of(d.number) for d in documents) == list(range(1, 2 * BATCH + 1))
    assert len(store.evaluations(period=str(OCTOBER))) == 2 * BATCH
    with store.reading() as session:
        assert session.exec(select(NumberSequenceRow.last_number)).one() == 2 * BATCH
        (crashed,) = session.exec(select(RunRow)).all()
    assert crashed.status == "running" and crashed.finished_at is None
    assert chain_problems(store) == []

    # Running the period again completes it, from number 21 on, and finds the killed run's
    # process gone: that run is marked interrupted, never left running for ever.
    summary = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH)
    assert (summary.recorded, summary.unchanged) == (CONTRACTS - 2 * BATCH, 2 * BATCH)
    assert sorted(map(sequence_of, summary.numbers)) == list(range(2 * BATCH + 1, CONTRACTS + 1))
    assert_numbered_once(store, contracts)
    assert summary.interrupted == [crashed.id]
    assert [(run.id, run.status) for run in store.runs()] == [(crashed.id, "interrupted"), (summary.run_id, "done")]
    assert json.loads(store.runs()[0].summary_json)["interrupted"]["found_by_run"] == summary.run_id


# --- 2. two runs at once on one database ------------------------------------------------------------------

CONCURRENT = 90


@pytest.mark.parametrize("workers", ["1", "2"])
def test_two_concurrent_runs_share_no_number(store, store_url, tmp_path, workers):
    """With worker processes, a run's workers work contracts out ahead of its ledger, so
    the ledger finds contracts the other run recorded meanwhile and works them out again."""
    contracts = load_generated(store, tmp_path / "book", CONCURRENT)
    sync = tmp_path / "sync"
    sync.mkdir()
    children = {name: start_child("run", store_url, name, str(sync), "0.02", workers) for name in ("a", "b")}
    deadline = time.monotonic() + CHILD_TIMEOUT
    while not all((sync / f"ready-{name}").exists() for name in children):
        if time.monotonic() > deadline or any(c.poll() is not None for c in children.values()):
            for child in children.values():
                child.kill()
            pytest.fail("the children did not both get ready: "
                        + " | ".join(c.communicate()[1][-2000:] for c in children.values()))
        time.sleep(0.01)
    (sync / "go").touch()

    try:
        ended = {name: finish_child(child) for name, child in children.items()}
    finally:
        for child in children.values():  # if one hung, the other must not outlive the test
            if child.poll() is None:
                child.kill()
                child.wait()
    for name, (code, out, err) in ended.items():
        assert code == 0, f"run {name} failed with exit code {code}\n{err[-3000:]}"
    a, b = (json.loads(ended[name][1].strip().splitlines()[-1]) for name in ("a", "b"))

    # The two runs really ran at the same time: each started before the other finished.
    assert a["started"] < b["finished"] and b["started"] < a["finished"]
    # Between them they recorded each contract once; what one recorded the other found unchanged.
    assert a["summary"]["recorded"] + b["summary"]["recorded"] == CONCURRENT
    assert a["summary"]["unchanged"] + b["summary"]["unchanged"] == CONCURRENT
    assert not set(a["numbers"]) & set(b["numbers"])
    assert sorted(a["numbers"] + b["numbers"]) == sorted(d.number for d in store.documents(period=str(OCTOBER)))
    assert_numbered_once(store, contracts)
    with store.reading() as session:
        assert [r.status for r in session.exec(select(RunRow))] == ["done", "done"]


# --- 3. a rerun issues and records nothing ---------------------------------------------------------------------

def _snapshot(store: Store) -> dict:
    with store.engine.connect() as connection:
        counts = {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                  for table in ("evaluations", "documents", "document_lines", "number_sequences", "runs")}
        sequences = connection.execute(text("SELECT kind, year, last_number FROM number_sequences")).all()
        chain = connection.execute(text("SELECT last_sha256, length FROM audit_chain")).all()
    return {"counts": counts, "sequences": [tuple(s) for s in sequences], "chain": [tuple(c) for c in chain],
            "records": [(e.id, e.record_sha256) for e in store.evaluations()],
            "documents": [(d.id, d.number, d.content_sha256) for d in store.documents()]}


def test_running_a_period_twice_issues_nothing_the_second_time(store, tmp_path):
    contracts = load_generated(store, tmp_path / "book", 25)  # batches of 10, 10 and 5
    first = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH)
    assert first.recorded == 25 and len(first.numbers) == 25
    before = _snapshot(store)

    second = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH)
    assert (second.recorded, second.unchanged, second.numbers, dict(second.documents)) == (0, 25, [], {})
    after = _snapshot(store)
    # The only new row is the second run's own row.
    assert after["counts"] == {**before["counts"], "runs": before["counts"]["runs"] + 1}
    assert {k: v for k, v in after.items() if k != "counts"} == {k: v for k, v in before.items() if k != "counts"}
    assert store.evaluations(run_id=second.run_id) == [] and store.documents(run_id=second.run_id) == []
    assert_numbered_once(store, contracts)


if __name__ == "__main__":
    child_main(sys.argv[1:])



def _counted_records(store: Store) -> float:
    """How many records PostgreSQL's planner believes there are (-1: never counted)."""
    with store.engine.connect() as connection:
        return connection.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'evaluations'::regclass")
                                  ).scalar_one()


@pytest.mark.parametrize("step, counted", [(1000, -1), (10, 10)])
def test_a_run_on_postgresql_tells_the_planner_how_many_records_it_added(store, tmp_path, monkeypatch, step, counted):
    """With autovacuum off (as on this machine) a run's tables kept no statistics, and the planner
    read every record of the period for each batch's latest records: O(n^2) over a run.  The
    ledger analyses them once the chain has doubled since they were last counted, and by a step."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite's planner needs no statistics to probe these indexes")
    from engine.store import ledger

    monkeypatch.setattr(ledger, "STATISTICS_STEP", step)
    load_generated(store, tmp_path / "book", 25)
    monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=BATCH)
    # A step of 1,000: 25 records never reach it.  A step of 10: after the first batch the chain holds
    # the load and 10 records (11 >= 2 x 0 + 10), analysed then; after the next two, 21 and 26 < 2 x 10 + 10.
    assert _counted_records(store) == counted

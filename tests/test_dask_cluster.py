"""The monthly run on a Dask cluster records and issues exactly what a local run does.

A real ``distributed.LocalCluster`` on loopback, with two worker *processes* (one thread
each, no dashboard), shared by the module's tests; the store is PostgreSQL, which the
workers open for themselves from the URL the job carries.  These tests are skipped unless
SLABILL_TEST_POSTGRES_URL is set.  The tests of refusals, of a cluster without workers and
of a scheduler that goes away use a scheduler in this process and a SQLite file, and always run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.audit.verify import verify
from engine.cli import app
from engine.core.errors import InputError
from engine.core.period import Period
from engine.distributed import Cluster
from engine.jobs.run import WorkerDied, monthly_run
from engine.store import Store
from tests.conftest import load_fixtures, postgres_base_url, postgres_schema

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = Period(2026, 10)
ISSUED = date(2026, 11, 2)


LOOPBACK = dict(host="127.0.0.1", protocol="tcp", dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, worker_dashboard_address="127.0.0.1:0")
"""a cluster that listens on loopback only, on ports the system picks, and serves no dashboard
(the scheduler's and workers' HTTP servers would otherwise listen on every interface)"""


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def contents(store: Store):
    """What a run leaves: each record (contract, revision, hash, total) in chain order, each
    document (number, content, HTML and e-invoice hashes, total), and the chain's head."""
    records = [(e.contract_id, e.revision, e.record_sha256, e.credit_total) for e in store.evaluations()]
    documents = sorted((d.number, d.content_sha256, d.html_sha256, d.xml_sha256, d.gross_total)
                       for d in store.documents())
    return records, documents, records[-1][2] if records else None


def gap_free(store: Store) -> bool:
    numbers = [d.number for d in store.documents()]
    for prefix in {n.rsplit("-", 1)[0] for n in numbers}:
        sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(prefix + "-"))
        if sequence != list(range(1, len(sequence) + 1)):
            return False
    return True


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The fixture book's October run in one local process, into a SQLite file."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'one.db'}")
    load_fixtures(store)
    summary = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, workers=1)
    assert (summary.recorded, sum(summary.documents.values())) == (8, 8)
    yield contents(store), summary
    store.close()


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster of two worker processes on loopback: its scheduler's address."""
    if not postgres_base_url():
        pytest.skip("set SLABILL_TEST_POSTGRES_URL: Dask workers read the shared PostgreSQL store")
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, **LOOPBACK)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def postgres_url():
    """A fresh schema on the PostgreSQL server of the tests (as tests/conftest.py's ``store_url``)."""
    with postgres_schema(postgres_base_url()) as url:
        yield url


def test_a_run_on_two_dask_workers_records_and_issues_what_a_local_run_does(scheduler, postgres_url, reference):
    store = Store(postgres_url)
    load_fixtures(store)
    with Cluster.connect(scheduler, store.url) as cluster:
        assert cluster.threads() == 2
        # One contract a batch: eight batches spread over both workers, recorded in batch order.
        summary = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, cluster=cluster, batch_size=1)
        assert summary.as_json() | {"run": 1} == reference[1].as_json() | {"run": 1}
        assert contents(store) == reference[0]
        assert verify(store).ok and gap_free(store)
        # Again on the cluster: nothing new, and the period still described.
        again = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, cluster=cluster, batch_size=3)
    assert (again.unchanged, again.recorded, sum(again.documents.values())) == (8, 0, 0)
    assert (again.breaches, again.capped) == (summary.breaches, summary.capped)
    assert contents(store) == reference[0]
    store.close()


def test_slabill_run_scheduler_from_the_command_line(scheduler, postgres_url, reference):
    """``slabill run --scheduler`` in a process of its own; then, in this process, the scheduler
    from SLABILL_DASK_SCHEDULER, which finds nothing new to issue."""
    store = Store(postgres_url)
    load_fixtures(store)
    arguments = ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", postgres_url, "--format", "json"]
    environment = {k: v for k, v in os.environ.items() if k != "SLABILL_DASK_SCHEDULER"}
    first = subprocess.run([sys.executable, "-m", "engine.cli", *arguments, "--scheduler", scheduler],
                           capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)
    assert (first.returncode, first.stderr) == (0, "")
    assert json.loads(first.stdout)["numbers"] == reference[1].numbers
    assert contents(store) == reference[0]
    second = CliRunner().invoke(app, arguments, env={"SLABILL_DASK_SCHEDULER": scheduler})
    assert (second.exit_code, second.stderr) == (0, "")
    assert (json.loads(second.stdout)["unchanged"], json.loads(second.stdout)["numbers"]) == (8, [])
    store.close()


def _holding(client, prefix: str) -> dict[str, list]:
    """Which workers hold one of this run's batches now, working it or keeping its result."""
    held: dict[str, list] = {}
    for listing in (client.processing(), client.has_what()):
        for worker, keys in listing.items():
            ours = [key for key in keys if str(key).startswith(prefix)]
            if ours:
                held.setdefault(worker, []).extend(ours)
    return held


def test_a_dask_worker_killed_mid_run_has_its_batches_worked_again_and_the_run_finishes(scheduler, postgres_url,
                                                                                          reference):
    """SIGKILL of a worker process that holds a batch, once the first batch is recorded: Dask works
    the lost batch again elsewhere, and the run ends with the very records and numbers of a local run."""
    store = Store(postgres_url)
    load_fixtures(store)
    killed: list = []
    with Cluster.connect(scheduler, store.url) as cluster:
        client = cluster.client

        def kill_a_worker_holding_a_batch(done, total):
            if killed:
                return
            for _ in range(300):  # until the scheduler has handed a batch to a worker (at once, in practice)
                held = _holding(client, "slabill-RunJob-")
                if held:
                    break
                time.sleep(0.05)
            assert held, "no worker held a batch of the run"
            worker, keys = next(iter(held.items()))
            pid = client.run(os.getpid, workers=[worker])[worker]
            os.kill(pid, signal.SIGKILL)
            killed.append((worker, pid, keys))

        summary = monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, cluster=cluster, batch_size=1,
                              progress=kill_a_worker_holding_a_batch)
    assert killed and killed[0][2]
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0][1], 0)
    assert (summary.recorded, summary.status) == (8, "done")
    assert contents(store) == reference[0]
    assert verify(store).ok and gap_free(store)
    store.close()


# --- without PostgreSQL: refusals, and clusters that cannot finish ---------------------------------------

def test_a_sqlite_store_is_refused_with_a_scheduler_elsewhere(tmp_path):
    """A SQLite file cannot be read by workers on other machines: refused before anything is
    asked of the scheduler (whose name is never looked up), exit code 2, one sentence."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    store.close()
    result = CliRunner().invoke(app, ["run", "--period", "2026-10", "--db", f"sqlite:///{tmp_path / 'store.db'}",
                                      "--scheduler", "tcp://dask-scheduler.invalid:8786"])
    assert result.exit_code == 2
    assert "workers on other machines cannot read" in result.stderr and "--scheduler" in result.stderr
    assert "Traceback" not in result.output
    assert Store(f"sqlite:///{tmp_path / 'store.db'}").runs() == []
    with pytest.raises(InputError, match="in memory cannot be shared"):
        Cluster.connect("tcp://127.0.0.1:8786", "sqlite://")


def test_workers_and_a_scheduler_together_are_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    result = CliRunner().invoke(app, ["run", "--period", "2026-10", "--db", store.url, "--workers", "2"],
                                env={"SLABILL_DASK_SCHEDULER": "tcp://127.0.0.1:8786"})
    assert result.exit_code == 2 and "--workers" in result.stderr
    assert store.runs() == []


def test_a_scheduler_that_does_not_answer_is_named(tmp_path):
    import socket

    with socket.socket() as free:  # a loopback port nothing listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    with pytest.raises(InputError, match=f"cannot reach the Dask scheduler at {address}"):
        Cluster.connect(address, f"sqlite:///{tmp_path / 'store.db'}", timeout=0.5)


@pytest.fixture
def in_process_scheduler():
    """A scheduler in this process, on loopback, with no worker (a test adds what it needs)."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=0, processes=False, **LOOPBACK)
    yield cluster
    cluster.close()


def test_a_cluster_without_workers_stops_the_run_with_nothing_recorded(tmp_path, in_process_scheduler):
    """No worker connected for the run's patience: the run stops (exit code 3 on the command
    line), its row says so, nothing is recorded, and a local run then finishes the period."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    with Cluster.connect(in_process_scheduler.scheduler_address, store.url, patience=0.2) as cluster:
        with pytest.raises(WorkerDied, match="no Dask worker has been connected"):
            monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, cluster=cluster)
    assert [run.status for run in store.runs()] == ["stopped"]
    assert store.evaluations() == [] and store.documents() == []
    assert monthly_run(store, OCTOBER, as_of=ISSUED, now=clock).recorded == 8
    assert gap_free(store) and verify(store).ok


def test_a_scheduler_that_goes_away_mid_run_stops_it_and_the_next_run_finishes(tmp_path, in_process_scheduler,
                                                                                reference):
    """The scheduler closes once the first batch is recorded: the run stops with the batches
    recorded before, and a second run finishes the period with the numbers of a local run."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    load_fixtures(store)
    in_process_scheduler.scale(1)
    in_process_scheduler.wait_for_workers(1)

    def close_the_scheduler(done, total):
        in_process_scheduler.close()

    with Cluster.connect(in_process_scheduler.scheduler_address, store.url) as cluster:
        with pytest.raises(WorkerDied, match="Dask"):
            monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, cluster=cluster, batch_size=2,
                        progress=close_the_scheduler)
    assert [run.status for run in store.runs()] == ["stopped"]
    assert len(store.evaluations()) == 2
    monthly_run(store, OCTOBER, as_of=ISSUED, now=clock, batch_size=2)
    records, documents, head = contents(store)
    assert documents == reference[0][1]  # same documents, same numbers
    assert [r[0] for r in records] == [r[0] for r in reference[0][0]]
    assert gap_free(store) and verify(store).ok


def test_a_batch_whose_workers_all_died_is_named_in_the_sentence():
    """Dask gives up on a batch after ``allowed-failures`` worker deaths (KilledWorker): the run's
    sentence says which batch and how many workers died."""
    from distributed.scheduler import KilledWorker

    from engine.distributed import _why

    assert _why(KilledWorker("slabill-RunJob-0123-4", None, 3), "tcp://127.0.0.1:8786") == (
        "every Dask worker that took batch slabill-RunJob-0123-4 died (4 of them); see the workers' logs")
    assert _why(TimeoutError(), "tcp://127.0.0.1:8786") == (
        "the connection to the Dask scheduler at tcp://127.0.0.1:8786 was lost")


class Halves:
    """A job of plain numbers (no store): halves each even number, refuses an odd one."""

    def __call__(self, batch: list[int], store) -> list[int]:
        for number in batch:
            if number % 2:
                raise ValueError(f"{number} is odd")
        return [number // 2 for number in batch]


def test_batches_come_back_in_order_and_a_jobs_own_error_reaches_the_caller_as_itself(in_process_scheduler):
    """Results in the batches' order; a job's exception is the job's (a bug, not a lost cluster):
    after the batches before it, or, with fail_fast, as soon as it is known."""
    in_process_scheduler.scale(1)
    in_process_scheduler.wait_for_workers(1)
    with Cluster.connect(in_process_scheduler.scheduler_address) as cluster:
        assert list(cluster.in_order(Halves(), [[2, 4], [6], [8, 10, 12], [14]])) == [[1, 2], [3], [4, 5, 6], [7]]
        results = cluster.in_order(Halves(), [[2], [4], [5], [6]])
        assert [next(results), next(results)] == [[1], [2]]
        with pytest.raises(ValueError, match="5 is odd"):
            next(results)
        with pytest.raises(ValueError, match="5 is odd"):
            list(cluster.in_order(Halves(), [[2], [4], [5], [6]], fail_fast=True))

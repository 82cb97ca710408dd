"""The ceiling of a scaled-out run: the coordinator's sealing and writing throughput, and the
evaluation stage's speed-up on a Dask ``LocalCluster`` of 1 then 2 workers (see bench/README.md).

However many Dask workers evaluate and render, one process (the coordinator) numbers the
documents, seals each record onto the chain and writes one transaction per batch.  Its
throughput alone is the run's ceiling.  This benchmark measures it without any evaluation:

1. a generated book (bench/generate.py) is loaded with ``slabill load`` into a fresh store;
2. its contracts are worked out once, in this process (``RunJob``: evaluated, records encoded,
   documents planned, rendered and encoded), not timed: these are the workers' results;
3. the results are replicated (each copy under its own contract id, ``C-00001~3``) up to
   ``--records`` and fed to the coordinator's part of ``monthly_run``, batch after batch:
   the latest evaluations read in the ledger, numbers allocated, records sealed, records and
   documents written, one transaction per batch.  Only this is timed: records per second.

With ``--cluster``, the evaluation stage alone (step 2, batch after batch, results taken back
in order and dropped) is timed on the same store through ``engine.distributed.Cluster`` with a
``LocalCluster`` of 1 worker process, then 2 (one thread each, loopback, no dashboard), after
each worker was warmed up (imports and the rule engine loaded), and in this one process
without Dask for comparison.  The speed-up is the 1-worker time over the 2-worker time.

    .venv/bin/python bench/coordinator_bench.py                      # 5,000 contracts, 20,000 records
    .venv/bin/python bench/coordinator_bench.py --records 100000 --store postgresql
    .venv/bin/python bench/coordinator_bench.py --cluster --store postgresql

Prints the figures and writes bench/results/coordinator.json.  No test depends on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from evaluate_bench import describe_machine, ensure_data, machine_lines, slabill_command  # noqa: E402
from run_bench import POSTGRES_URL, PostgresStores, SqliteStores, postgres_answers  # noqa: E402

AS_OF = date(2026, 11, 2)
BATCH = 500


def now() -> datetime:
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def load(folder: Path, url: str) -> None:
    subprocess.run([slabill_command(), "load", "--rules", str(folder / "rules"), "--contracts",
                    str(folder / "contracts.yaml"), "--data", str(folder / "data"), "--db", url],
                   check=True, stdout=subprocess.DEVNULL)


def planned_run(store, period):
    """The run's job and its contracts, planned as ``monthly_run`` plans them (first evaluations)."""
    from engine.jobs.run import Planned, RunJob, margin_for, plan_contracts

    plan = plan_contracts(store, store.rule_book(), period)
    chosen = plan.chosen
    rule_sets = {rule_set.sha256: rule_set for rule_set in chosen.values()}
    job = RunJob(period, AS_OF, margin_for(rule_sets.values()), rule_sets, store.rate_book())
    planned = [Planned(contract_id, chosen[contract_id].sha256, None) for contract_id in plan.ids
               if contract_id in chosen]
    return job, planned


def batches_of(values: list, size: int) -> list[list]:
    return [values[start:start + size] for start in range(0, len(values), size)]


def worked_out(store, period) -> list:
    """What the workers would hand back: every contract of the book worked out, in this process."""
    from engine.jobs.run import Held

    job, planned = planned_run(store, period)
    items = []
    for batch in batches_of(planned, BATCH):
        items += [item for item in job(batch, store) if not isinstance(item, Held)]
    return items


def replicated(items: list, records: int) -> list:
    """``records`` results: the book's, copy after copy, each copy under contract ids of its own."""
    copies = []
    for index in range(records):
        item = items[index % len(items)]
        copies.append(dataclasses.replace(item, contract_id=f"{item.contract_id}~{index // len(items)}"))
    return copies


def _cpu_seconds() -> float:
    """This process's CPU time (user and system), on a worker or here."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def coordinate(store, period, items: list, batch: int) -> dict:
    """The coordinator's part of ``monthly_run`` (its loop over the workers' results), timed."""
    from engine.jobs.run import RunSummary, _count_evaluation, _record
    from engine.processes import this_process

    issuers = store.issuers()
    checked: set = set()
    store.check_sequences({item.issuer_id for item in items}, AS_OF.year, checked)
    run_id = store.start_run(period, AS_OF, now(), this_process())
    summary = RunSummary(period=str(period), run_id=run_id)
    batch_seconds = []
    load_average = os.getloadavg()[0]
    started, cpu = time.perf_counter(), _cpu_seconds()
    for chunk in batches_of(items, batch):
        began = time.perf_counter()
        with store.ledger(checked) as ledger:
            current = ledger.latest([item.contract_id for item in chunk], period)
            for item in chunk:
                assert current.get(item.contract_id) is None  # first evaluations, as planned
                _count_evaluation(summary, item)
                if not item.unchanged:
                    _record(ledger, run_id, item, None, AS_OF, summary, issuers[item.issuer_id])
        batch_seconds.append(time.perf_counter() - began)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    store.finish_run(run_id, summary.stored(), now(), summary.status)
    documents = sum(summary.documents.values())
    batch_seconds.sort()
    return {"records": summary.recorded, "unchanged": summary.unchanged, "documents": documents,
            "seconds": round(seconds, 3), "records_per_second": round(summary.recorded / seconds),
            "documents_per_second": round(documents / seconds), "cpu_seconds": round(cpu, 2),
            "records_per_cpu_second": round(summary.recorded / cpu), "load_average_before": round(load_average, 2),
            "batch_ms_median": round(1000 * batch_seconds[len(batch_seconds) // 2], 1),
            "batch_ms_max": round(1000 * batch_seconds[-1], 1)}


def _warm() -> int:
    """On a worker: import what a batch needs, so that the timed pass measures batches only."""
    import engine.core.matching  # noqa: F401
    import engine.jobs.run  # noqa: F401
    import invoices.einvoice  # noqa: F401
    import invoices.render  # noqa: F401

    return os.getpid()


def evaluation_stage(store, period, workers: list[int]) -> dict:
    """The evaluation stage alone (batches worked out, results taken back in order and dropped):
    in this process without Dask, then on a LocalCluster of each size in ``workers``."""
    from distributed import LocalCluster

    from engine.distributed import Cluster
    from engine.processes import in_order

    job, planned = planned_run(store, period)
    batches = batches_of(planned, BATCH)
    job([planned[0]], store)  # this process warmed up too
    figures: dict = {"contracts": len(planned), "batch": BATCH}
    figures["one_process_load_average"] = round(os.getloadavg()[0], 2)
    started, cpu = time.perf_counter(), _cpu_seconds()
    for _ in in_order(job, batches, 1, store=store):
        pass
    figures["one_process_seconds"] = round(time.perf_counter() - started, 2)
    figures["one_process_cpu_seconds"] = round(_cpu_seconds() - cpu, 2)
    print(f"  evaluation stage, this process alone: {figures['one_process_seconds']:.2f} s "
          f"({figures['one_process_cpu_seconds']:.2f} s of CPU)", flush=True)
    for count in workers:
        with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1", protocol="tcp",
                          dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                          worker_dashboard_address="127.0.0.1:0") as local, \
                Cluster.connect(local.scheduler_address, store.url) as cluster:
            cluster.client.run(_warm)
            for _ in cluster.in_order(job, batches[:count], store=store):  # each worker's store opened
                pass
            figures[f"dask_{count}_load_average"] = round(os.getloadavg()[0], 2)
            before = cluster.client.run(_cpu_seconds)
            started, cpu = time.perf_counter(), _cpu_seconds()
            for _ in cluster.in_order(job, batches, store=store):
                pass
            seconds = time.perf_counter() - started
            here = _cpu_seconds() - cpu
            after = cluster.client.run(_cpu_seconds)
        figures[f"dask_{count}_seconds"] = round(seconds, 2)
        figures[f"dask_{count}_workers_cpu_seconds"] = round(sum(after[w] - before[w] for w in after), 2)
        figures[f"dask_{count}_coordinator_and_scheduler_cpu_seconds"] = round(here, 2)
        print(f"  evaluation stage, LocalCluster of {count}: {seconds:.2f} s ({len(planned) / seconds:,.0f} "
              f"contracts/s; workers {figures[f'dask_{count}_workers_cpu_seconds']:.2f} s of CPU, this process "
              f"with the scheduler {here:.2f} s)", flush=True)
    if 1 in workers and 2 in workers:
        figures["speed_up_2_over_1"] = round(figures["dask_1_seconds"] / figures["dask_2_seconds"], 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The coordinator's throughput, and the evaluation stage on Dask.")
    parser.add_argument("--data", default=None, help="a generated book (default: generated into a scratch folder)")
    parser.add_argument("--contracts", type=int, default=5_000, help="when generating (default 5000)")
    parser.add_argument("--incidents", type=int, default=50_000, help="when generating (default 50000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--records", type=int, default=20_000, help="results fed to the coordinator (default 20000)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"records per transaction (default {BATCH})")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("SLABILL_BENCH_POSTGRES_URL", POSTGRES_URL))
    parser.add_argument("--cluster", action="store_true",
                        help="also time the evaluation stage on a LocalCluster of 1 then 2 workers")
    parser.add_argument("--results", default=str(BENCH / "results" / "coordinator.json"))
    args = parser.parse_args(argv)
    from engine.core.period import Period
    from engine.store import Store

    period = Period.parse(args.period)
    with tempfile.TemporaryDirectory(prefix="slabill-coordinator-") as scratch_name:
        scratch = Path(scratch_name)
        args.data_given = args.data is not None
        args.data = args.data or str(scratch / "book")
        folder, manifest = ensure_data(args)
        machine = describe_machine()
        print("\n".join(machine_lines(machine)), flush=True)
        kinds = []
        if args.store in ("sqlite", "both"):
            kinds.append(SqliteStores(scratch))
        if args.store in ("postgresql", "both"):
            why = postgres_answers(args.postgres_url)
            if why is None:
                kinds.append(PostgresStores(args.postgres_url))
            else:
                print(f"PostgreSQL skipped: {why}", flush=True)
        figures: dict = {"machine": machine, "manifest": manifest, "records": args.records, "batch": args.batch,
                         "stores": {}}
        items = None
        for stores in kinds:
            url = stores.fresh("coordinator")
            print(f"\n[{stores.name}] loading {folder} ...", flush=True)
            load(folder, url)
            store = Store(url)
            if items is None:
                print(f"[{stores.name}] working the book out once (the workers' results, not timed) ...", flush=True)
                items = worked_out(store, period)
                with_documents = sum(1 for item in items if item.documents)
                print(f"[{stores.name}]   {len(items):,} results, {with_documents:,} with documents", flush=True)
                figures["results_per_copy"] = len(items)
                feed = replicated(items, args.records)
            print(f"[{stores.name}] coordinator: {args.records:,} records in batches of {args.batch} ...", flush=True)
            measured = coordinate(store, period, feed, args.batch)
            print(f"[{stores.name}]   {measured['seconds']:.2f} s: {measured['records_per_second']:,} records/s, "
                  f"{measured['documents_per_second']:,} documents/s (batch median {measured['batch_ms_median']} ms; "
                  f"this process {measured['cpu_seconds']:.2f} s of CPU)", flush=True)
            figures["stores"][stores.name] = {"coordinator": measured}
            if args.cluster and stores is kinds[-1]:
                print(f"[{stores.name}] evaluation stage, {len(items):,} contracts ...", flush=True)
                figures["stores"][stores.name]["evaluation_stage"] = evaluation_stage(store, period, [1, 2])
            store.close()
            stores.drop("coordinator")
    print("\nThe coordinator's ceiling (records sealed and written per second, no evaluation):")
    for name, measured in figures["stores"].items():
        coordinator = measured["coordinator"]
        print(f"  {name:<11} {coordinator['records_per_second']:>7,} records/s  "
              f"({coordinator['records']:,} records, {coordinator['documents']:,} documents, "
              f"{coordinator['seconds']:.2f} s; {coordinator['records_per_cpu_second']:,} records per CPU second "
              f"of the coordinator; load average before {coordinator['load_average_before']})")
        stage = measured.get("evaluation_stage")
        if stage:
            print(f"  evaluation stage on {name}, {stage['contracts']:,} contracts: this process "
                  f"{stage['one_process_seconds']:.2f} s, Dask 1 worker {stage['dask_1_seconds']:.2f} s, "
                  f"2 workers {stage['dask_2_seconds']:.2f} s: speed-up {stage.get('speed_up_2_over_1')} "
                  f"(load average before each: {stage['one_process_load_average']}, "
                  f"{stage['dask_1_load_average']}, {stage['dask_2_load_average']})")
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nfigures written to {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

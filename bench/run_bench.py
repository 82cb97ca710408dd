"""Benchmark of the monthly run and of the audit commands on a synthetic book (see bench/README.md).

For each store (a SQLite file, and PostgreSQL when it answers), on a fresh database:

1. ``slabill load`` of the book bench/generate.py wrote (generated when missing);
2. ``slabill run --period P`` (load excluded), then the same figure with the load included;
3. the same run again, which must issue nothing;
4. ``slabill audit verify`` over every record, and ``slabill replay --period P``;
5. the floor (bench/floor.py, in a process of its own on the store the run wrote): the
   run's facts matched again by durable-rules, plus a bare bulk insert of the run's
   evaluation, document and line rows into empty tables; the run's ratio to it;
6. in this process, on a copy of the loaded database, ``monthly_run`` with one worker and a
   clock around each stage (read, measure, match, price, late fees, record, issue, render,
   persist), so the figures say where the time goes.

Each command runs in a subprocess started by a small launcher that takes its wall time,
CPU time (its own and its workers') and memory.  Memory is given two ways: the peak
resident size of the main process (``os.wait4``), and the peak of the sum of the
proportional set sizes (PSS) of the process and its worker processes, sampled every
0.1 s: forked workers share the pages they did not write, and PSS counts a shared page
once in all, so the sum is the memory the run really holds.

    .venv/bin/python bench/run_bench.py                         # 100,000 contracts, SQLite and PostgreSQL
    .venv/bin/python bench/run_bench.py --contracts 2000 --incidents 20000 --data /tmp/small
    .venv/bin/python bench/run_bench.py --store sqlite --no-breakdown
    .venv/bin/python bench/run_bench.py --contracts 1000000 --data bench/data-1m --no-breakdown
    # a long benchmark a step at a time, on a database that is kept (SQLite file or PostgreSQL database):
    .venv/bin/python bench/run_bench.py --data bench/data-1m --db sqlite:////tmp/1m.db --no-breakdown --steps load
    .venv/bin/python bench/run_bench.py --data bench/data-1m --db sqlite:////tmp/1m.db --no-breakdown \
        --steps "run,run again,audit verify,replay,floor"

Prints a table and PASS/FAIL against the targets, and writes bench/results/run.json.  The
exit code is 0 either way unless ``--strict``.  No test depends on these timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from evaluate_bench import describe_machine, engine_state, ensure_data, finish, machine_lines, run_command  # noqa: E402

# The issues' targets, on a 2-core machine.
TARGET_CONTRACTS = 100_000
TARGET_RUN_SECONDS = 120.0      # a run of 100,000 contracts into SQLite
TARGET_RUN_MIB = 1024.0
TARGET_REPLAY_SECONDS = 60.0    # replaying 100,000 evaluations
TARGET_VERIFY_SECONDS = 20.0    # audit verify over 100,000 records
TARGET_LOAD_MIB = 1024.0        # load, at any size (issue 20: 1,000,000 contracts)
TARGET_FLOOR_RATIO = 3.0        # a run at most 3 times its floor (issue 20)
AS_OF = "2026-11-02"
MIB = 1024 * 1024
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

STAGES = ("read", "measure", "match", "price", "late fees", "record", "issue", "render", "persist", "other")

# --- the stores -------------------------------------------------------------------------------------------

class SqliteStores:
    name = "sqlite"

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    def url(self, name: str) -> str:
        return f"sqlite:///{self.scratch / (name + '.db')}"

    def fresh(self, name: str) -> str:
        (self.scratch / (name + ".db")).unlink(missing_ok=True)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        shutil.copyfile(self.scratch / (source + ".db"), self.scratch / (name + ".db"))
        return self.url(name)

    def drop(self, name: str) -> None:
        (self.scratch / (name + ".db")).unlink(missing_ok=True)


class GivenStore:
    """A database given by its URL (``--db``): used as it is, never wiped, copied or dropped, so that
    the steps of a long benchmark can run one invocation at a time (load today, run tomorrow)."""

    def __init__(self, url: str) -> None:
        self.name = url.split(":", 1)[0].split("+", 1)[0]
        self.given = url

    def url(self, name: str) -> str:
        return self.given

    def fresh(self, name: str) -> str:
        return self.given

    def copy(self, source: str, name: str) -> str:
        raise SystemExit("--db cannot be copied for the per-stage breakdown: add --no-breakdown")

    def drop(self, name: str) -> None:
        pass


class PostgresStores:
    """Databases made for the benchmark beside the server's ``test`` database, dropped after."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.base = url
        self.plain = url.replace("postgresql+psycopg://", "postgresql://")
        self.connection = psycopg.connect(self.plain, autocommit=True)

    def url(self, name: str) -> str:
        return self.base.rsplit("/", 1)[0] + f"/slabill_bench_{name}"

    def _execute(self, statement: str) -> None:
        self.connection.execute(statement)

    def fresh(self, name: str) -> str:
        self.drop(name)
        self._execute(f"CREATE DATABASE slabill_bench_{name}")
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        self.drop(name)
        self._execute(f"CREATE DATABASE slabill_bench_{name} TEMPLATE slabill_bench_{source}")
        return self.url(name)

    def drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS slabill_bench_{name} WITH (FORCE)")


def postgres_answers(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: skip PostgreSQL, and say why
        return str(exc).splitlines()[0]


# --- the in-process breakdown -----------------------------------------------------------------------------

class ExclusiveTimer:
    """``monthly_run``'s ``timer``: seconds per stage, a nested stage's time taken out of its parent's."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list] = []

    def __call__(self, stage: str) -> "ExclusiveTimer._Clock":
        return self._Clock(self, stage)

    class _Clock:
        __slots__ = ("timer", "stage")

        def __init__(self, timer: "ExclusiveTimer", stage: str) -> None:
            self.timer, self.stage = timer, stage

        def __enter__(self) -> None:
            self.timer._stack.append([self.stage, time.perf_counter(), 0.0])

        def __exit__(self, *exc) -> None:
            stage, began, inner = self.timer._stack.pop()
            spent = time.perf_counter() - began
            self.timer.seconds[stage] += spent - inner
            if self.timer._stack:
                self.timer._stack[-1][2] += spent


def breakdown(url: str, period_text: str) -> dict:
    """``monthly_run`` in this process with one worker, each stage timed."""
    import resource

    from engine.core.period import Period
    from engine.jobs.run import monthly_run
    from engine.store import Store

    timer = ExclusiveTimer()
    store = Store(url)
    began = time.perf_counter()
    summary = monthly_run(store, Period.parse(period_text), as_of=date.fromisoformat(AS_OF),
                          now=lambda: datetime.now(timezone.utc), workers=1, timer=timer)
    total = time.perf_counter() - began
    store.close()
    timer.seconds["other"] = total - sum(timer.seconds.values())
    return {"total_seconds": round(total, 2), "contracts": summary.contracts,
            "stages": {stage: round(timer.seconds.get(stage, 0.0), 2) for stage in STAGES},
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_in_child(url: str, period_text: str) -> dict:
    """The breakdown in a fresh interpreter, so that one store's run does not weigh on the next."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import run_bench; "
            "print(json.dumps(run_bench.breakdown(sys.argv[2], sys.argv[3])))")
    done = subprocess.run([sys.executable, "-c", code, str(BENCH), url, period_text], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return {"error": done.stderr[-1500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one store --------------------------------------------------------------------------------------------

def measure_floor(url: str, period_text: str) -> dict:
    """bench/floor.py on the store the run wrote, in a process of its own."""
    done = subprocess.run([sys.executable, str(BENCH / "floor.py"), "--db", url, "--period", period_text],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr[-1500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_store(url: str, period_text: str) -> dict:
    """What the store holds after the runs: records, documents, and whether the numbers are gap-free."""
    from sqlalchemy import func, select

    from engine.store import Store
    from engine.store.tables import DocumentRow, EvaluationRow

    store = Store(url, upgrade=False)
    try:
        with store.reading() as session:
            records = session.execute(select(func.count()).select_from(EvaluationRow)
                                      .where(EvaluationRow.period == period_text)).scalar_one()
            numbers = session.execute(select(DocumentRow.number)).scalars().all()
    finally:
        store.close()
    by_sequence: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        prefix, _, sequence = number.rpartition("-")
        by_sequence[prefix].append(int(sequence))
    gap_free = all(sorted(sequence) == list(range(1, len(sequence) + 1)) for sequence in by_sequence.values())
    return {"records": records, "documents": len(numbers),
            "documents_by_sequence": {k: len(v) for k, v in sorted(by_sequence.items())},
            "numbers_gap_free": gap_free}


STEPS = ("load", "run", "run again", "audit verify", "replay", "floor")


def bench_store(stores, folder: Path, period_text: str, workers: int | None, with_breakdown: bool,
                scratch: Path, chosen: tuple[str, ...] = STEPS) -> dict:
    print(f"\n[{stores.name}] fresh database", flush=True)
    url = stores.fresh("main")
    figures: dict = {"store": stores.name}
    steps = [
        ("load", ["load", "--rules", str(folder / "rules"), "--contracts", str(folder / "contracts.yaml"),
                  "--data", str(folder / "data"), "--db", url]),
        ("run", ["run", "--period", period_text, "--as-of", AS_OF, "--db", url]
         + (["--workers", str(workers)] if workers else [])),
        ("run again", ["run", "--period", period_text, "--as-of", AS_OF, "--db", url]
         + (["--workers", str(workers)] if workers else [])),
        ("audit verify", ["audit", "verify", "--db", url]),
        ("replay", ["replay", "--period", period_text, "--db", url]),
    ]
    for label, arguments in steps:
        if label not in chosen:
            continue
        if label == "run" and with_breakdown:
            stores.copy("main", "breakdown")  # the loaded book, before any run
        print(f"[{stores.name}] slabill {label} ...", flush=True)
        measured = run_command(arguments, scratch)
        figures[label] = measured
        print(f"[{stores.name}]   {measured['seconds']:.1f} s, exit {measured['exit_code']}", flush=True)
        if measured["exit_code"] != 0:
            print(measured["stderr"], file=sys.stderr)
    if chosen != ("load",):
        figures["counts"] = count_store(url, period_text)
    if "floor" in chosen:
        print(f"[{stores.name}] the floor: the run's facts matched again, its rows bulk-inserted ...", flush=True)
        figures["floor"] = measure_floor(url, period_text)
        if "seconds" in figures["floor"] and figures["floor"]["seconds"] > 0 and "run" in figures:
            figures["floor"]["run_ratio"] = round(figures["run"]["seconds"] / figures["floor"]["seconds"], 2)
    if with_breakdown:
        print(f"[{stores.name}] in-process run with one worker, each stage timed ...", flush=True)
        figures["breakdown"] = run_in_child(stores.url("breakdown"), period_text)
        stores.drop("breakdown")
    stores.drop("main")
    return figures


# --- report -----------------------------------------------------------------------------------------------

def check(measured: float, limit: float, unit: str) -> dict:
    return {"measured": measured, "limit": limit, "unit": unit, "ok": measured <= limit}


def targets(figures: dict, contracts: int) -> dict:
    checks = {}
    for result in figures["stores"]:
        store = result["store"]
        if not all(label in result for label in ("load", "run", "audit verify", "replay")):
            continue  # some steps only (--steps): figures without verdicts
        run = result["run"]
        if store == "sqlite":
            checks["run time, SQLite"] = check(run["seconds"], TARGET_RUN_SECONDS, "s")
            checks["run memory (PSS of all processes), SQLite"] = check(run["peak_pss_mib"], TARGET_RUN_MIB, "MiB")
        checks[f"load memory (PSS of all processes), {store}"] = check(result["load"]["peak_pss_mib"],
                                                                       TARGET_LOAD_MIB, "MiB")
        if store != "sqlite":
            checks[f"run memory (PSS of all processes), {store}"] = check(run["peak_pss_mib"], TARGET_RUN_MIB, "MiB")
        if "run_ratio" in result.get("floor", {}):
            checks[f"run / floor, {store}"] = check(result["floor"]["run_ratio"], TARGET_FLOOR_RATIO, "x")
        checks[f"replay time, {store}"] = check(result["replay"]["seconds"], TARGET_REPLAY_SECONDS, "s")
        checks[f"audit verify time, {store}"] = check(result["audit verify"]["seconds"], TARGET_VERIFY_SECONDS, "s")
        for label in ("load", "run", "run again", "audit verify", "replay"):
            if result[label]["exit_code"] != 0:
                checks[f"{label} exit code, {store}"] = {"measured": result[label]["exit_code"], "limit": 0,
                                                         "unit": "", "ok": False}
        counts = result["counts"]
        checks[f"records = contracts, {store}"] = {"measured": counts["records"], "limit": contracts, "unit": "",
                                                   "ok": counts["records"] == contracts}
        checks[f"numbers gap-free, {store}"] = {"measured": counts["numbers_gap_free"], "limit": True, "unit": "",
                                                "ok": counts["numbers_gap_free"]}
    return {"at_target_size": contracts >= TARGET_CONTRACTS, "checks": checks,
            "passed": all(c["ok"] for c in checks.values())}


def report(figures: dict) -> str:
    out = []
    add = out.append
    add("")
    add(f"slabill monthly-run benchmark: period {figures['period']}, {figures['contracts']:,} contracts, "
        f"data {figures['data']}")
    machine = figures["machine"]
    out.extend(machine_lines(machine))
    add(f"  engine at {figures['engine']['commit']}")
    for result in figures["stores"]:
        add("")
        add(f"  [{result['store']}]{'':<20}{'wall s':>9}{'CPU s':>9}{'RSS MiB':>10}{'PSS MiB':>10}{'procs':>7}")
        for label in ("load", "run", "run again", "audit verify", "replay"):
            if label not in result:
                continue
            m = result[label]
            add(f"  {label:<28}{m['seconds']:>9.1f}{m['cpu_seconds']:>9.1f}{m['peak_rss_mib']:>10.0f}"
                f"{m['peak_pss_mib']:>10.0f}{m['processes']:>7}")
        if "load" in result and "run" in result:
            included = result["load"]["seconds"] + result["run"]["seconds"]
            add(f"  {'run, load included':<28}{included:>9.1f}")
        if "run" in result:
            add(f"  {'contracts/s (run)':<28}{figures['contracts'] / result['run']['seconds']:>9,.0f}")
        floor = result.get("floor", {})
        if "error" in floor:
            add(f"  floor failed: {floor['error']}")
        elif floor:
            add(f"  floor: match {floor['match']['seconds']:.1f} s ({floor['match']['facts']:,} facts) + insert "
                f"{floor['insert']['seconds']:.1f} s ({sum(floor['insert']['rows'].values()):,} rows, "
                f"{floor['insert']['how']}) = {floor['seconds']:.1f} s; run / floor "
                f"{floor.get('run_ratio', float('nan')):.2f}")
        counts = result.get("counts")
        if counts:
            add(f"  records {counts['records']:,}, documents {counts['documents']:,} "
                f"{counts['documents_by_sequence']}, numbers gap-free: {counts['numbers_gap_free']}")
        if "breakdown" in result:
            b = result["breakdown"]
            if "error" in b:
                add(f"  breakdown failed: {b['error']}")
                continue
            add(f"  in process, one worker: {b['total_seconds']:.1f} s, peak RSS {b['peak_rss_mib']:.0f} MiB")
            for stage, seconds in b["stages"].items():
                add(f"    {stage:<26}{seconds:>9.1f}{seconds / b['total_seconds'] * 100:>8.1f} %")
    add("")
    verdicts = figures["targets"]
    for name, c in verdicts["checks"].items():
        limit = f" (limit {c['limit']} {c['unit']})" if c["unit"] else ""
        add(f"  {'PASS' if c['ok'] else 'FAIL'}  {name}: {c['measured']}{' ' + c['unit'] if c['unit'] else ''}{limit}")
    if not verdicts["at_target_size"]:
        add("  (not at the target size of 100,000 contracts)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the monthly run, audit verify and replay on a synthetic book.")
    parser.add_argument("--data", default=None, help="a generated book; default bench/data (generated when needed)")
    parser.add_argument("--contracts", type=int, default=100_000, help="when generating (default 100000)")
    parser.add_argument("--incidents", type=int, default=None,
                        help="when generating (default 10 per contract: 1000000 for 100000 contracts)")
    parser.add_argument("--seed", type=int, default=42, help="when generating (default 42)")
    parser.add_argument("--period", default="2026-10", help="the month run (default 2026-10)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if present")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("SLABILL_BENCH_POSTGRES_URL", POSTGRES_URL),
                        help="a server where the benchmark may create and drop databases slabill_bench_*")
    parser.add_argument("--workers", type=int, default=None, help="slabill run --workers (default: its own)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process per-stage run")
    parser.add_argument("--results", default=str(BENCH / "results" / "run.json"))
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--db", default=None,
                        help="use this database as it is (never wiped or dropped) instead of fresh ones, so that "
                             "the steps can run one invocation at a time; needs --no-breakdown")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"the steps to run, comma-separated, of: {', '.join(STEPS)} (default: all)")
    args = parser.parse_args(argv)
    chosen = tuple(step.strip() for step in args.steps.split(","))
    if unknown := [step for step in chosen if step not in STEPS]:
        parser.error(f"--steps: unknown step(s) {', '.join(unknown)} (known: {', '.join(STEPS)})")
    if args.db and not args.no_breakdown:
        parser.error("--db needs --no-breakdown (the breakdown runs on a copy of a fresh load)")
    if args.incidents is None:
        args.incidents = 10 * args.contracts
    args.data_given = args.data is not None
    if args.data is None:
        args.data = str(BENCH / "data")
    folder, manifest = ensure_data(args)

    machine = describe_machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="slabill-bench-") as scratch_name:
        scratch = Path(scratch_name)
        if args.db:
            results.append(bench_store(GivenStore(args.db), folder, args.period, args.workers, False, scratch,
                                       chosen))
        elif args.store in ("sqlite", "both"):
            results.append(bench_store(SqliteStores(scratch), folder, args.period, args.workers,
                                       not args.no_breakdown, scratch, chosen))
        if not args.db and args.store in ("postgresql", "both"):
            why = postgres_answers(args.postgres_url)
            if why is None:
                results.append(bench_store(PostgresStores(args.postgres_url), folder, args.period, args.workers,
                                           not args.no_breakdown, scratch, chosen))
            else:
                print(f"PostgreSQL skipped: {why}", file=sys.stderr)
    contracts = manifest.get("active_contracts") or manifest.get("contracts") or 0
    figures = {
        "benchmark": "slabill run, audit verify, replay",
        "when": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "machine": machine,
        "engine": engine_state(), "data": str(folder), "period": args.period, "generator": manifest,
        "contracts": results[0]["breakdown"]["contracts"] if results and "contracts" in results[0].get(
            "breakdown", {}) else contracts,
        "stores": results,
    }
    figures["targets"] = targets(figures, figures["contracts"])
    print(report(figures))
    return finish(figures, Path(args.results), args.strict)


if __name__ == "__main__":
    sys.exit(main())

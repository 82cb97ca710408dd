"""Benchmark of ``slabill evaluate`` on a synthetic book (see bench/README.md).

1. Generates the book with bench/generate.py if bench/data is missing or was made with
   other parameters (or uses ``--data DIR`` as it is).
2. Runs the evaluate pipeline in this process, in one process, timing each stage: load
   rules, load book, load measurements, then ``evaluate_book(..., timer=...)`` (measure,
   match, price), then the JSON rendering of ``engine.results.write_json``.
3. Runs the real command line once in a subprocess (with its worker processes, one per
   core), stdout to a file, and takes its wall time and the peak of the summed PSS of
   the command and its workers.
4. Prints a table, PASS/FAIL against the targets, and writes bench/results/evaluate.json.

    .venv/bin/python bench/evaluate_bench.py                 # what `make bench` runs
    .venv/bin/python bench/evaluate_bench.py --contracts 2000 --incidents 20000 --data /tmp/small
    .venv/bin/python bench/evaluate_bench.py --profile       # cProfile of the in-process run
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate import GENERATOR_VERSION  # noqa: E402  (bench/ is not a package)

from engine.core.evaluation import evaluate_book  # noqa: E402
from engine.core.period import Period  # noqa: E402
from engine.jobs.evaluate import write_json  # noqa: E402
from engine.loading.contracts import load_book  # noqa: E402
from engine.loading.measurements import load_measurements  # noqa: E402
from engine.loading.rulesets import load_rule_sets  # noqa: E402

try:  # what `slabill evaluate` does between loading and evaluating, in versions that do it
    from engine.loading.collector import settle_loaded_data  # noqa: E402
except ImportError:
    settle_loaded_data = None

# The targets, on a 2-core machine.
TARGET_CONTRACTS = 100_000
TARGET_OBJECTIVES = 300_000
TARGET_INCIDENTS = 1_000_000
TARGET_SECONDS = 60.0
TARGET_RSS_MIB = 1024.0

STAGES = ("load rules", "load book", "load measurements", "settle", "measure", "match", "price",
          "evaluate (other)", "render JSON")
STAGE_LABELS = {"match": "match (rule engine)", "settle": "settle (gc.collect+freeze)"}
MIB = 1024 * 1024


class StageTimer:
    """The ``timer`` of ``evaluate_book``: a context-manager factory that adds up
    ``time.perf_counter`` per stage name.  Stages never nest, so one object serves."""

    __slots__ = ("seconds", "calls", "current", "outside", "_stage", "_began")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.current: str | None = None
        """the stage being timed, for the GC timer"""
        self.outside = "between stages"
        """what untimed time belongs to (inside evaluate_book: its own overhead)"""
        self._stage = ""
        self._began = 0.0

    def __call__(self, stage: str) -> "StageTimer":
        self._stage = stage
        return self

    def __enter__(self) -> "StageTimer":
        self.current = self._stage
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds[self._stage] += time.perf_counter() - self._began
        self.calls[self._stage] += 1
        self.current = None


class GcTimer:
    """Time spent in the cyclic garbage collector, per stage (it runs inside whichever stage
    allocates, so this time is part of that stage's seconds)."""

    def __init__(self, stages: StageTimer) -> None:
        self.stages = stages
        self.seconds = 0.0
        self.by_stage: dict[str, float] = defaultdict(float)
        self.collections = [0, 0, 0]
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            elapsed = time.perf_counter() - self._began
            self.seconds += elapsed
            self.by_stage[self.stages.current or self.stages.outside] += elapsed
            self.collections[info["generation"]] += 1


def memory_now() -> tuple[float | None, float]:
    """(resident MiB now, where /proc tells it; peak resident MiB so far)."""
    try:
        with open("/proc/self/statm") as statm:
            now = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        now = None
    return now, rss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def processor_name() -> str:
    """The CPU's model name, as Linux reports it: the same kind of machine is not always the same
    hardware, and the figures of two days can only be compared knowing that."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def calibration_seconds() -> float:
    """The best of three timings of a fixed pure-Python workload (dicts, integers, fractions and
    string formatting, like the engine's own). The ratio of two machines' figures tells how much
    of a change between two benchmark runs is the machine's rather than the code's."""
    from fractions import Fraction

    def workload() -> int:
        table: dict[int, int] = {}
        total = Fraction(0)
        for i in range(2_000_000):
            table[i % 997] = table.get(i % 997, 0) + i
            if i % 50 == 0:
                total += Fraction(i, 43_200)
        return len(f"{total}{sorted(table.items())}")

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - started)
    return round(best, 4)


def describe_machine() -> dict:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {"python": f"Python {platform.python_version()}", "platform": platform.platform(),
            "processor": processor_name(), "cpus": os.cpu_count(), "load_average": load,
            "calibration_seconds": calibration_seconds()}


def machine_lines(machine: dict) -> list[str]:
    return [f"  {machine['python']} on {machine['platform']}, {machine['cpus']} CPUs "
            f"({machine['processor']}), load average before the run {machine['load_average']}",
            f"  calibration workload (fixed pure Python, best of 3): {machine['calibration_seconds']:.3f} s"]


def engine_state() -> dict:
    """Which engine was measured: the commit, and the engine files changed since it (read-only git)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                                  timeout=30).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = [line[3:] for line in git("status", "--porcelain", "--", "engine").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or None, "uncommitted_engine_files": changed}


def rss_mib(kilobytes_or_bytes: int) -> float:
    """ru_maxrss is in KiB on Linux and in bytes on macOS."""
    return kilobytes_or_bytes / MIB if sys.platform == "darwin" else kilobytes_or_bytes / 1024


# --- data ---------------------------------------------------------------------------------------

def ensure_data(args) -> tuple[Path, dict]:
    """The data folder, generated (in a subprocess, so its memory is not ours) when needed.

    A folder given with ``--data`` is generated only when it holds no book; the default
    bench/data is regenerated when it was made with other parameters."""
    folder = Path(args.data)
    manifest_file = folder / "manifest.json"
    wanted = {"generator_version": GENERATOR_VERSION, "contracts": args.contracts,
              "incidents": args.incidents, "seed": args.seed, "period": args.period}
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    complete = (folder / "contracts.yaml").exists() and (folder / "data").is_dir() and (folder / "rules").is_dir()
    if complete and not args.regenerate:
        # A folder named with --data is used as it is; the default one must match the parameters.
        if args.data_given:
            return folder, manifest or {}
        if manifest is not None and all(manifest.get(k) == v for k, v in wanted.items()):
            return folder, manifest
    print(f"generating {args.contracts:,} contracts and {args.incidents:,} incidents into {folder} ...", flush=True)
    subprocess.run([sys.executable, str(BENCH / "generate.py"), "--contracts", str(args.contracts),
                    "--incidents", str(args.incidents), "--seed", str(args.seed), "--period", args.period,
                    "--out", str(folder)], check=True)
    return folder, json.loads(manifest_file.read_text())


# --- the in-process run -------------------------------------------------------------------------

class TimedEvaluations:
    """``evaluate_book``'s results as ``write_json`` pulls them, with the time spent producing
    them (so that rendering, interleaved with evaluating as in the CLI, can be told apart)."""

    def __init__(self, evaluations, timer: StageTimer) -> None:
        self._evaluations = iter(evaluations)
        self._timer = timer
        self.seconds = 0.0
        self.contracts = 0
        self.objectives = 0
        self.statuses: dict[str, int] = defaultdict(int)
        self.currencies: dict[str, int] = defaultdict(int)

    def __iter__(self) -> "TimedEvaluations":
        return self

    def __next__(self):
        outside, self._timer.outside = self._timer.outside, "evaluate (other)"
        began = time.perf_counter()
        try:
            evaluation = next(self._evaluations)
        finally:
            self.seconds += time.perf_counter() - began
            self._timer.outside = outside
        self.contracts += 1
        self.objectives += len(evaluation.measures)
        self.statuses[evaluation.pricing.status] += 1
        self.currencies[evaluation.currency] += 1
        return evaluation


def run_pipeline(folder: Path, period_text: str, timer: StageTimer, materialize: bool = False) -> dict:
    """What ``slabill evaluate`` does, stage by stage, with the clock around each stage.

    As in the command line, each result is rendered as soon as it is evaluated; the time
    spent inside ``evaluate_book`` is taken out of the rendering's.  With ``materialize``
    every evaluation is kept in a list first and rendered afterwards (more memory, and the
    garbage collector then walks all of it)."""
    period = Period.parse(period_text)
    memory: dict[str, tuple[float | None, float]] = {"start": memory_now()}
    began = time.perf_counter()
    with timer("load rules"):
        rule_book = load_rule_sets(folder / "rules")
    memory["load rules"] = memory_now()
    with timer("load book"):
        book = load_book(folder / "contracts.yaml")
    memory["load book"] = memory_now()
    with timer("load measurements"):
        measurements = load_measurements(folder / "data", book)
    memory["load measurements"] = memory_now()
    if settle_loaded_data is not None:
        with timer("settle"):
            settle_loaded_data()
        memory["settle"] = memory_now()
    evaluations = TimedEvaluations(evaluate_book(rule_book, book, measurements, period, timer=timer), timer)
    if materialize:
        kept = list(evaluations)
        memory["evaluate_book"] = memory_now()
    timer.outside = "render JSON"
    render_began = time.perf_counter()
    buffer = io.StringIO()
    write_json(str(period), kept if materialize else evaluations, buffer)
    text = buffer.getvalue()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        devnull.write(text)
    render_seconds = time.perf_counter() - render_began - (0.0 if materialize else evaluations.seconds)
    timer.outside = "between stages"
    total = time.perf_counter() - began
    memory["render JSON" if materialize else "evaluate_book + render JSON"] = memory_now()
    if settle_loaded_data is not None:
        gc.unfreeze()
    inner = sum(timer.seconds[s] for s in ("measure", "match", "price"))
    timer.seconds["evaluate (other)"] = max(0.0, evaluations.seconds - inner)
    timer.seconds["render JSON"] = render_seconds
    timer.calls["render JSON"] = 1
    return {
        "total_seconds": total,
        "mode": "materialized" if materialize else "streamed",
        "contracts": evaluations.contracts,
        "objectives": evaluations.objectives,
        "incident_rows": sum(len(rows) for rows in measurements.incidents.values()),
        "request_rows": sum(len(rows) for rows in measurements.requests.values()),
        "json_bytes": len(text.encode("utf-8")),
        "credit_status": dict(sorted(evaluations.statuses.items())),
        "currencies": dict(sorted(evaluations.currencies.items())),
        "memory": {step: {"rss_mib": None if now is None else round(now, 1), "peak_mib": round(peak, 1)}
                   for step, (now, peak) in memory.items()},
    }


# --- the command line, end to end ---------------------------------------------------------------

def slabill_command() -> str:
    beside = Path(sys.executable).parent / "slabill"
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "slabill")


# Run by a freshly started Python, so that its own resident size is small (Linux carries
# a parent's high-water mark into a forked child's ru_maxrss).  It samples the PSS of the
# command and of every process below it while waiting for it.
_LAUNCHER = r"""
import json, os, subprocess, sys, threading, time

def descendants(pid):
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                todo += [int(p) for p in children.read().split()]
        except OSError:
            pass
    return found

def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

command, errors_file, out_file = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
peak = {"pss": 0, "processes": 0}
with open(errors_file, "wb") as errors, open(out_file, "wb") as out:
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=out, stderr=errors)
    done = threading.Event()

    def sample():
        while not done.is_set():
            tree = descendants(child.pid)
            peak["pss"] = max(peak["pss"], sum(pss_kib(p) for p in tree))
            peak["processes"] = max(peak["processes"], len(tree))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
print(json.dumps({"seconds": seconds, "exit_code": os.waitstatus_to_exitcode(status),
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss,
                  "peak_pss_kib": peak["pss"], "processes": peak["processes"]}))
"""


def run_command(arguments: list[str], scratch: Path) -> dict:
    """One slabill command in a subprocess: wall time, CPU time, memory, its output's tail."""
    command = [slabill_command(), *arguments]
    errors_file, out_file = scratch / "stderr", scratch / "stdout"
    launched = subprocess.run([sys.executable, "-c", _LAUNCHER, json.dumps(command), str(errors_file),
                               str(out_file)], capture_output=True, text=True, check=True)
    measured = json.loads(launched.stdout)
    return {
        "command": " ".join(command),
        "exit_code": measured["exit_code"],
        "seconds": round(measured["seconds"], 2),
        "cpu_seconds": round(measured["cpu_seconds"], 2),
        "peak_rss_mib": round(measured["maxrss_kib"] / 1024, 1),
        "peak_pss_mib": round(measured["peak_pss_kib"] / 1024, 1),
        "processes": measured["processes"],
        "stdout": out_file.read_text(encoding="utf-8", errors="replace")[-3000:],
        "stderr": errors_file.read_text(encoding="utf-8", errors="replace")[-1500:],
    }



def run_cli(folder: Path, period: str) -> dict:
    """``slabill evaluate ... > /dev/null`` once: wall time, CPU time, and memory of the command with its
    workers (the peak of their PSS added up; the largest single RSS is kept as ``peak_rss_mib``)."""
    arguments = ["evaluate", "--rules", str(folder / "rules"), "--contracts", str(folder / "contracts.yaml"),
                 "--data", str(folder / "data"), "--period", period]
    with tempfile.TemporaryDirectory() as scratch:
        measured = run_command(arguments, Path(scratch))
    measured["command"] += " > FILE"
    measured.pop("stdout")
    return measured


# --- report -------------------------------------------------------------------------------------

def verdict(ok: bool, at_size: bool) -> str:
    return ("PASS" if ok else "FAIL") + ("" if at_size else " (not at target size)")


def report(figures: dict) -> str:
    sizes, stages, cli = figures["sizes"], figures["stages"], figures.get("cli")
    out = []
    add = out.append
    add("")
    add(f"slabill evaluate benchmark: period {figures['period']}, data {figures['data']}")
    machine = figures["machine"]
    out.extend(machine_lines(machine))
    state = figures["engine"]
    changed = state["uncommitted_engine_files"]
    add(f"  engine at commit {state['commit']}"
        + (f", with uncommitted changes to {', '.join(changed)}" if changed else ", clean"))
    add("")
    add(f"  {'contracts evaluated':<28}{sizes['contracts']:>14,}")
    add(f"  {'objectives evaluated':<28}{sizes['objectives']:>14,}")
    add(f"  {'incident rows':<28}{sizes['incident_rows']:>14,}")
    add(f"  {'request rows':<28}{sizes['request_rows']:>14,}")
    add(f"  {'JSON output':<28}{sizes['json_bytes'] / MIB:>10,.1f} MiB")
    add("")
    gc_figures = figures["gc"]
    add("  in process: " + ("each result rendered as soon as it is evaluated, as the CLI does"
                            if figures["in_process_mode"] == "streamed"
                            else "all evaluations kept in a list, then rendered (--materialize)"))
    add(f"  {'stage':<28}{'seconds':>10}{'share':>9}{'of it GC':>11}")
    for stage, entry in stages.items():
        add(f"  {STAGE_LABELS.get(stage, stage):<28}{entry['seconds']:>10.2f}{entry['share'] * 100:>8.1f} %"
            f"{entry['gc_seconds']:>9.2f} s")
    add(f"  {'total':<28}{figures['total_seconds']:>10.2f}{100:>8.1f} %{gc_figures['seconds']:>9.2f} s")
    add(f"  {'contracts/s':<28}{figures['contracts_per_second']:>10,.0f}")
    add(f"  {'peak RSS':<28}{figures['peak_rss_mib']:>10,.0f} MiB")
    add(f"  {'cyclic GC':<28}{gc_figures['seconds']:>10.2f}{gc_figures['share'] * 100:>8.1f} %"
        f"   ({'/'.join(map(str, gc_figures['collections']))} collections of generation 0/1/2)")
    add("")
    add(f"  {'in process, memory after':<28}{'RSS':>10}{'peak so far':>16}")
    for step, entry in figures["memory"].items():
        now = "-" if entry["rss_mib"] is None else f"{entry['rss_mib']:,.0f} MiB"
        add(f"  {step:<28}{now:>10}{entry['peak_mib']:>12,.0f} MiB")
    if cli:
        add("")
        add("  slabill evaluate (CLI, subprocess, stdout to a file)")
        add(f"  {'wall time':<28}{cli['seconds']:>10.2f} s")
        add(f"  {'CPU time':<28}{cli['cpu_seconds']:>10.2f} s")
        add(f"  {'contracts/s':<28}{cli['contracts_per_second']:>10,.0f}")
        add(f"  {'peak PSS, all processes':<28}{cli['peak_pss_mib']:>10,.0f} MiB")
        add(f"  {'processes':<28}{cli['processes']:>10}")
        add(f"  {'largest one process RSS':<28}{cli['peak_rss_mib']:>10,.0f} MiB")
        add(f"  {'exit code':<28}{cli['exit_code']:>10}")
        if cli["exit_code"]:
            add(f"  stderr: {cli['stderr'].strip()}")
    add("")
    targets = figures["targets"]
    add(f"  targets ({TARGET_CONTRACTS:,} contracts x 3 objectives, {TARGET_INCIDENTS:,} incident rows, 2 cores)")
    for name, entry in targets["checks"].items():
        add(f"  {name:<36}{entry['measured']:>10,.2f} {entry['unit']:<4} limit {entry['limit']:>7,.0f} {entry['unit']:<4}"
            f"  {verdict(entry['ok'], targets['at_target_size'])}")
    add("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `slabill evaluate` on a synthetic book.")
    parser.add_argument("--data", default=None,
                        help="a generated book (contracts.yaml, data/, rules/); default bench/data, "
                             "generated when missing or made with other parameters")
    parser.add_argument("--contracts", type=int, default=100_000, help="when generating (default 100000)")
    parser.add_argument("--incidents", type=int, default=1_000_000, help="when generating (default 1000000)")
    parser.add_argument("--seed", type=int, default=42, help="when generating (default 42)")
    parser.add_argument("--period", default="2026-10", help="the month evaluated (default 2026-10)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if present")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end run of the command line")
    parser.add_argument("--materialize", action="store_true",
                        help="in process, keep every evaluation in a list and render afterwards "
                             "(default: render each as it is evaluated, as the CLI does)")
    parser.add_argument("--profile", action="store_true",
                        help="run the in-process pipeline under cProfile instead (no timings are recorded); "
                             "writes bench/results/evaluate.prof and prints the top functions")
    parser.add_argument("--results", default=str(BENCH / "results" / "evaluate.json"),
                        help="where the figures go (default bench/results/evaluate.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.data_given = args.data is not None
    if args.data is None:
        args.data = str(BENCH / "data")
    Period.parse(args.period)

    folder, manifest = ensure_data(args)
    if args.data_given and manifest.get("period") and manifest["period"] != args.period:
        print(f"note: {folder} was generated for {manifest['period']}, evaluating {args.period}", file=sys.stderr)

    if args.profile:
        return profile(folder, args.period, Path(args.results).with_name("evaluate.prof"))

    machine = describe_machine()
    timer = StageTimer()
    gc_timer = GcTimer(timer)
    gc.collect()
    gc.callbacks.append(gc_timer)
    try:
        run = run_pipeline(folder, args.period, timer, args.materialize)
    finally:
        gc.callbacks.remove(gc_timer)
    peak_in_process = rss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    gc.collect()

    total = run["total_seconds"]
    stages = {stage: {"seconds": round(timer.seconds.get(stage, 0.0), 4),
                      "share": round(timer.seconds.get(stage, 0.0) / total, 4) if total else 0.0,
                      "calls": timer.calls.get(stage, 1),
                      "gc_seconds": round(gc_timer.by_stage.get(stage, 0.0), 4)}
              for stage in STAGES if stage in timer.seconds}
    figures: dict = {
        "benchmark": "slabill evaluate",
        "when": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "machine": machine,
        "engine": engine_state(),
        "data": str(folder),
        "period": args.period,
        "in_process_mode": run["mode"],
        "generator": manifest,
        "sizes": {k: run[k] for k in ("contracts", "objectives", "incident_rows", "request_rows", "json_bytes")},
        "credit_status": run["credit_status"],
        "currencies": run["currencies"],
        "stages": stages,
        "total_seconds": round(total, 3),
        "contracts_per_second": round(run["contracts"] / total, 1) if total else None,
        "peak_rss_mib": round(peak_in_process, 1),
        "gc": {"seconds": round(gc_timer.seconds, 3), "share": round(gc_timer.seconds / total, 4) if total else 0.0,
               "collections": gc_timer.collections,
               "by_stage": {k: round(v, 4) for k, v in gc_timer.by_stage.items()}},
        "memory": run["memory"],
    }
    if not args.no_cli:
        cli = run_cli(folder, args.period)
        cli["contracts_per_second"] = round(run["contracts"] / cli["seconds"], 1) if cli["seconds"] else None
        figures["cli"] = cli

    # The targets are judged on the real command line when it ran, else on the in-process run.
    seconds = figures["cli"]["seconds"] if "cli" in figures else figures["total_seconds"]
    # With workers, memory is that of the command and its workers together.
    rss = figures["cli"]["peak_pss_mib"] if "cli" in figures else figures["peak_rss_mib"]
    where = "CLI" if "cli" in figures else "in process"
    sizes = figures["sizes"]
    at_size = (sizes["contracts"] >= TARGET_CONTRACTS and sizes["objectives"] >= TARGET_OBJECTIVES
               and sizes["incident_rows"] >= TARGET_INCIDENTS)
    checks = {
        f"time, {where}": {"measured": seconds, "limit": TARGET_SECONDS, "unit": "s", "ok": seconds <= TARGET_SECONDS},
        f"peak memory, {where}": {"measured": rss, "limit": TARGET_RSS_MIB, "unit": "MiB", "ok": rss <= TARGET_RSS_MIB},
    }
    if "cli" in figures and figures["cli"]["exit_code"] != 0:
        checks["CLI exit code"] = {"measured": figures["cli"]["exit_code"], "limit": 0, "unit": "", "ok": False}
    figures["targets"] = {"at_target_size": at_size, "checks": checks,
                          "passed": all(c["ok"] for c in checks.values())}

    print(report(figures))
    return finish(figures, Path(args.results), args.strict)


def finish(figures: dict, results: Path, strict: bool) -> int:
    """Write the figures as JSON and give the exit code: 1 only with --strict and a target missed."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {results}")
    return 1 if strict and not figures["targets"]["passed"] else 0


def profile(folder: Path, period: str, output: Path) -> int:
    """The in-process pipeline under cProfile; the top functions by own time and by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    timer = StageTimer()
    profiler.enable()
    run = run_pipeline(folder, period, timer)
    profiler.disable()
    output.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(output))
    print(f"{run['contracts']:,} contracts in {run['total_seconds']:.1f} s under cProfile "
          f"(profiling slows Python code down, so read the shares, not the seconds)")
    for stage in (s for s in STAGES if s in timer.seconds):
        print(f"  {stage:<22}{timer.seconds.get(stage, 0.0):>9.2f} s")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"profile written to {output} (python -m pstats {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

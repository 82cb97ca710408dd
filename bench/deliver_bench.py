"""Benchmark of ``slabill deliver``: N documents e-mailed to a local SMTP server (see bench/README.md).

1. writes a book of N contracts under the shipped standard-hosting rules, each down two
   hours in October 2026, so that each earns one credit note (in four locales, with a
   webhook-free issuer), loads it into a fresh store and runs October (not timed);
2. starts an aiosmtpd server on loopback in a process of its own (this script with
   ``--serve``), which counts the messages it accepts;
3. runs ``slabill deliver`` in a subprocess and takes its wall time, CPU time and peak
   resident memory (``os.wait4``);
4. checks that the server received each document once and the store says each was delivered.

    .venv/bin/python bench/deliver_bench.py                      # 10,000 documents, SQLite
    .venv/bin/python bench/deliver_bench.py --documents 1000     # a quick one
    .venv/bin/python bench/deliver_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/deliver_bench.py --documents 1000 --profile   # cProfile of the delivery instead

Prints the figures and writes bench/results/deliver.json.  No test depends on them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LOCALES = ("fr_FR", "en_GB", "de_DE", "es_ES")


def write_book(folder: Path, contracts: int) -> None:
    """N contracts, each 2 hours down in October 2026: 99.731183 %, 10 % of 1,000.00 EUR, one credit note each."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["issuer:", "  name: Hexanuage SAS", "  vat_id: FR58832476915", "  country: FR",
             '  address: "27 quai de la Seine, 75019 Paris, France"', "  email: facturation@hexanuage.example",
             "  credit_note_prefix: AV", "contracts:"]
    incidents = ["contract,service,start,end,cause,announced_at"]
    for index in range(1, contracts + 1):
        contract = f"C-{index:06d}"
        lines += [f"  - id: {contract}",
                  f"    customer: {{id: K{index}, name: Customer {index}, locale: {LOCALES[index % 4]}, "
                  f"country: FR, email: billing@customer{index}.example}}",
                  "    currency: EUR", "    timezone: Europe/Paris", "    ruleset: standard-hosting",
                  "    start: 2025-01-01", '    vat_rate: "20"', '    services: [{id: compute, monthly_fee: "1000.00"}]']
        incidents.append(f"{contract},compute,2026-10-08T10:00:00Z,2026-10-08T12:00:00Z,outage,")
    (folder / "contracts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "incidents.csv").write_text("\n".join(incidents) + "\n", encoding="utf-8")


def prepare(db: str, folder: Path, documents: int) -> int:
    from engine.core.period import Period
    from engine.jobs.run import monthly_run
    from engine.loading.contracts import load_book
    from engine.loading.measurements import load_measurements
    from engine.loading.rates import load_rates
    from engine.loading.rulesets import load_rule_files, rule_set_files
    from engine.store import Store

    write_book(folder, documents)
    store = Store(db)
    book = load_book(folder / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(ROOT / "rules")),
               measurements=load_measurements(folder / "data", book), rates=load_rates(ROOT / "rules"))
    at = datetime(2026, 11, 2, 6, tzinfo=timezone.utc)
    monthly_run(store, Period(2026, 10), as_of=date(2026, 11, 2), now=lambda: at)
    issued = len(store.documents(period="2026-10"))
    store.close()
    return issued


# --- the SMTP server, in a process of its own -------------------------------------------------------------

def serve(port: int) -> None:
    """Accept every message on 127.0.0.1:port; on SIGTERM print how many were accepted, and their bytes."""
    import threading

    from aiosmtpd.controller import Controller

    counts = {"messages": 0, "bytes": 0, "message_ids": 0}
    seen: set[str] = set()
    lock = threading.Lock()

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                counts["messages"] += 1
                counts["bytes"] += len(envelope.original_content)
                head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"message-id:"):
                        seen.add(line.decode())
                counts["message_ids"] = len(seen)
            return "250 2.0.0 queued"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    counts["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(counts), flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the measurement ------------------------------------------------------------------------------------------

def timed(arguments: list[str], env: dict, processes: int = 1) -> dict:
    """``processes`` copies of the command at once: the wall time of all, the CPU time summed,
    the largest peak resident memory of one."""
    started = time.perf_counter()
    running = [subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
               for _ in range(processes)]
    cpu, peak, exits, outs, errs = 0.0, 0, [], [], []
    for process in running:
        _, status, usage = os.wait4(process.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss)
        exits.append(os.waitstatus_to_exitcode(status))
        outs.append(process.stdout.read().decode().strip())
        errs.append(process.stderr.read().decode().strip()[-2000:])
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mib": round(peak / 1024, 1),
            "exit": max(exits, key=abs), "processes": processes, "stdout": "\n".join(outs), "stderr": "\n".join(errs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--db", help="a store URL (default: a SQLite file in a temporary folder); it must be empty")
    parser.add_argument("--processes", type=int, default=1, help="deliver processes at once (default 1)")
    parser.add_argument("--profile", action="store_true", help="profile the delivery in this process instead")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    from evaluate_bench import calibration_seconds, describe_machine, machine_lines

    machine = describe_machine()
    machine["calibration_seconds"] = calibration_seconds()
    work = Path(tempfile.mkdtemp(prefix="slabill-deliver-bench-"))
    db = args.db or f"sqlite:///{work / 'store.db'}"
    started = time.perf_counter()
    issued = prepare(db, work / "book", args.documents)
    prepared = time.perf_counter() - started
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    url = f"smtp://127.0.0.1:{port}"
    try:
        if args.profile:
            import cProfile
            import pstats

            from engine.delivery import SmtpServer, deliver
            from engine.store import Store

            store = Store(db)
            profile = cProfile.Profile()
            began = time.perf_counter()
            profile.runcall(deliver, store, smtp=SmtpServer.parse(url), now=lambda: datetime.now(timezone.utc))
            print(f"{issued} documents in {time.perf_counter() - began:.1f} s (profiled)")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
            return 0
        figures = timed([str(Path(sys.executable).parent / "slabill"), "deliver", "--db", db, "--smtp-url", url],
                        {**os.environ, "SLABILL_SMTP_URL": ""}, args.processes)
    finally:
        server.send_signal(signal.SIGTERM)
        received = json.loads(server.communicate(timeout=60)[0].strip().splitlines()[-1])
    from engine.store import Store

    store = Store(db)
    counts = store.delivery_counts("2026-10")
    store.close()
    result = {"documents": issued, "prepare_seconds": round(prepared, 1), "deliver": figures,
              "documents_per_second": round(issued / figures["seconds"], 1), "server": received,
              "store": counts, "machine": machine,
              "ok": figures["exit"] == 0 and received["messages"] == received["message_ids"] == issued
              and counts.get("delivered") == issued}
    print("slabill deliver benchmark")
    print("\n".join(machine_lines(machine)))
    print(f"  {issued:,} documents issued and stored in {prepared:.1f} s (not timed below)")
    print(f"  slabill deliver, {args.processes} process(es) at once: {figures['seconds']:.1f} s wall, "
          f"{figures['cpu_seconds']:.1f} s CPU, peak RSS {figures['peak_rss_mib']:.0f} MiB (of one process), "
          f"exit {figures['exit']}")
    print(f"  {result['documents_per_second']:.1f} documents/s; the server accepted {received['messages']:,} messages "
          f"({received['bytes'] / 2**20:.0f} MiB) with {received['message_ids']:,} distinct Message-IDs, "
          f"using {received['cpu_seconds']:.1f} s of CPU")
    print(f"  the store: {counts}")
    print("  OK" if result["ok"] else "  NOT OK: " + figures["stderr"])
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "deliver.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

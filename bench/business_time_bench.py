"""Benchmark of business time (engine/calendars.py) on synthetic support tickets.

Each ticket is created at a random instant of October 2026 (which holds the Paris clock
change of 25 October and the All Saints' holiday on 1 November), has a target of 1 to 8
hours and, for one ticket in four, one to three pauses waiting on the customer. For every
ticket the benchmark computes its deadline (``clock.add``) and the business time it used
until it was answered (``clock.elapsed``), on a business calendar for 80 % of tickets and
on the 24x7 clock for the rest, looking the calendar's clock up with ``BusinessClock.of``
each time as an evaluation would. Generating the tickets is not timed.

    .venv/bin/python bench/business_time_bench.py                    # 100,000 tickets
    .venv/bin/python bench/business_time_bench.py --tickets 1000000 --seed 7

Prints tickets, seconds, tickets/s and PASS/FAIL against the target of 10 s for 100,000
tickets (scaled for other counts); the exit code is 0 either way unless ``--strict``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.core.calendars import TWENTY_FOUR_SEVEN, BusinessClock  # noqa: E402
from engine.core.schema import Calendar  # noqa: E402

TARGET_SECONDS_PER_100K = 10.0

CALENDAR = Calendar(timezone="Europe/Paris",
                    hours={"mon-thu": "09:00-12:30, 13:30-18:00", "fri": "09:00-17:00"},
                    holidays="FR", closed=(date(2026, 10, 30),))


def tickets(count: int, seed: int) -> list[tuple[bool, datetime, timedelta, datetime, list]]:
    """(business clock?, created, target, answered, pauses) for each ticket."""
    rng = random.Random(seed)
    month_start = datetime(2026, 9, 30, 22, tzinfo=timezone.utc)  # 1 October 00:00 in Paris
    month = 31 * 24 * 3600
    made = []
    for _ in range(count):
        created = month_start + timedelta(seconds=rng.randrange(month), microseconds=rng.randrange(1_000_000))
        target = timedelta(minutes=rng.randrange(60, 8 * 60 + 1))
        answered = created + timedelta(seconds=rng.randrange(5 * 24 * 3600))
        pauses = []
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                begins = created + timedelta(seconds=rng.randrange(-3600, 3 * 24 * 3600))
                pauses.append((begins, begins + timedelta(seconds=rng.randrange(60, 2 * 24 * 3600))))
        made.append((rng.random() < 0.8, created, target, answered, pauses))
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    work = tickets(args.tickets, args.seed)
    late = 0
    started = time.perf_counter()
    for business, created, target, answered, pauses in work:
        clock = BusinessClock.of(CALENDAR) if business else TWENTY_FOUR_SEVEN
        deadline = clock.add(created, target, pauses)
        used = clock.elapsed(created, answered, pauses)
        late += used > target
        # The two answers must agree on every ticket: answered after the deadline <=> late.
        if (answered > deadline) != (used > target) and not (answered > deadline and used == target):
            raise SystemExit(f"deadline and elapsed disagree on the ticket created {created.isoformat()}")
    seconds = time.perf_counter() - started

    allowed = TARGET_SECONDS_PER_100K * args.tickets / 100_000
    verdict = "PASS" if seconds <= allowed else "FAIL"
    print(f"tickets        {args.tickets:,}  ({sum(w[0] for w in work):,} on the business calendar, "
          f"{sum(bool(w[4]) for w in work):,} with pauses)")
    print(f"late           {late:,}")
    print(f"seconds        {seconds:.3f}  (deadline + elapsed per ticket)")
    print(f"tickets/s      {args.tickets / seconds:,.0f}")
    print(f"{verdict}           target {allowed:g} s for {args.tickets:,} tickets")
    return 1 if args.strict and verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())

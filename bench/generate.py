"""A seeded synthetic book of business for benchmarking ``slabill evaluate``.

Writes, in the formats of INTERFACE.md sections 1 to 3::

    OUT/rules/*.yaml            three rule sets (plus an older version of one), 3 objectives each
    OUT/contracts.yaml          N contracts in EUR, USD, GBP, JPY and BHD, many time zones
    OUT/data/incidents.csv      M incident rows for the period (overlaps, month edges,
                                maintenance with and without notice, customer-caused, ...)
    OUT/data/requests.csv       a few sparse request-count rows per contract
    OUT/manifest.json           the parameters and row counts, for the benchmark

Only the standard library is used, every random choice comes from one
``random.Random(seed)``, and rows are written with the csv module, so the same
arguments always give the same bytes.

Nothing grows with the book but a few bytes per contract (its zone, rule set and incident
count): incidents are drawn in contract order and written in time order through sorted
runs spilled to temporary files and merged, so a 1,000,000-contract book with 10,000,000
incidents is written in a few hundred MB.

    .venv/bin/python bench/generate.py --contracts 100000 --incidents 1000000 --seed 42 --period 2026-10
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import tempfile
from array import array
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

GENERATOR_VERSION = 2
"""2: no two incidents of a contract's service start at the same second (that is their key)"""

# --- the book's shape ---------------------------------------------------------------------------

# currency: (weight, minor digits, compute fee range and storage fee range in minor units)
CURRENCIES = {
    "EUR": (40, 2, (20_000, 500_000), (5_000, 150_000)),
    "USD": (28, 2, (20_000, 500_000), (5_000, 150_000)),
    "GBP": (15, 2, (15_000, 400_000), (4_000, 120_000)),
    "JPY": (11, 0, (30_000, 800_000), (8_000, 200_000)),
    "BHD": (6, 3, (80_000, 2_000_000), (20_000, 600_000)),
}

# currency: [(country, locale, vat rate, home time zones, legal suffix)]
HOMES = {
    "EUR": [("FR", "fr_FR", "20", ("Europe/Paris",), "SAS"),
            ("DE", "de_DE", "19", ("Europe/Berlin",), "GmbH"),
            ("IE", "en_IE", "23", ("Europe/Dublin",), "Ltd")],
    "USD": [("US", "en_US", "0", ("America/New_York", "America/Chicago", "America/Los_Angeles"), "Inc.")],
    "GBP": [("GB", "en_GB", "20", ("Europe/London",), "Ltd")],
    "JPY": [("JP", "ja_JP", "10", ("Asia/Tokyo",), "K.K.")],
    "BHD": [("BH", "ar_BH", "10", ("Asia/Bahrain",), "W.L.L.")],
}

# Zones any customer may bill in, whatever its currency: UTC, half-hour offsets, and a
# southern-hemisphere zone whose clocks go forward in October.
OTHER_ZONES = ("UTC", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Asia/Singapore",
               "Europe/Paris", "America/New_York")

NAME_PARTS = ("Acme", "Nord", "Blue", "Orbit", "Helio", "Kappa", "Müller", "Société", "Atlas", "Zenith",
              "Hikari", "Dilmun", "Pearl", "Thames", "Quartz", "Lumen", "Vega", "Ibis", "Sakura", "Forge")

RULESETS = (("bench-hosting", 50), ("bench-premium", 30), ("bench-dedicated", 20))

# --- rule sets: three objectives each, covering tiers, per_unit, downtime_share,
# maintenance exclusions, the three count modes and both error-rate modes ------------------------

RULES = {
    "bench-hosting-{prev}.1.yaml": """\
# Managed hosting, {prev} terms (applies to {prev} only; here so the version choice is exercised).
ruleset: bench-hosting
version: "{prev}.1"
effective_from: {prev}-01-01
effective_until: {prev}-12-31
description: Managed hosting, {prev} terms
rounding: half_up

objectives:
  - id: availability
    service: compute
    metric: availability
    target: "99.9"
    exclusions:
      causes: [customer, force_majeure]
    credit:
      tiers:
        - {{below: "99.9", at_least: "99.0", credit: "10%"}}
        - {{below: "99.0", credit: "25%"}}

cap: "50%"
minimum_credit: "1.00"
""",
    "bench-hosting-{year}.1.yaml": """\
# Managed hosting: 99.9 % on compute (exact downtime, maintenance announced 5 days ahead
# excluded up to 4 hours), request error rates on storage (average of 5-minute rates),
# and storage availability paid per full hour of downtime (whole minutes, 2-minute minimum).
ruleset: bench-hosting
version: "{year}.1"
effective_from: {year}-01-01
description: Managed hosting, 99.9 % availability, storage on error rates
rounding: half_up

objectives:
  - id: availability
    service: compute
    metric: availability
    target: "99.9"
    downtime: {{count: exact, unit: 1m, min_duration: 0s}}
    exclusions:
      causes: [customer, force_majeure]
      maintenance: {{min_notice: 5d, max_per_period: 4h}}
      excluded_time: from_downtime
    credit:
      tiers:
        - {{below: "99.9", at_least: "99.0", credit: "10%"}}
        - {{below: "99.0", at_least: "95.0", credit: "25%"}}
        - {{below: "95.0", credit: "100%"}}

  - id: api-errors
    service: storage
    metric: error_rate
    target: "99.9"
    error_rate: {{mode: average, interval: 5m}}
    credit:
      tiers:
        - {{below: "99.9", at_least: "99.0", credit: "10%"}}
        - {{below: "99.0", at_least: "95.0", credit: "25%"}}
        - {{below: "95.0", credit: "100%"}}

  - id: storage-availability
    service: storage
    metric: availability
    target: "99.95"
    downtime: {{count: whole, unit: 1m, min_duration: 2m}}
    exclusions:
      causes: [customer]
      maintenance: {{min_notice: 3d}}
    credit:
      per_unit: {{every: 60m, credit: "5%", count: whole}}

cap: "50%"
minimum_credit: "1.00"
settlement: credit_note
""",
    "bench-premium-{year}.1.yaml": """\
# Premium: 99.99 % on compute counted in touched clock minutes, announced maintenance
# (2 days ahead, 2 hours a month) removed from the period; storage on 5-minute intervals
# above 5 % errors; storage availability paid as 10 times the share of the month it was down.
ruleset: bench-premium
version: "{year}.1"
effective_from: {year}-01-01
description: Premium compute and storage
rounding: half_even

objectives:
  - id: availability
    service: compute
    metric: availability
    target: "99.99"
    downtime: {{count: touched, unit: 1m}}
    exclusions:
      causes: [customer, force_majeure]
      maintenance: {{min_notice: 2d, max_per_period: 2h}}
      excluded_time: from_period
    credit:
      tiers:
        - {{below: "99.99", at_least: "99.0", credit: "10%"}}
        - {{below: "99.0", at_least: "95.0", credit: "30%"}}
        - {{below: "95.0", credit: "100%"}}

  - id: api-availability
    service: storage
    metric: error_rate
    target: "99.5"
    error_rate: {{mode: threshold, interval: 5m, threshold: "5"}}
    credit:
      tiers:
        - {{below: "99.5", at_least: "99.0", credit: "5%"}}
        - {{below: "99.0", credit: "15%"}}

  - id: storage-availability
    service: storage
    metric: availability
    target: "99.9"
    downtime: {{count: touched, unit: 5m}}
    exclusions:
      causes: [customer, maintenance]
    credit:
      downtime_share: {{multiple: "10"}}

cap: "100%"
settlement: credit_note
""",
    "bench-dedicated-{year}.1.yaml": """\
# Dedicated servers: compute in whole minutes (outages under 5 minutes ignored, maintenance
# counts like an outage) paid 2.5 % per hour, prorated; storage error rates averaged per
# minute; hourly intervals above 2 % errors, tiers without a target.
ruleset: bench-dedicated
version: "{year}.1"
effective_from: {year}-01-01
description: Dedicated servers, prorated hourly credits
rounding: down

objectives:
  - id: availability
    service: compute
    metric: availability
    target: "99.95"
    downtime: {{count: whole, unit: 1m, min_duration: 5m}}
    exclusions:
      causes: [customer]
    credit:
      per_unit: {{every: 60m, credit: "2.5%", count: prorata}}

  - id: api-errors
    service: storage
    metric: error_rate
    target: "99.95"
    error_rate: {{mode: average, interval: 1m}}
    credit:
      tiers:
        - {{below: "99.95", at_least: "99.0", credit: "10%"}}
        - {{below: "99.0", credit: "25%"}}

  - id: api-availability
    service: storage
    metric: error_rate
    error_rate: {{mode: threshold, interval: 1h, threshold: "2"}}
    credit:
      tiers:
        - {{below: "99.5", above: "98", credit: "5%"}}
        - {{at_most: "98", credit: "10%"}}

cap: "30%"
minimum_credit: "5.00"
settlement: next_invoice
""",
}

# --- timestamps ---------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY_TEXT: dict[int, str] = {}


def utc_text(seconds: int) -> str:
    """An instant (whole seconds since the epoch) as ISO 8601 with Z, without datetime per row."""
    days, rest = divmod(seconds, 86400)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = _DAY_TEXT[days] = (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}Z"


def local_text(seconds: int, zone: ZoneInfo) -> str:
    """The same instant in the contract's own zone, with its offset (+02:00, +05:30, ...)."""
    return datetime.fromtimestamp(seconds, zone).isoformat()


def month_window(year: int, month: int, zone: ZoneInfo) -> tuple[int, int]:
    """The period in ``zone`` as [start, end) in whole seconds since the epoch."""
    nxt = (year + month // 12, month % 12 + 1)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=zone)
    return int(start.timestamp()), int(end.timestamp())


# --- the generator ------------------------------------------------------------------------------

def _weighted(rng: random.Random, table) -> str:
    names = [name for name, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(names, weights)[0]


def _money(units: int, digits: int) -> str:
    if digits == 0:
        return str(units)
    text = str(units).rjust(digits + 1, "0")
    return f"{text[:-digits]}.{text[-digits:]}"


def _outage_seconds(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.65:
        return rng.randint(10, 300)            # blips: 10 s to 5 min
    if r < 0.93:
        return rng.randint(300, 1800)          # 5 to 30 min
    if r < 0.99:
        return rng.randint(1800, 7200)         # 30 min to 2 h
    return rng.randint(7200, 43200)            # 2 to 12 h


def write_rules(folder: Path, year: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    names = []
    for name, text in RULES.items():
        name = name.format(year=year, prev=year - 1)
        (folder / name).write_text(text.format(year=year, prev=year - 1), encoding="utf-8")
        names.append(name)
    return sorted(names)


def generate(out: str | Path, contracts: int = 100_000, incidents: int = 1_000_000, seed: int = 42,
             period: str = "2026-10", quiet: bool = True) -> dict:
    """Write the book into ``out`` and return its manifest (also written as manifest.json)."""
    began = time.perf_counter()
    out = Path(out)
    year, month = (int(part) for part in period.split("-"))
    first_day = date(year, month, 1)
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
    rng = random.Random(seed)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rule_files = write_rules(out / "rules", year)

    def say(message: str) -> None:
        if not quiet:
            print(f"  [{time.perf_counter() - began:6.1f} s] {message}", file=sys.stderr, flush=True)

    # 1. contracts ------------------------------------------------------------------------------
    width = max(6, len(str(contracts)))
    zones: dict[str, ZoneInfo] = {}
    windows: dict[str, tuple[int, int]] = {}
    zone_names: list[str] = []  # each zone once; a contract keeps its zone's index
    contract_zones = array("H")  # per contract, for the measurements: a few bytes, not a tuple of texts
    contract_rulesets = array("B")
    ruleset_names = [name for name, _ in RULESETS]

    def contract_id_of(index: int) -> str:
        return f"C-{str(index + 1).zfill(width)}"
    currency_table = [(code, spec[0]) for code, spec in CURRENCIES.items()]
    active_from = date(year - 3, 1, 1)
    span_days = (first_day - active_from).days
    with (out / "contracts.yaml").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('issuer: {name: Benchco Cloud SAS, vat_id: FR40123456789, country: FR, '
                     'address: "1 rue de la Paix, 75002 Paris", credit_note_prefix: BC}\n')
        handle.write("contracts:\n")
        for index in range(contracts):
            number = str(index + 1).zfill(width)
            contract_id = f"C-{number}"
            currency = _weighted(rng, currency_table)
            _, digits, compute_fees, storage_fees = CURRENCIES[currency]
            country, locale, vat, home_zones, suffix = rng.choice(HOMES[currency])
            zone = rng.choice(home_zones) if rng.random() < 0.75 else rng.choice(OTHER_ZONES)
            if zone not in zones:
                zones[zone] = ZoneInfo(zone)
                windows[zone] = month_window(year, month, zones[zone])
                zone_names.append(zone)
            ruleset = _weighted(rng, RULESETS)
            # Most contracts run the whole month; some start or end inside it.
            r = rng.random()
            start = active_from + timedelta(days=rng.randrange(span_days))
            end = None
            if r < 0.01:
                start = first_day + timedelta(days=rng.randint(1, 20))
            elif r < 0.02:
                end = first_day + timedelta(days=rng.randint(9, (last_day - first_day).days))
            elif r < 0.07:
                end = date(year + 1, 12, 31)
            name = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_PARTS)} {number} {suffix}"
            customer = (f"{{id: K-{number}, name: \"{name}\", locale: {locale}, country: {country}"
                        + (f", vat_id: {country}{rng.randrange(10**10, 10**11)}" if country != "US" else "")
                        + f", address: \"{rng.randint(1, 200)} Harbour Road, {rng.randint(10000, 99999)} City\""
                        + f", email: billing@k-{number}.example}}")
            lines = [
                f"  - id: {contract_id}",
                f"    customer: {customer}",
                f"    currency: {currency}",
                f"    timezone: {zone}",
                f"    ruleset: {ruleset}",
                f"    start: {start.isoformat()}",
            ]
            if end is not None:
                lines.append(f"    end: {end.isoformat()}")
            lines += [
                f"    vat_rate: \"{vat}\"",
                "    services:",
                f"      - {{id: compute, monthly_fee: \"{_money(rng.randint(*compute_fees), digits)}\"}}",
                f"      - {{id: storage, monthly_fee: \"{_money(rng.randint(*storage_fees), digits)}\"}}",
            ]
            if rng.random() < 0.3:  # a service without objectives: counts towards the cap only
                lines.append(f"      - {{id: backup, monthly_fee: \"{_money(rng.randint(*storage_fees) // 4, digits)}\"}}")
            handle.write("\n".join(lines) + "\n")
            contract_zones.append(zone_names.index(zone))
            contract_rulesets.append(ruleset_names.index(ruleset))
    say(f"{contracts} contracts")

    # 2. incidents: ~15 % of the rows go to 2 % of the contracts (a few bad customers) ----------
    counts = [0] * contracts
    hot = rng.sample(range(contracts), max(1, contracts // 50)) if contracts else []
    randrange, random_ = rng.randrange, rng.random
    for _ in range(incidents if contracts else 0):
        if random_() < 0.15:
            counts[hot[randrange(len(hot))]] += 1
        else:
            counts[randrange(contracts)] += 1

    causes = (("", 39), ("outage", 39), ("customer", 8), ("force_majeure", 2), ("maintenance", 12))
    cause_names = [c for c, _ in causes]
    cause_cum = []
    acc = 0
    for _, weight in causes:
        acc += weight
        cause_cum.append(acc)
    runs = _SortedRuns(data)  # rows in time order, spilled in sorted runs and merged at the end
    late = _Spool(data)  # rows that arrive out of order: written last, in the order drawn
    stats = {"overlapping": 0, "crossing_period_edge": 0, "outside_period": 0, "maintenance": 0,
             "maintenance_announced": 0, "customer": 0, "local_offset": 0, "late_arrival": 0}
    sequence = 0
    for index, count in enumerate(counts):
        if not count:
            continue
        contract_id = contract_id_of(index)
        zone_name = zone_names[contract_zones[index]]
        zone = zones[zone_name]
        ws, we = windows[zone_name]
        previous: dict[str, tuple[int, int]] = {}
        started: set[tuple[str, int]] = set()
        for _ in range(count):
            service = "compute" if random_() < 0.65 else "storage"
            pick = random_() * acc
            cause = next(name for name, edge in zip(cause_names, cause_cum) if pick < edge)
            duration = rng.randint(1800, 10800) if cause == "maintenance" else _outage_seconds(rng)
            p = random_()
            prior = previous.get(service)
            if prior is not None and p < 0.06:            # overlaps the previous incident
                start = rng.randint(prior[0], prior[1] - 1)
                stats["overlapping"] += 1
            elif p < 0.08:                                 # crosses the start of the period
                start = ws - rng.randint(60, 6 * 3600)
                duration = max(duration, ws - start + rng.randint(60, 3 * 3600))
                stats["crossing_period_edge"] += 1
            elif p < 0.10:                                 # crosses the end of the period
                start = we - rng.randint(60, 6 * 3600)
                duration = max(duration, we - start + rng.randint(60, 3 * 3600))
                stats["crossing_period_edge"] += 1
            elif p < 0.105:                                # entirely outside (reported late)
                start = ws - rng.randint(2 * 86400, 5 * 86400) if random_() < 0.5 else we + rng.randint(3600, 86400)
                stats["outside_period"] += 1
            else:
                start = rng.randint(ws, we - 60)
            while (service, start) in started:  # (contract, service, start) is an incident's key (issue 17)
                start += 1
            started.add((service, start))
            end = start + duration
            previous[service] = (start, end)
            announced = ""
            if cause == "maintenance":
                stats["maintenance"] += 1
                q = random_()
                if q < 0.60:
                    announced = utc_text(start - rng.randint(5 * 86400, 14 * 86400))
                elif q < 0.70:
                    announced = utc_text(start - 5 * 86400)          # exactly the notice
                elif q < 0.85:
                    announced = utc_text(start - rng.randint(3600, 2 * 86400))  # too late
                stats["maintenance_announced"] += bool(announced)
            elif cause == "customer":
                stats["customer"] += 1
            if random_() < 0.2:
                start_text, end_text = local_text(start, zone), local_text(end, zone)
                stats["local_offset"] += 1
            else:
                start_text, end_text = utc_text(start), utc_text(end)
            row = (contract_id, service, start_text, end_text, cause, announced)
            if random_() < 0.02:                           # a row that arrives out of order
                late.add(row)
                stats["late_arrival"] += 1
            else:
                runs.add(start, sequence, row)
            sequence += 1
    say(f"{incidents} incidents drawn")
    with (data / "incidents.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("contract", "service", "start", "end", "cause", "announced_at"))
        writer.writerows(runs.merged())
        writer.writerows(late.rows())
    del runs, late
    say("incidents.csv written")

    # 3. request counts: sparse (an interval without a row counts as 0 %), a few per contract,
    # 1-minute rows that share 5-minute intervals, and a burst of bad intervals for some ------
    request_rows = 0
    with (data / "requests.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("contract", "service", "interval_start", "requests", "errors"))
        for index in range(contracts):
            contract_id = contract_id_of(index)
            ws, we = windows[zone_names[contract_zones[index]]]
            minutes_in_period = (we - ws) // 60
            used: set[int] = set()
            starts: list[int] = []
            for _ in range(rng.randint(0, 6)):
                minute = rng.randrange(minutes_in_period)
                if minute not in used:
                    used.add(minute)
                    starts.append(minute)
            bad: set[int] = set()
            if random_() < 0.02:                           # a bad stretch of 2 to 8 hours
                length = rng.randint(24, 96) * 5
                first = rng.randrange(minutes_in_period - length) // 5 * 5
                for minute in range(first, first + length, 5):
                    if minute not in used:
                        used.add(minute)
                        starts.append(minute)
                        bad.add(minute)
            if random_() < 0.01:                           # before the period: ignored
                starts.append(-rng.randint(1, 600))
            for minute in sorted(starts):
                requests = rng.randint(50, 50_000)
                q = 1.0 if minute in bad else random_()
                if q < 0.80:
                    errors = 0
                elif q < 0.92:
                    errors = rng.randint(0, requests // 100)
                else:
                    errors = rng.randint(requests // 10, requests * 3 // 5)
                writer.writerow((contract_id, "storage", utc_text(ws + minute * 60), requests, errors))
                request_rows += 1
    say(f"{request_rows} request rows written")

    manifest = {
        "generator_version": GENERATOR_VERSION,
        "contracts": contracts,
        "incidents": incidents,
        "seed": seed,
        "period": period,
        "request_rows": request_rows,
        "rule_files": rule_files,
        "incident_mix": stats,
        "contracts_per_ruleset": {name: contract_rulesets.count(position) for position, name in enumerate(ruleset_names)},
        "seconds": round(time.perf_counter() - began, 2),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


class _SortedRuns:
    """Rows to be written in (start, sequence) order, held a run at a time: each full run is
    sorted and spilled to a temporary file, and the runs are merged when written."""

    RUN = 250_000
    """rows sorted in memory at a time (about 100 MB of them)"""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: list[tuple[int, int, tuple]] = []
        self.files: list = []

    def add(self, start: int, sequence: int, row: tuple) -> None:
        self.pending.append((start, sequence, row))
        if len(self.pending) >= self.RUN:
            self._spill()

    def _spill(self) -> None:
        self.pending.sort(key=lambda item: (item[0], item[1]))
        spill = tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=self.folder)
        writer = csv.writer(spill, lineterminator="\n")
        writer.writerows((start, sequence, *row) for start, sequence, row in self.pending)
        spill.seek(0)
        self.files.append(spill)
        self.pending = []

    def merged(self):
        if self.pending:
            self._spill()
        readers = [((int(r[0]), int(r[1]), r[2:]) for r in csv.reader(spill)) for spill in self.files]
        for _, _, row in heapq.merge(*readers, key=lambda item: (item[0], item[1])):
            yield row
        for spill in self.files:
            spill.close()


class _Spool:
    """Rows kept in a temporary file in the order they were added."""

    def __init__(self, folder: Path) -> None:
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=folder)
        self.writer = csv.writer(self.file, lineterminator="\n")

    def add(self, row: tuple) -> None:
        self.writer.writerow(row)

    def rows(self):
        self.file.seek(0)
        yield from csv.reader(self.file)
        self.file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=100_000, help="contracts in the book (default 100000)")
    parser.add_argument("--incidents", type=int, default=None,
                        help="incident rows (default 10 per contract: 1000000 for 100000 contracts)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--period", default="2026-10", help="the month, YYYY-MM (default 2026-10)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "data"),
                        help="output folder (default bench/data)")
    args = parser.parse_args(argv)
    if args.incidents is None:
        args.incidents = 10 * args.contracts
    if args.contracts < 1 or args.incidents < 0:
        parser.error("--contracts must be at least 1 and --incidents at least 0")
    try:
        year, month = (int(part) for part in args.period.split("-"))
        date(year, month, 1)
    except ValueError:
        parser.error(f"--period must be YYYY-MM, not {args.period!r}")
    manifest = generate(args.out, args.contracts, args.incidents, args.seed, args.period, quiet=False)
    print(f"wrote {args.out}: {manifest['contracts']} contracts, {manifest['incidents']} incidents, "
          f"{manifest['request_rows']} request rows in {manifest['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

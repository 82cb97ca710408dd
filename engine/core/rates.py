"""Reference-rate tables (ECB, Bank of England, Basiszinssatz, French legal rate), as data.

A table lists dated values; each holds from its date until the next one.  A table
says how far it is known to be right with ``confirmed_until`` (without it, only up to
its last value's date): asked for a rate before its first value or after that date,
slabill refuses with an error naming the table and the date.  It never guesses.

Every lookup returns the row it used, so an evaluation record can keep exactly the rows
it relied on.  Reading the tables from files is ``engine.loading.rates``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Literal

from pydantic import ConfigDict, Field, model_validator

from .errors import KeyedValueError, RateMissingError
from .schema import Frozen, Percent


class RateValue(Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    since: date = Field(alias="from")
    rate: Percent


class RateTable(Frozen):
    """A dated series of a reference rate."""

    rate_table: str
    unit: Literal["percent"] = "percent"
    values: tuple[RateValue, ...]
    confirmed_until: date | None = None
    """the last day the table is known to be right; without it, its last value's date"""

    @model_validator(mode="after")
    def _ordered(self) -> "RateTable":
        if not self.values:
            raise KeyedValueError(("values",), "a rate table needs at least one value")
        for index in range(1, len(self.values)):
            if self.values[index].since <= self.values[index - 1].since:
                raise KeyedValueError(("values", index, "from"), "values must be in date order, one per date")
        if self.confirmed_until is not None and self.confirmed_until < self.values[-1].since:
            raise KeyedValueError(("confirmed_until",), "confirmed_until is before the table's last value")
        return self

    @property
    def known_until(self) -> date:
        return self.confirmed_until or self.values[-1].since

    def in_force(self, day: date) -> RateValue:
        """The value in force on ``day``; refused outside what the table covers.

        >>> table = RateTable.model_validate({"rate_table": "t", "values": [{"from": "2025-06-11", "rate": "2.15"}],
        ...                                   "confirmed_until": "2026-06-30"})
        >>> table.in_force(date(2026, 1, 1)).rate
        Decimal('2.15')
        >>> table.in_force(date(2026, 7, 1))
        Traceback (most recent call last):
        ...
        engine.core.errors.RateMissingError: field rate table t: no rate is known for 2026-07-01: the table is confirmed only until 2026-06-30; add the rate in force on that date to t.yaml.
        """
        if day < self.values[0].since:
            raise RateMissingError(f"no rate is known for {day.isoformat()}: the table starts on "
                                   f"{self.values[0].since.isoformat()}", field=f"rate table {self.rate_table}")
        if day > self.known_until:
            raise RateMissingError(f"no rate is known for {day.isoformat()}: the table is confirmed only until "
                                   f"{self.known_until.isoformat()}; add the rate in force on that date to "
                                   f"{self.rate_table}.yaml", field=f"rate table {self.rate_table}")
        found = self.values[0]
        for value in self.values:
            if value.since > day:
                break
            found = value
        return found


@dataclass(frozen=True)
class RateBook:
    """The reference-rate tables an evaluation may consult, by name."""

    tables: dict[str, RateTable]
    where: str = ""

    def table(self, name: str) -> RateTable:
        found = self.tables.get(name)
        if found is None:
            raise RateMissingError(f"the rate table {name} is needed but was not found"
                                   + (f" in {self.where}" if self.where else ""), field=f"rate table {name}")
        return found

    def rows(self, used: Iterable[tuple[str, date]]) -> dict[str, dict]:
        """The rows an evaluation used, as data for its record (enough to look them up again)."""
        result: dict[str, dict] = {}
        for name, since in sorted(set(used)):
            table = self.tables[name]
            entry = result.setdefault(name, {"rate_table": name, "unit": table.unit, "values": [],
                                             "confirmed_until": table.known_until.isoformat()})
            value = next(v for v in table.values if v.since == since)
            entry["values"].append({"from": since.isoformat(), "rate": str(value.rate)})
        return result

    @classmethod
    def from_rows(cls, rows: dict[str, dict]) -> "RateBook":
        return cls({name: RateTable.model_validate(data) for name, data in rows.items()}, "the record")

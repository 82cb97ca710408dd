"""The clock: the one place slabill reads the date and the time.

Everything else takes them as arguments: the issue date of a run (``as_of``) and the
instants a run starts and ends (``now``), so an evaluation never depends on when it ran
and a replay years later gives the same figures.  Only the command line reads the clock,
for defaults (import-linter holds every other module to that).
"""

from __future__ import annotations

from datetime import date, datetime, timezone


def now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date on this machine: the default issue date of a run."""
    return date.today()

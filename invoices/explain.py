""""Why this credit, or why none?": an evaluation record told in the customer's language.

The record says everything (attainment against target, each incident's part, the
tier, cap and minimum, the documents issued); this module only words it, with the
same catalogs and Babel formats as the documents.  Times are shown in the contract's
time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time, get_timezone_gmt

from .render import Formats, _environment, language_of


class ExplainFormats(Formats):
    def __init__(self, locale: str, currency: str, timezone: str) -> None:
        super().__init__(locale, currency)
        self.zone = ZoneInfo(timezone)

    def _clocks_change(self, day: date) -> bool:
        """Whether the clocks change on ``day``: its wall times may be ambiguous, so offsets are shown."""
        midnight = datetime.combine(day, time(0), self.zone).astimezone(timezone.utc)
        following = datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(timezone.utc)
        return following - midnight != timedelta(days=1)

    def moment(self, value: datetime | str) -> str:
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(value, "medium", tzinfo=self.zone, locale=self.locale)

    def span(self, start: datetime | str, end: datetime | str) -> str:
        """From one instant to another in the contract's zone; the day is written once when it is the same.

        On a day the clocks change both ends carry their UTC offset, so that 02:00 to 02:30
        on the night the clocks go back reads as the 90 minutes it was, and the 02:30 that
        happened twice says which one it was.
        """
        start = datetime.fromisoformat(start) if isinstance(start, str) else start
        end = datetime.fromisoformat(end) if isinstance(end, str) else end
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        first, last = self.moment(start), (format_time(end, "medium", tzinfo=self.zone, locale=self.locale)
                                          if local_start.date() == local_end.date() else self.moment(end))
        if local_start.utcoffset() != local_end.utcoffset() or self._clocks_change(local_start.date()):
            first += " " + get_timezone_gmt(local_start, "long", self.locale)
            last += " " + get_timezone_gmt(local_end, "long", self.locale)
        return f"{first} – {last}"


def explain(record: dict[str, Any], locale: str | None = None) -> str:
    """The explanation of one evaluation record, in ``locale`` (default: the customer's)."""
    contract = record["inputs"]["contract"]
    locale = locale or contract["customer"]["locale"]
    evaluation = record["result"]["evaluation"]
    outcomes = {o["objective"]: o.get("incidents", []) for o in record["result"]["outcomes"]}
    tickets = {o["objective"]: o["tickets"] for o in record["result"]["outcomes"] if "tickets" in o}
    template = _environment(language_of(locale)).get_template("explain.txt.j2")
    return template.render(
        record=record, contract=contract, evaluation=evaluation, outcomes=outcomes, tickets=tickets,
        f=ExplainFormats(locale, contract["currency"], contract["timezone"]),
    )

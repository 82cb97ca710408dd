""""Why this credit, or why none?": an evaluation record told in the customer's language.

The record says everything (attainment against target, each incident's part, the
tier, cap and minimum, the documents issued); this module only words it, with the
same catalogs and Babel formats as the documents.  Times are shown in the contract's
time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from .render import Formats, _environment, language_of


class ExplainFormats(Formats):
    def __init__(self, locale: str, currency: str, timezone: str) -> None:
        super().__init__(locale, currency)
        self.zone = ZoneInfo(timezone)

    def moment(self, text: str) -> str:
        return format_datetime(datetime.fromisoformat(text), "medium", tzinfo=self.zone, locale=self.locale)


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

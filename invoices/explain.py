""""Why this credit, or why none?": an evaluation record told in the customer's language.

The record says everything (attainment against target, each incident's part, the
tier, cap and minimum, the documents issued); this module only words it, with the
same catalogs and Babel formats as the documents, calling each objective as they call
it and showing its figures as they show them.  Times are shown in the contract's time
zone.
"""

from __future__ import annotations

from typing import Any

from .formats import ExplainFormats, language_of, shown_attainment
from .present import record_titles, wording
from .render import template


def explain(record: dict[str, Any], locale: str | None = None) -> str:
    """The explanation of one evaluation record, in ``locale`` (default: the customer's)."""
    contract = record["inputs"]["contract"]
    locale = locale or contract["customer"]["locale"]
    evaluation = record["result"]["evaluation"]
    outcomes = {o["objective"]: o.get("incidents", []) for o in record["result"]["outcomes"]}
    tickets = {o["objective"]: o["tickets"] for o in record["result"]["outcomes"] if "tickets" in o}
    language = language_of(locale)
    words = wording(language, False)
    return template("explain.txt.j2", language).render(
        record=record, contract=contract, evaluation=evaluation, outcomes=outcomes, tickets=tickets,
        f=ExplainFormats(locale, contract["currency"], contract["timezone"]),
        headings={key: words.objective(title, heading=True) for key, title in record_titles(evaluation).items()},
        measured={o["id"]: shown_attainment(o["attainment"], o["target"], o["met"]) for o in evaluation["objectives"]},
    )

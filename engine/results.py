"""Evaluations as users read them: the JSON of INTERFACE.md section 5, and a Rich table.

Money is text with exactly the currency's minor-unit digits, percentages are text in
percent, attainment is rounded half-up to 6 decimals (tiers were matched on the exact
value), minutes have as few decimals as they need (at most 6).
"""

from __future__ import annotations

import json
from typing import IO, Iterable

from .evaluation import Evaluation
from .money import Money, fixed, format_amount, plain

ATTAINMENT_DIGITS = 6


def objective_json(evaluation: Evaluation) -> list[dict]:
    lines = {line.objective: line for line in evaluation.pricing.lines}
    result = []
    for objective, measure in evaluation.measures:
        line = lines[objective.id]
        entry: dict[str, object] = {
            "id": objective.id,
            "service": objective.service,
            "metric": objective.metric.value,
            "period_minutes": plain(measure.period_minutes),
        }
        if measure.downtime_minutes is not None:
            entry["downtime_minutes"] = plain(measure.downtime_minutes)
        if measure.excluded_minutes is not None:
            entry["excluded_minutes"] = plain(measure.excluded_minutes)
        entry.update({key: value for key, value in measure.figures.items()})
        promised = objective.promised
        entry.update({
            "attainment": fixed(measure.attainment, ATTAINMENT_DIGITS),
            "target": str(promised) if promised is not None else None,
            "met": line.met,
            "tier": line.tier,
            "credit_percent": plain(line.credit_percent),
            "credit": str(line.amount),
        })
        if line.units is not None:
            entry["units"] = plain(line.units)
        if objective.credit.per_breach is not None:
            entry["per_breach"] = format_amount(objective.credit.per_breach, evaluation.currency)
        if measure.base_minutes != measure.period_minutes:
            entry["base_minutes"] = plain(measure.base_minutes)
        entry["fee"] = str(line.fee)
        result.append(entry)
    return result


def late_fees_json(evaluation: Evaluation) -> list[dict]:
    """Per late invoice: days late in the period, rate, interest, fixed sum, and always its segments.

    INTERFACE.md shows segments "when late_fees spans several rates"; a calendar month
    never crosses 1 January or 1 July, so most entries have one segment, and listing it
    every time lets a script (or an auditor) read the days, rate and outstanding amount of
    every entry the same way.
    """
    if evaluation.late_fees is None:
        return []
    currency = evaluation.currency
    entries = []
    for fee in evaluation.late_fees.fees:
        entry: dict[str, object] = {
            "invoice": fee.invoice, "days_late": fee.days_late, "rate_percent": str(fee.rate_percent),
            "interest": str(fee.interest), "compensation": str(fee.compensation), "total": str(fee.total),
            "first_late_day": fee.first_late_day.isoformat(), "base": format_amount(fee.base, currency),
        }
        entry["segments"] = [segment_json(s, currency, evaluation.rule_set.rounding) for s in fee.segments]
        entries.append(entry)
    return entries


def segment_json(segment, currency: str, rounding) -> dict:
    return {"from": segment.start.isoformat(), "to": segment.end.isoformat(), "days": segment.days,
            "rate_percent": str(segment.rate_percent),
            "outstanding": str(Money.round(segment.outstanding, currency, rounding)),
            "interest": str(Money.round(segment.interest, currency, rounding))}


def evaluation_json(evaluation: Evaluation) -> dict:
    """One element of ``results``."""
    pricing = evaluation.pricing
    rule_set = evaluation.rule_set
    return {
        "contract": evaluation.contract.id,
        "currency": evaluation.currency,
        "ruleset": {"id": rule_set.ruleset, "version": rule_set.version, "sha256": rule_set.sha256},
        "objectives": objective_json(evaluation),
        "cap_applied": pricing.cap_applied,
        "credit_total": str(pricing.total),
        "credit_status": pricing.status,
        "late_fees": late_fees_json(evaluation),
        "late_fee_total": str(evaluation.late_fees.total if evaluation.late_fees else Money.zero(evaluation.currency)),
        "rules_fired": sorted(evaluation.fired),
    }


def evaluation_text(evaluation: Evaluation) -> str:
    """``evaluation_json`` as JSON text on one line: one element of ``results``."""
    return json.dumps(evaluation_json(evaluation), ensure_ascii=False)


def write_json(period: str, evaluations: Iterable[Evaluation], out: IO[str]) -> None:
    """The whole document, each result written as soon as it is evaluated so memory stays flat."""
    write_results(period, (evaluation_text(evaluation) for evaluation in evaluations), out)


def write_results(period: str, results: Iterable[str], out: IO[str]) -> None:
    """The document around results already turned into text by ``evaluation_text``.

    One result per line: pretty-printing with ``indent`` would switch json to its
    pure-Python encoder, a third of the time of a 100,000-contract evaluation; pipe the
    output through ``python -m json.tool`` to read it indented.
    """
    out.write('{"period": ' + json.dumps(period) + ', "results": [')
    count = 0
    for text in results:
        out.write(("," if count else "") + "\n  " + text)
        count += 1
    out.write(("\n" if count else "") + "]}\n")


def render_table(period: str, evaluations: Iterable[Evaluation]):
    """A readable summary per contract, for people at a terminal (a Rich table)."""
    from rich.table import Table

    table = Table(title=f"SLA evaluation {period}", show_lines=False)
    amounts = ("attainment", "target", "credit", "total", "late fees")
    for column in ("contract", "objective", "attainment", "target", "met", "tier", "credit", "total", "status",
                   "late fees"):
        # fold, never cut: on a narrow terminal an amount wraps rather than end in "…"
        table.add_column(column, justify="right" if column in amounts else "left", overflow="fold")
    for evaluation in evaluations:
        pricing = evaluation.pricing
        fees = evaluation.late_fees
        # charged to the customer, apart from the credits (INTERFACE.md's late_fee_total)
        late = f"{fees.total} {evaluation.currency}" if fees is not None and fees.fees else "-"
        rows = objective_json(evaluation)
        for index, row in enumerate(rows):
            first = index == 0
            table.add_row(
                evaluation.contract.id if first else "",
                row["id"], row["attainment"] + " %", (row["target"] or "-") + (" %" if row["target"] else ""),
                "yes" if row["met"] else "[bold red]no[/]",
                # counted from 1, as the documents count them ("Tier 1"); the JSON's tier is an index
                "-" if row["tier"] is None else str(row["tier"] + 1),
                f"{row['credit']} {evaluation.currency}",
                f"{pricing.total} {evaluation.currency}" + (" (capped)" if pricing.cap_applied else "") if first else "",
                pricing.status if first else "",
                late if first else "",
            )
        if not rows:
            table.add_row(evaluation.contract.id, "-", "", "", "", "", "", f"{pricing.total} {evaluation.currency}",
                          pricing.status, late)
    return table

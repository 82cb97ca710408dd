"""Evaluations as users read them: the JSON of INTERFACE.md sections 5 and 6.

Money is text with exactly the currency's minor-unit digits, percentages are text in
percent, attainment is rounded half-up to 6 decimals (tiers were matched on the exact
value, or on ``attainment_rounded`` when the objective rounds it), minutes have as few
decimals as they need (at most 6).  An objective the rule set names carries its ``name`` as
written.  The keys of section 6 appear only for rule sets that use its terms, so the JSON of
every other rule set is what it always was.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .evaluation import Evaluation
from .measure import compared_attainment
from .money import Money, fixed, format_amount, plain
from .pricing import allowance_minutes

ATTAINMENT_DIGITS = 6


def utc_text(moment: datetime) -> str:
    """An instant in UTC as ISO 8601 with ``Z``, seconds always, microseconds when it has them.

    >>> utc_text(datetime(2026, 4, 30, 23, 50, tzinfo=timezone.utc))
    '2026-04-30T23:50:00Z'
    """
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def objective_json(evaluation: Evaluation) -> list[dict]:
    lines = {line.objective: line for line in evaluation.pricing.lines}
    result = []
    for objective, measure in evaluation.measures:
        line = lines[objective.id]
        entry: dict[str, object] = {"id": objective.id}
        if objective.name is not None:
            # What documents, reports and explanations call it: in the record, so that they
            # word it from the record alone, as it was when the record was made.
            entry["name"] = objective.name
        entry.update({
            "service": objective.service,
            "metric": objective.metric.value,
            "period_minutes": plain(measure.period_minutes),
        })
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
        if objective.uses_additions:
            section6_keys(entry, objective, measure, line, evaluation)
        result.append(entry)
    return result


def section6_keys(entry: dict, objective, measure, line, evaluation: Evaluation) -> None:
    """The keys of INTERFACE.md section 6 an objective's terms call for (documents add them to a line's detail)."""
    rounding = objective.attainment_rounding
    if rounding is not None:
        entry["attainment_rounded"] = fixed(compared_attainment(objective, measure), rounding.decimals)
    if objective.period_basis == "active" and measure.window is not None:
        window = measure.window
        if window.start != evaluation.assessment.window.start:  # type: ignore[union-attr]
            entry["active_from"] = window.start.astimezone(ZoneInfo(window.zone)).date().isoformat()
        if window.end != evaluation.assessment.window.end:  # type: ignore[union-attr]
            entry["active_to"] = (window.end.astimezone(ZoneInfo(window.zone)).date() - timedelta(days=1)).isoformat()
    if line.beyond_minutes is not None:
        entry["allowance_minutes"] = plain(allowance_minutes(objective, measure))
        entry["beyond_minutes"] = plain(line.beyond_minutes)
    if line.credit_days is not None:
        entry["credit_days"] = str(line.credit_days)
    if objective.credit.per_outage is not None:
        entry["outages"] = [_outage(o, evaluation.currency) for o in line.outages]
    if line.in_total is not None:
        entry["group"] = objective.group
        entry["in_total"] = line.in_total


def _outage(outage, currency: str) -> dict:
    entry: dict[str, object] = {"start": utc_text(outage.start), "end": utc_text(outage.end),
                                "counted_minutes": plain(outage.counted_minutes), "credit": str(outage.credit)}
    if outage.tier is not None:
        entry["tier"] = outage.tier
    if outage.capped:
        entry["capped"] = True
    return entry


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
    result = {
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
    if rule_set.assessment == "quarter":
        # Which months the objectives were measured over: the quarter, or none this month.
        result["assessment"] = "quarter"
        assessed = evaluation.assessment
        if assessed is not None:
            result["assessed_from"] = assessed.first.first_day.isoformat()
            result["assessed_to"] = assessed.last.last_day.isoformat()
    return result


def evaluation_text(evaluation: Evaluation) -> str:
    """``evaluation_json`` as JSON text on one line: one element of ``results``."""
    return json.dumps(evaluation_json(evaluation), ensure_ascii=False)

"""Response- and resolution-time objectives, judged on business clocks, figures by hand."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from engine.core.evaluation import evaluate_contract
from engine.core.model import Contract, Measurements, Ticket, TicketPause
from engine.core.period import Period
from engine.core.schema import RuleSet
from tests.conftest import at


def rules(objective: dict, holidays: str | None = None, hours: str = "09:00-17:00") -> RuleSet:
    calendar = {"timezone": "Europe/Paris", "hours": {"mon-fri": hours}}
    if holidays:
        calendar["holidays"] = holidays
    return RuleSet.model_validate({"ruleset": "support", "version": "1", "effective_from": "2026-01-01",
                                   "calendars": {"office": calendar}, "objectives": [objective]})


def response(target="4h", clock="office", credit=None, **extra) -> dict:
    return {"id": "p1", "service": "support", "metric": "response_time", "priority": "P1", "target_time": target,
            "clock": clock, "credit": credit or {"per_breach": "50.00"}, **extra}


CONTRACT = Contract.model_validate({
    "id": "C-1", "customer": {"id": "K", "name": "K", "locale": "fr_FR", "country": "FR"}, "currency": "EUR",
    "timezone": "Europe/Paris", "ruleset": "support", "start": "2025-01-01", "vat_rate": "20",
    "services": [{"id": "support", "monthly_fee": "400.00"}]})


def ticket(name, created, answered=None, resolved=None, priority="P1"):
    return Ticket("C-1", name, priority, at(created), at(answered) if answered else None,
                  at(resolved) if resolved else None, 2)


def evaluate(rule_set, tickets, period="2026-04", pauses=()):
    by_ticket: dict = {}
    for pause in pauses:
        by_ticket.setdefault(pause.ticket, []).append(pause)
    data = Measurements(tickets={"C-1": list(tickets)}, pauses=by_ticket)
    evaluation = evaluate_contract(CONTRACT, rule_set, data, Period.parse(period))
    (objective, measure), = evaluation.measures
    return evaluation, measure, {t.ticket: t.status for t in measure.tickets}


# --- the cases --------------------------------------------------------------------------------

@pytest.mark.parametrize("answered, status", [
    ("2026-04-06T12:00:00+02:00", "within"),   # Fri 3 Apr 16:00 + 4 h of Mon-Fri 09-17: Mon 12:00, exactly at target
    ("2026-04-06T12:01:00+02:00", "late"),
])
def test_friday_16_00_with_four_business_hours_is_due_monday_12_00(answered, status):
    _, _, outcome = evaluate(rules(response()), [ticket("T", "2026-04-03T16:00:00+02:00", answered)])
    assert outcome == {"T": status}


@pytest.mark.parametrize("answered, status", [
    ("2026-04-06T12:00:00+02:00", "within"),    # Easter Monday (6 Apr 2026) is closed: nothing counted after Friday
    ("2026-04-07T12:00:00+02:00", "within"),    # due Tuesday 12:00
    ("2026-04-07T12:00:01+02:00", "late"),
])
def test_with_a_french_holiday_on_the_monday_it_is_due_tuesday_12_00(answered, status):
    _, measure, outcome = evaluate(rules(response(), holidays="FR"), [ticket("T", "2026-04-03T16:00:00+02:00", answered)])
    assert outcome == {"T": status}


def test_a_ticket_crossing_the_dst_change_in_paris():
    # Fri 27 Mar 2026 16:00 CET; the clocks go forward on Sun 29 Mar.  Business time: 1 h on
    # Friday, then Monday 30 Mar 09:00-12:00 CEST: due Mon 12:00 CEST (10:00Z), although 67 h
    # of real time (not 68) have passed.
    _, measure, outcome = evaluate(rules(response()), [
        ticket("ON", "2026-03-27T16:00:00+01:00", "2026-03-30T12:00:00+02:00"),
        ticket("LATE", "2026-03-27T16:00:00+01:00", "2026-03-30T12:00:01+02:00")], period="2026-03")
    assert outcome == {"ON": "within", "LATE": "late"}
    assert {t.ticket: t.elapsed for t in measure.tickets}["ON"] == timedelta(hours=4)


def test_split_opening_hours():
    # 09:00-12:00 and 13:00-17:00: from Wed 8 Apr 11:30 to 13:30 counts 30 + 30 = 60 min.
    split = rules(response("1h"), hours="09:00-12:00, 13:00-17:00")
    _, measure, outcome = evaluate(split, [ticket("T", "2026-04-08T11:30:00+02:00", "2026-04-08T13:30:00+02:00"),
                                           ticket("U", "2026-04-08T11:30:00+02:00", "2026-04-08T13:31:00+02:00")])
    assert outcome == {"T": "within", "U": "late"}
    assert measure.tickets[0].elapsed == timedelta(hours=1)


def test_a_pause_overlapping_closed_hours():
    # Thu 9 Apr 16:00 to Fri 10 Apr 11:00 is 1 h + 2 h = 3 h of business time; the pause from
    # Thu 16:30 to Fri 09:30 removes only its open parts, 30 + 30 min: 2 h counted.
    _, measure, outcome = evaluate(rules(response("2h")), [ticket("T", "2026-04-09T16:00:00+02:00",
                                                                 "2026-04-10T11:00:00+02:00")],
                                   pauses=[TicketPause("T", at("2026-04-09T16:30:00+02:00"),
                                                       at("2026-04-10T09:30:00+02:00"), 2)])
    assert measure.tickets[0].elapsed == timedelta(hours=2)
    assert outcome == {"T": "within"}                      # exactly at the 2 h target


def test_open_tickets_at_the_end_of_the_month():
    # Thu 30 Apr 2026 15:00: 2 h of business time by the end of April (Friday 1 May is a
    # holiday in France, but the month ends first).
    tickets = [ticket("PAST", "2026-04-30T11:00:00+02:00"),      # 6 h by 30 Apr 17:00 > 4 h: late now
               ticket("NOT-YET", "2026-04-30T15:00:00+02:00")]   # 2 h < 4 h: left to May
    _, measure, outcome = evaluate(rules(response(), holidays="FR"), tickets)
    assert outcome == {"PAST": "open_late", "NOT-YET": "carried"}
    assert (measure.figures["tickets"], measure.figures["late_tickets"], measure.figures["carried_to_next_period"]) == (1, 1, 1)
    # In May the carried ticket is judged: 1 May is a holiday, answered Mon 4 May 10:00 (2 + 1 = 3 h).
    may = [ticket("PAST", "2026-04-30T11:00:00+02:00", "2026-05-04T09:30:00+02:00"),
           ticket("NOT-YET", "2026-04-30T15:00:00+02:00", "2026-05-04T10:00:00+02:00")]
    _, measure, outcome = evaluate(rules(response(), holidays="FR"), may, period="2026-05")
    assert outcome == {"NOT-YET": "within"}                # PAST was judged in April already


def test_a_month_with_no_tickets_is_met():
    # Only a P2 ticket: the P1 objective judges nothing, so it is met at 100 %.
    tiered = response(target="1h", credit={"tiers": [{"below": "95", "credit": "10%"}]})
    evaluation, measure, outcome = evaluate(rules(tiered), [ticket("OTHER", "2026-04-08T10:00:00+02:00",
                                                                   "2026-04-08T18:00:00+02:00", priority="P2")])
    assert outcome == {}
    assert measure.attainment == 100 and measure.figures["tickets"] == 0
    assert evaluation.pricing.lines[0].met and evaluation.pricing.status == "none"


def test_per_breach_credits():
    # Three P1 tickets, two answered late: 2 x 50.00 = 100.00; attainment 1 / 3.
    tickets = [ticket("A", "2026-04-08T10:00:00+02:00", "2026-04-08T11:00:00+02:00"),
               ticket("B", "2026-04-08T10:00:00+02:00", "2026-04-08T15:00:00+02:00"),
               ticket("C", "2026-04-09T09:00:00+02:00", "2026-04-10T09:00:00+02:00")]
    evaluation, measure, outcome = evaluate(rules(response()), tickets)
    assert outcome == {"A": "within", "B": "late", "C": "late"}
    line = evaluation.pricing.lines[0]
    assert (line.met, str(line.units), str(line.amount)) == (False, "2", "100.00")
    assert measure.attainment == Fraction(100, 3)   # 100 x 1 / 3, exactly (shown 33.333333)


def test_resolution_time_and_tiers_on_attainment():
    # Resolution within 8 business hours, 95 % of tickets: 1 of 2 within = 50 % -> the tier
    # below 95 % pays 10 % of the 400.00 support fee = 40.00.
    objective = {"id": "fix", "service": "support", "metric": "resolution_time", "target_time": "8h",
                 "clock": "office", "target": "95", "credit": {"tiers": [{"below": "95", "credit": "10%"}]}}
    tickets = [ticket("A", "2026-04-08T09:00:00+02:00", "2026-04-08T09:10:00+02:00", "2026-04-08T17:00:00+02:00"),
               ticket("B", "2026-04-08T09:00:00+02:00", "2026-04-08T09:10:00+02:00", "2026-04-09T09:00:01+02:00")]
    evaluation, measure, outcome = evaluate(rules(objective), tickets)
    assert outcome == {"A": "within", "B": "late"}
    assert str(evaluation.pricing.total) == "40.00"


def test_twenty_four_seven_clock():
    # 24x7: Fri 16:00 + 4 h is Fri 20:00.
    _, _, outcome = evaluate(rules(response(clock="24x7")), [ticket("T", "2026-04-03T16:00:00+02:00",
                                                                    "2026-04-03T20:00:01+02:00")])
    assert outcome == {"T": "late"}

"""What customers read of section 6's terms: credit notes, adjustment statements, the monthly report
and ``explain`` word quarters, outages, groups, days of the fee and count tiers, in every language
shipped, from the scenario books run through the store."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from engine.core.period import Period
from engine.jobs.run import monthly_run
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_files, rule_set_files
from invoices.documents import Document
from invoices.explain import explain
from invoices.render import render
from invoices.report import render_report
from tests.conftest import ROOT

SCENARIOS = ROOT / "fixtures" / "scenarios"


def ran(store, scenario: str, period: str):
    folder = SCENARIOS / scenario
    book = load_book(folder / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(folder / "rules")),
               measurements=load_measurements(folder / "data", book), rates=load_rates(folder / "rules"))
    monthly_run(store, Period.parse(period), as_of=date(2026, 11, 2),
                now=lambda: datetime(2026, 11, 2, tzinfo=timezone.utc))
    return store


def document(store, contract: str) -> Document:
    rows = [row for row in store.documents() if row.contract_id == contract]
    assert len(rows) == 1
    return Document.from_json(json.loads(rows[0].content_json))


def record(store, contract: str, period: str) -> dict:
    return json.loads(store.latest_records(period, contract)[contract].record_json)


def test_a_quarter_is_named_and_its_fees_are_the_basis(store):
    ran(store, "slack-quarterly", "2026-04")
    text = render(document(store, "SLACK-UTC"), "txt")
    assert "Fees of the quarter (3 months): $37,500.00" in text
    assert "The objectives are measured over the quarter from February 1, 2026 to April 30, 2026" in text
    french = render(document(store, "SLACK-UTC"), "txt", locale="fr_FR")
    assert "Redevances du trimestre (3\u00a0mois)" in french or "Redevances du trimestre (3 mois)" in french
    report = render_report(record(store, "SLACK-UTC", "2026-04"), "txt")
    assert "The quarter at a glance" in report
    # The chart has a column per day of the quarter: 28 + 31 + 30 = 89.
    strip = report.split("The quarter at a glance")[1].splitlines()[3].strip()
    assert len(strip) == 89
    why = explain(record(store, "SLACK-UTC", "2026-04"), "de_DE")
    assert "über das Quartal vom 1. Februar 2026 bis 30. April 2026" in why
    assert "25\u00a0% des Dienstes betroffen" in why  # the incident of partial impact


def test_each_outage_is_listed_with_its_credit(store):
    ran(store, "upcloud-per-interruption", "2026-04")
    text = render(document(store, "UP-1"), "txt")
    assert "Outage 30 Apr 2026, 23:50:00 – 1 May 2026, 00:20:00: 10 min counted in this period, €5.00." in text
    assert "Promised" not in text  # no target: nothing was promised as an attainment
    spanish = explain(record(store, "UP-1", "2026-04"), "es_ES")
    assert "Interrupción 9 abr 2026, 12:00:00 – 12:05:00: 5 min contabilizados en este periodo, 2,50\u00a0€." in spanish


def test_a_group_issues_only_its_largest_credit(store):
    ran(store, "snowflake-higher-of-two", "2026-06")
    credit_note = document(store, "SNOW-A")
    assert [line.objective for line in credit_note.lines] == ["errors-1pct"]
    assert str(credit_note.net_total) == "500.00"
    assert "Group query-sla pays only its largest credit, and this is it." in render(credit_note, "txt")
    report = render_report(record(store, "SNOW-A", "2026-06"), "html", locale="fr_FR")
    assert "Le groupe query-sla ne verse que son avoir le plus élevé, et c'est celui-ci." in report
    assert "Le groupe query-sla ne verse que son avoir le plus élevé\u00a0: celui-ci n'est pas ajouté au total." in report


def test_days_of_the_fee_are_said_as_days(store):
    ran(store, "allspice-days", "2026-02")
    text = render(document(store, "AS-FEB"), "txt")
    assert "The credit is written in days: 3 days of the fee, that is 10.714286% of it." in text


def test_count_tiers_are_worded_as_counts(store):
    ran(store, "edgevirt-support-breaches", "2026-10")
    text = render(document(store, "EV-2"), "txt")
    assert "Tier 1 (≥ 1 and ≤ 2 late tickets)" in text
    french = render(document(store, "EV-2"), "txt", locale="fr_FR")
    assert "tickets hors délai" in french


def test_belgian_terms_say_the_rounding(store):
    ran(store, "belgium-late-payment", "2025-06")
    statement = document(store, "BE-1")
    assert statement.notes["late_payment"]["rate_rounding"] == "0.5"
    # BE-1's customer writes French (fr_BE): the penalty terms say the half point.
    assert "arrondi au demi-point supérieur" in render(statement, "txt")


@pytest.mark.parametrize("language, words", [
    ("en_GB", "Measured from 16 June 2026, the first day of the contract."),
    ("fr_FR", "Mesuré à partir du 16 juin 2026, premier jour du contrat."),
    ("de_DE", "Gemessen ab dem 16. Juni 2026, dem ersten Tag des Vertrags."),
    ("es_ES", "Medido a partir del 16 de junio de 2026, primer día del contrato."),
])
def test_active_days_in_every_language(store, language, words):
    ran(store, "salesloft-active-days", "2026-06")
    assert words in explain(record(store, "SL-START", "2026-06"), language)


def test_the_report_charts_runs_of_intervals_as_they_were_counted(store):
    # BQ-C: a run of 10 bad minutes from 31 May 23:55 counts its 5 June minutes; the chart draws them,
    # and the 40-minute run of 15 June, and nothing else.
    ran(store, "bigquery-consecutive-minutes", "2026-06")
    report = render_report(record(store, "BQ-C", "2026-06"), "txt", rule_set=store.rule_set(
        record(store, "BQ-C", "2026-06")["ruleset"]["sha256"]))
    # (CLDR writes a narrow no-break space before AM)
    assert "Jun 1, 2026, 12:00:00\u202fAM – 12:05:00\u202fAM: more than 5% of the requests failed, 5 min counted" in report
    assert "Jun 15, 2026, 8:00:00\u202fAM – 8:40:00\u202fAM: more than 5% of the requests failed, 40 min counted" in report

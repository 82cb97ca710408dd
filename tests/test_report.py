"""The monthly SLA report: indicators worked out by hand on the demo book, rendering, the chart, the commands.

The demo book's October 2026 (fixtures/data/*.csv, explained in fixtures/expected/README.md)
is run once into a SQLite store; each test reads the evaluation records it needs.  Figures
are written as the arithmetic that gives them, from the CSV rows and the README's tables.
Times are UTC unless said otherwise; Paris is UTC+2 until 25 October 03:00, then UTC+1, so
October in Paris is the window 2026-09-30 22:00 to 2026-10-31 23:00 (44,700 minutes).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.core.period import Period
from engine.jobs.demo import run_demo
from engine.jobs.output import write_reports
from engine.jobs.run import monthly_run
from engine.store import Store
from invoices.indicators import indicators, median, percentile
from invoices.report import documents_from_rows, render_report, report_name
from tests.conftest import ROOT, load_fixtures

OCTOBER = Period(2026, 10)


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def visible(markup: str) -> str:
    """What a browser shows of HTML: the text without tags, entities decoded, spaces collapsed.

    Inline tags (an isolated value's <bdi>, <strong>...) run on with the text around them;
    other tags part it, as a new cell or block does.
    """
    markup = re.sub(r"</?(?:bdi|strong|span|i|b)\b[^>]*>", "", markup)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('report') / 'store.db'}")
    load_fixtures(store)
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=clock)
    yield store
    store.close()


def record_of(store, contract: str) -> dict:
    return json.loads(store.latest_records("2026-10", contract)[contract].record_json)


def report(store, contract: str, format: str = "html", locale: str | None = None) -> str:
    record = record_of(store, contract)
    return render_report(record, format, locale,
                         documents=documents_from_rows(store.documents(period="2026-10", contract=contract)),
                         rule_set=store.rule_set(record["ruleset"]["sha256"]))


# --- indicators, by hand ------------------------------------------------------------------------------------

def test_availability_indicators_of_c1001(ran):
    (figures,) = indicators(record_of(ran, "C-1001")).availability
    # The evaluation's own figures (README: 25 + 105 + 17.4 counted, 120 + 90 excluded).
    assert figures.objective == "availability" and figures.service == "compute"
    assert figures.attainment == Decimal("99.670246") and figures.target == Decimal("99.9") and not figures.met
    assert figures.downtime_minutes == Fraction("147.4") and figures.excluded_minutes == 210
    assert figures.period_minutes == figures.base_minutes == 44700
    # The target allows 0.1 % of 44,700 minutes = 44.7 minutes.
    assert figures.allowance_minutes == Fraction("44.7")
    # Incidents reaching into October on compute: lines 2, 3, 4, 5, 7, 8 (line 6 is storage,
    # which no objective of standard-hosting measures).
    assert [i.line for i in figures.incidents] == [2, 3, 4, 5, 7, 8]
    # Outages: line 2 whole (09-30 21:10 - 22:25, 75 min, 25 of them in October), lines 3 and 4
    # merged (10-08 12:05 - 13:50 = 105 min), line 8 (15:02:17 - 15:19:41 = 17 min 24 s = 17.4).
    # The maintenance windows counted nothing, so they are no outages.
    assert [(o.start, o.end, o.minutes) for o in figures.outages] == [
        (utc("2026-09-30T21:10"), utc("2026-09-30T22:25"), 75),
        (utc("2026-10-08T12:05"), utc("2026-10-08T13:50"), 105),
        (utc("2026-10-29T15:02:17"), utc("2026-10-29T15:19:41"), Fraction("17.4")),
    ]
    # All three were restored in October (line 2 at 22:25, after the window opened at 22:00),
    # so MTTR = (75 + 105 + 17.4) / 3 = 197.4 / 3 = 65.8 min, whole lengths, not clipped.
    assert figures.restored == figures.outages
    assert figures.mttr_minutes == Fraction("65.8")


def test_ticket_indicators_of_c1001(ran):
    tickets = indicators(record_of(ran, "C-1001")).tickets
    # First response: p1-response judges P1 tickets on the business clock.  Answered by the end of
    # October and judged in it (README's ticket table): T-100 15, T-101 45, T-102 70, T-103 60,
    # T-104 50, T-109 45, T-105 55.  T-108 (open, late) and T-107 (open, carried) have no time yet;
    # T-106 is P2.
    (response,) = tickets.response
    assert response.objective == "p1-response"
    assert response.minutes == (15, 45, 45, 50, 55, 60, 70)
    assert response.mean == Fraction(15 + 45 + 45 + 50 + 55 + 60 + 70, 7) == Fraction(340, 7)  # 48 min 34 s
    assert response.median == 50                                     # the 4th of 7
    assert response.p90 == 70                                        # rank ceil(0.9 x 7) = 7
    # Resolution: no resolution_time objective, so real time less pauses, every priority,
    # resolved after 09-30 22:00 and by 10-31 23:00:
    #   T-100 09-30 15:50 -> 10-01 09:00 = 17 h 10 = 1030
    #   T-101 10-01 08:00 -> 13:00 = 300
    #   T-102 10-02 14:30 -> 10-05 12:00 = 69 h 30 = 4170
    #   T-103 10-07 15:30 -> 10-08 10:00 = 18 h 30 = 1110
    #   T-104 10-12 09:00 -> 10-13 08:00 = 23 h = 1380, less the pause 09:10 - 11:10 (120) = 1260
    #   T-105 10-24 08:00 -> 10-26 10:00 = 50 h = 3000
    #   T-106 10-27 08:00 -> 10-28 09:00 = 25 h = 1500
    #   T-109 10-22 15:30 -> 10-23 14:00 = 22 h 30 = 1350, less the pause 10-22 15:45 - 10-23 07:20
    #         (15 h 35 = 935) = 415
    (resolution,) = tickets.resolution
    assert resolution.objective is None
    assert resolution.minutes == (300, 415, 1030, 1110, 1260, 1500, 3000, 4170)
    # 300 + 415 + 1030 + 1110 + 1260 + 1500 + 3000 + 4170 = 12,785; / 8 = 1598.125 (26 h 38 min)
    assert resolution.mean == Fraction(12785, 8)
    assert resolution.median == (1110 + 1260) / 2 == 1185             # the mean of the 4th and 5th
    assert resolution.p90 == 4170                                     # rank ceil(0.9 x 8) = 8
    # p1-response's own counts: 6 within; T-102 late and T-108 open past its target; T-107 carried.
    (target,) = tickets.targets
    assert (target.objective, target.within, target.outside, target.carried) == ("p1-response", 6, 2, 1)
    # Created in October: T-101 ... T-109 (T-100 was created on 30 September).
    assert tickets.opened == 9
    # Created before the end of October and not resolved by it: T-107 and T-108.
    assert tickets.backlog == 2


def test_c2001_merges_the_blips_and_leaves_the_short_one_out(ran):
    (figures,) = indicators(record_of(ran, "C-2001")).availability
    # Lines 13 and 14 (10-04 14:00 - 14:03 and 14:02 - 14:05:30) are one outage of 5.5 min;
    # line 15 runs 10:12:00 - 22:49:30 (757.5 min, its end inside customer time still part of it);
    # line 17 (3 min, too short) counted nothing, and line 16 (customer) is excluded.
    assert [o.minutes for o in figures.outages] == [Fraction("5.5"), Fraction("757.5")]
    assert figures.mttr_minutes == (Fraction("5.5") + Fraction("757.5")) / 2 == Fraction("381.5")
    assert len(figures.incidents) == 5
    # 99.95 % of 44,640 minutes allows 0.05 % x 44,640 = 22.32 minutes.
    assert figures.allowance_minutes == Fraction("22.32")


def test_what_a_record_lacks_is_absent_not_zero(ran):
    # uk-managed-hosting measures availability only: no tickets in the record, no ticket figures.
    c3001 = indicators(record_of(ran, "C-3001"))
    assert c3001.tickets is None
    (figures,) = c3001.availability
    # Everything excluded (135 + 180 + 12 min): no outage, so no mean time to restore.
    assert figures.downtime_minutes == 0 and figures.outages == () and figures.mttr_minutes is None
    # object-store measures error rates only: neither availability nor tickets.
    c4001 = indicators(record_of(ran, "C-4001"))
    assert c4001.availability == () and c4001.tickets is None
    text = report(ran, "C-4001", "txt", "en_GB")
    for absent in ("Availability (", "Mean time to restore", "Outages", "Backlog", "First response"):
        assert absent not in text
    assert "Intervals in error: 51 / 8,940" in text


def test_an_outage_still_going_at_the_end_of_the_month_is_not_restored_in_it(ran):
    record = copy.deepcopy(record_of(ran, "C-1001"))
    (outcome,) = [o for o in record["result"]["outcomes"] if o["objective"] == "availability"]
    # An outage from 10-31 22:30 to 11-01 01:00 counts its 30 minutes in October but is
    # restored in November: an outage, but not one October's mean time to restore is taken over.
    outcome["incidents"].append({"line": 99, "start": "2026-10-31T22:30:00.000000Z",
                                 "end": "2026-11-01T01:00:00.000000Z", "cause": "outage", "status": "counted",
                                 "counted_minutes": "30", "excluded_minutes": "0"})
    (figures,) = indicators(record).availability
    assert len(figures.outages) == 4 and len(figures.restored) == 3
    assert figures.mttr_minutes == Fraction("65.8")


def test_overlapping_pauses_count_once_in_real_time(ran):
    record = copy.deepcopy(record_of(ran, "C-1001"))
    # A second pause of T-104 inside its first one (09:10 - 11:10) takes nothing more off.
    record["inputs"]["ticket_pauses"].append({"ticket": "T-104", "start": "2026-10-12T09:30:00.000000Z",
                                              "end": "2026-10-12T10:00:00.000000Z", "line": 9})
    (resolution,) = indicators(record).tickets.resolution
    assert 1260 in resolution.minutes and resolution.mean == Fraction(12785, 8)


@pytest.mark.parametrize("values, expected", [
    ([5], (5, 5)),
    ([10, 20], (15, 20)),                       # median between the two; p90 rank ceil(1.8) = 2
    (list(range(1, 11)), (Fraction(11, 2), 9)),  # p90 rank ceil(9.0) = 9
    (list(range(1, 12)), (6, 10)),               # p90 rank ceil(9.9) = 10
    ([], (None, None)),
])
def test_median_and_nearest_rank_percentile(values, expected):
    values = [Fraction(v) for v in values]
    assert (median(values), percentile(values, 90)) == expected


# --- rendering ----------------------------------------------------------------------------------------------

def test_the_french_report_of_c1001(ran):
    html = report(ran, "C-1001")
    assert '<html lang="fr" dir="ltr">' in html
    shown = visible(html)
    for expected in (
        "Rapport de niveau de service", "octobre 2026", "Boulangeries Lefèvre & Fils SAS",
        "Avoir de service pour cette période\xa0: 224,58\xa0€.",
        "Avoir n° AV-2026-000001 du 2 novembre 2026\xa0: 269,50\xa0€ TTC.",
        # the objectives' display names (rules/standard-hosting-2026.1.yaml), as on the credit note
        "Disponibilité de l'hébergement infogéré", "Première réponse aux tickets P1",
        # 99.670246 % against 99.9 %: one decimal more than the target, rounded down, as on the note
        "99,9\xa0%", "99,67\xa0%", "124,58\xa0€", "100,00\xa0€", "non atteint",
        "tickets P1\xa0: première réponse sous 1 h (heures ouvrées, calendrier business)",
        "147,4 min", "44,7 min", "210 min", "Temps moyen de rétablissement 1 h 06 min",
        "48 min 34 s", "50 min", "1 h 10 min", "26 h 38 min", "19 h 45 min", "69 h 30 min",
        "Tickets en attente en fin de période 2", "Ouverts pendant la période 9",
        "L'indisponibilité comptée a dépassé la marge permise le 8 octobre 2026.",
        "Le 25 octobre 2026 a duré 25 heures (changement d'heure).",
    ):
        assert expected in shown, expected
    assert "<script" not in html
    assert "99,670246" not in shown


def test_the_english_text_report_of_c1001(ran):
    text = report(ran, "C-1001", "txt", "en_GB")
    for expected in (
        "Service-level report: October 2026",
        "Service credit for this period: €224.58.",
        "Credit note no. AV-2026-000001, issued 2 November 2026: €269.50 including VAT.",
        "* Managed hosting availability: missed", "    Measured: 99.67%",
        "* First response to P1 tickets: missed",
        "    Terms: P1 tickets: first response within 1 h (business hours, calendar business)",
        "    Measured: 75% (6 of 8 tickets)",
        "    Credit: €100.00 (2 late × €50.00)",
        "Downtime the target allows: 44.7 min",
        "Mean time to restore: 1 h 06 min",
        "    average: 48 min 34 s, median: 50 min, 90th percentile: 1 h 10 min, tickets: 7",
        "    average: 26 h 38 min, median: 19 h 45 min, 90th percentile: 69 h 30 min, tickets: 8",
        "Within target (First response to P1 tickets): 6", "Outside target (First response to P1 tickets): 2",
        "Open, judged next period (First response to P1 tickets): 1", "Backlog at the end of the period: 2",
        # one character per day: downtime on the 1st, 8th and 29th, maintenance on the 18th and 25th
        "    1   5   10   15   20   25   30\n    #......#.........m......m...#..\n",
        # the night the clocks went back, 02:00 to 02:30 was 90 minutes
        "25 Oct 2026, 02:00:00 GMT+02:00 – 02:30:00 GMT+01:00 (maintenance)",
    ):
        assert expected in text, expected


def test_without_the_rule_set_the_report_names_the_objective_instead(ran):
    text = render_report(record_of(ran, "C-1001"), "txt", "en_GB")
    # the display name is in the record: the report needs no rule set for it
    assert "First response — on the clock of First response to P1 tickets" in text
    assert "Terms: P1" not in text
    # the record's own documents, without their issue date
    assert "Credit note no. AV-2026-000001: €269.50 including VAT." in text


_RENDER_IN_A_FRESH_PROCESS = """
import json, sys
from engine.store import Store
from invoices.report import documents_from_rows, render_report
store = Store(sys.argv[1], upgrade=False)
row = store.latest_records("2026-10", "C-1001")["C-1001"]
record = json.loads(row.record_json)
documents = documents_from_rows(store.documents(period="2026-10", contract="C-1001"))
rule_set = store.rule_set(record["ruleset"]["sha256"])
sys.stdout.write(json.dumps([render_report(record, f, documents=documents, rule_set=rule_set) for f in ("html", "txt")]))
"""


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_rendering_is_deterministic(ran, hash_seed):
    """Another interpreter, with other string hashes (so other set and dict orders of hashed
    keys), renders the same record to the same bytes as this one."""
    import os
    import subprocess
    import sys

    here = [report(ran, "C-1001"), report(ran, "C-1001", "txt")]
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    there = subprocess.run([sys.executable, "-c", _RENDER_IN_A_FRESH_PROCESS, ran.url], capture_output=True,
                           text=True, check=True, env=environment, cwd=ROOT).stdout
    assert json.loads(there) == here


@pytest.mark.parametrize("contract", ["C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001"])
@pytest.mark.parametrize("format", ["html", "txt"])
def test_every_demo_contract_renders(ran, contract, format):
    output = report(ran, contract, format)
    assert contract in output
    assert ("<svg" in output) == (format == "html")


def test_german_and_spanish_labels_and_formats(ran):
    german = visible(report(ran, "C-1001", "html", "de_DE"))
    assert "Service-Level-Bericht" in german and "Mittlere Wiederherstellungszeit 1 Std. 06 Min." in german
    spanish = visible(report(ran, "C-1001", "html", "es_ES"))
    assert "Informe de nivel de servicio" in spanish and "Tiempo medio de restablecimiento 1 h 06 min" in spanish


def test_a_locale_without_a_catalog_gets_english_labels_and_its_own_formats(ran):
    brazilian = report(ran, "C-5001", "txt", locale="pt_BR")
    assert "Service-level report: outubro de 2026" in brazilian and "Counted downtime: 2.396 min" in brazilian


def test_japanese_and_arabic_reports_are_in_their_language(ran):
    # ja and ar have catalogs since December 2026: no English label is left.
    japanese = report(ran, "C-5001", "txt")
    assert "サービスレベル報告書：2026年10月" in japanese and "算入された停止時間：2,396分" in japanese
    assert "Service-level report" not in japanese and "Counted downtime" not in japanese
    arabic = report(ran, "C-6001", "html")
    assert '<html lang="ar" dir="rtl">' in arabic and "تقرير مستوى الخدمة" in arabic
    assert "Service-level report" not in arabic


# --- the chart ----------------------------------------------------------------------------------------------

def svg_of(html: str) -> str:
    (svg,) = re.findall(r"<svg\b.*?</svg>", html, re.S)
    return svg


def test_the_chart_has_a_column_per_day_and_the_long_day_is_an_hour_longer(ran):
    svg = svg_of(report(ran, "C-1001"))
    days = re.findall(r'<rect class="day( weekend)?" data-day="(\d+)" x="([\d.]+)" y="[\d.]+" '
                      r'width="([\d.]+)" height="([\d.]+)"', svg)
    assert [int(d[1]) for d in days] == list(range(1, 32))
    # Saturdays and Sundays of October 2026: 3-4, 10-11, 17-18, 24-25, 31.
    assert [int(d[1]) for d in days if d[0]] == [3, 4, 10, 11, 17, 18, 24, 25, 31]
    # 7.5 px an hour: 24 h = 180 px, and 25 October (clocks back) 25 h = 187.5 px.
    assert {d[1]: d[4] for d in days if d[4] != "180"} == {"25": "187.5"}
    # Columns share 888 px in proportion to real time: 1,440 / 44,700 of it is 28.61 px, less a
    # 1 px gutter = 27.61; the 1,500-minute 25th gets 29.80 - 1 = 28.8.
    assert {d[3] for d in days if d[1] != "25"} == {"27.61"} and days[24][3] == "28.8"
    assert "<script" not in svg and "javascript" not in svg.lower()


def test_the_chart_marks_each_incident_in_its_day_at_its_hour(ran):
    svg = svg_of(report(ran, "C-1001"))
    incidents = re.findall(r'<g class="incident (\w+)" data-line="(\d+)">', svg)
    # Drawn maintenance first, counted downtime on top.
    assert incidents == [("maintenance", "5"), ("maintenance", "7"), ("downtime", "2"), ("downtime", "3"),
                         ("downtime", "4"), ("downtime", "8")]
    marks = re.findall(r'<rect class="mark (\w+)" x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    assert len(marks) == 6
    # Line 7, the maintenance across the change of clocks: 02:00+02:00 is 2 h after Paris midnight
    # (22:00 UTC on the 24th), 02:30+01:00 is 3.5 h after it: y = 22 + 2 x 7.5 = 37, 1.5 h = 11.25 px,
    # in the 25th's column (x = 46 + 888 x 34,560 / 44,700 + 0.5 = 733.06, inset 1.5 px more).
    assert ("maintenance", "734.06", "37", "11.25") in marks
    # Line 3, 14:05 - 15:20 Paris on the 8th: y = 22 + 14 h 05 x 7.5 = 127.63, 75 min = 9.38 px.
    assert ("downtime", "247.75", "127.63", "9.38") in marks


def test_the_counted_downtime_line_crosses_the_allowance(ran):
    svg = svg_of(report(ran, "C-1001"))
    # The lower panel runs from y = 22 + 187.5 + 34 = 243.5 to 383.5 (140 px), 0 to 200 min
    # (147.4 x 1.1 = 162.14, steps of 50).  The allowance 44.7 min sits at 383.5 - 140 x 44.7 / 200.
    assert f'y1="{float(383.5 - 140 * Fraction("44.7") / 200):.2f}"' in svg
    points = re.search(r'<polyline class="cumulative" points="([^"]+)"', svg).group(1).split()
    # from 0 at the start of the month to 147.4 min at its end: 383.5 - 140 x 147.4 / 200 = 280.32
    assert points[0] == "46,383.5" and points[-1] == "934,280.32"
    assert '<circle class="crossing"' in svg


def _texts(svg: str) -> list[tuple[float, str]]:
    """Every text of a chart: its baseline (y) and what it says."""
    return [(float(y), unescape(text)) for y, text in re.findall(r'<text [^>]*?y="([\d.]+)"[^>]*>([^<]*)</text>', svg)]


@pytest.mark.parametrize("contract", ["C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001"])
def test_no_chart_label_is_cut_off(ran, contract):
    """Every label of every demo chart lies inside the picture: its top (10 px text above the
    baseline) below 0, its descenders (3 px) above the picture's height."""
    for svg in re.findall(r"<svg\b.*?</svg>", report(ran, contract), re.S):
        height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))
        for y, text in _texts(svg):
            assert 10 <= y and y + 3 <= height, (text, y, height)


def test_the_allowance_label_of_a_tiny_allowance_sits_above_its_line(ran):
    # C-5001 (Tokyo): 2,396 counted minutes, the allowance 0.01 % of 44,640 - 80 = 4.456 min.  The
    # panel runs 0 to 3,000 min (2,396 x 1.1 = 2,635.6, steps of 1,000) from y = 22 + 180 + 34 = 236
    # to 376: the allowance at 376 - 140 x 4.456 / 3,000 = 375.79, 0.21 px above the panel's
    # bottom.  Under it (375.79 + 13 = 388.79) the label was cut off by the picture's edge (384);
    # above it (375.79 - 5 = 370.79) the downtime line is long past: from the 20th it runs at
    # 376 - 140 x 2,396 / 3,000 = 264.19.
    svg = svg_of(report(ran, "C-5001"))
    assert 'viewBox="0 0 940 384"' in svg
    # (the customer is Japanese: the report is worded in Japanese since there is a catalog)
    assert (370.79, "目標による許容：4.46分") in _texts(svg)


def test_an_allowance_label_with_no_room_in_the_panel_goes_under_it():
    """Passed early by a little, then by a lot late in the month: no room under the allowance,
    none above it where the label would stand; the label goes under the panel, which grows."""
    from invoices.indicators import Incident
    from invoices.report import Timeline, chart

    window = OCTOBER.window("UTC")
    tiny = Incident(1, utc("2026-10-02 10:00:00"), utc("2026-10-02 10:00:36"), "outage", "counted",
                    Fraction(3, 5), Fraction(0))
    late = Incident(2, utc("2026-10-30 10:00:00"), utc("2026-10-30 10:10:00"), "outage", "counted",
                    Fraction(10), Fraction(0))
    drawn = chart(Timeline("availability", "compute", "availability", (tiny, late), Fraction(53, 5), Fraction(1, 2)),
                  window, OCTOBER, "UTC", "en_GB")
    # 10.6 min counted, 0.5 allowed: 0 to 15 min (10.6 x 1.1 = 11.66, steps of 5), the panel from
    # 22 + 180 + 34 = 236 to 376; the allowance at 376 - 140 x 0.5 / 15 = 371.33, too low for a label
    # under it (371.33 + 13 > 376 - 3), and the line runs at 376 - 140 x 0.6 / 15 = 370.4 until the
    # 30th, too low for one above it: under the panel, at 376 + 13, the picture 376 + 18 high.
    assert drawn.allowance_label == ("928", "end", "389") and drawn.height == "394"


def test_a_threshold_error_rate_objective_gets_its_month_too(ran):
    # C-4001's api-availability (object-store: 5-minute intervals, down above 5 % errors, target
    # 99.5 %).  README: 36 intervals on 10-15 13:00 - 16:00 Berlin, 10 on 10-22 06:00 - 06:50 UTC
    # (08:00 - 08:50 Berlin), and the 6 % interval at 02:30+01:00 on the 25th: 47 x 5 = 235 min.
    text = report(ran, "C-4001", "txt", "en_GB")
    assert "The month at a glance: Storage availability by 5-minute interval" in text
    assert "    ..............#......#..#......\n" in text
    assert "  - 15 Oct 2026, 13:00:00 – 16:00:00: more than 5% of the requests failed, 180 min counted" in text
    assert "  - 22 Oct 2026, 08:00:00 – 08:50:00: more than 5% of the requests failed, 50 min counted" in text
    # the 25th has two 02:30s; this one is the second, after the clocks went back
    assert "  - 25 Oct 2026, 02:30:00 GMT+01:00 – 02:35:00 GMT+01:00: more than 5% of the requests failed" in text
    # The target allows 0.5 % x 44,700 = 223.5 min: 180 by the 15th, passed on the 22nd (180 + 43.5).
    assert "The counted downtime passed the allowance on 22 October 2026." in text
    svg = svg_of(report(ran, "C-4001", "html", "en_GB"))
    assert len(re.findall(r'<g class="incident downtime">', svg)) == 3
    assert "allowed by the target: 223.5 min" in visible(svg) and "counted: 235 min" in visible(svg)
    # Without the rule set the record does not say what an interval or the threshold was: no chart.
    assert "<svg" not in render_report(record_of(ran, "C-4001"), "html")


def test_hostile_data_is_escaped_in_the_html(ran):
    record = copy.deepcopy(record_of(ran, "C-1001"))
    hostile = '<script>alert("x")</script>'
    record["inputs"]["contract"]["customer"]["name"] = hostile
    record["inputs"]["contract"]["id"] = 'C-1<img src=x onerror=alert(1)>'
    record["result"]["evaluation"]["objectives"][0]["service"] = '"><b>compute</b>'
    record["ruleset"]["version"] = "2026.1</title><script>1</script>"
    for incident in record["result"]["outcomes"][0]["incidents"]:
        incident["cause"] = "<i>outage</i>"
    html = render_report(record, "html")
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;i&gt;outage&lt;/i&gt;" in html
    # Text is text: the same data comes through as written.
    assert hostile in render_report(record, "txt")


# --- the commands -------------------------------------------------------------------------------------------

def test_slabill_report_writes_one_file_per_contract(store, tmp_path):
    # On SQLite, and on PostgreSQL when SLABILL_TEST_POSTGRES_URL is set.
    load_fixtures(store)
    monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=clock)
    result = CliRunner().invoke(app, ["report", "--period", "2026-10", "--contract", "C-1001", "--format", "txt",
                                      "--out", str(tmp_path), "--db", store.url])
    assert result.exit_code == 0, result.output
    path = tmp_path / "C-1001-2026-10-report.txt"
    assert result.stdout.strip() == str(path)
    assert path.read_text(encoding="utf-8") == report(store, "C-1001", "txt")
    assert "Mean time to restore" not in path.read_text(encoding="utf-8")  # French, the customer's language
    assert "Temps moyen de rétablissement\xa0: 1 h 06 min" in path.read_text(encoding="utf-8")

    every = CliRunner().invoke(app, ["report", "--period", "2026-10", "--out", str(tmp_path / "all"),
                                     "--db", store.url])
    assert every.exit_code == 0, every.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        report_name(c, "2026-10", "html") for c in
        ("C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001")]


@pytest.mark.parametrize("args, message", [
    (["--period", "2026-09", "--contract", "C-1001"], "no evaluation of contract C-1001 for 2026-09 is recorded"),
    (["--period", "2026-09"], "no evaluation of any contract for 2026-09 is recorded"),
    (["--period", "October"], "the period must be a month written YYYY-MM, not 'October'"),
])
def test_slabill_report_says_what_is_wrong_in_one_sentence(ran, tmp_path, args, message):
    result = CliRunner().invoke(app, ["report", *args, "--out", str(tmp_path), "--db", ran.url])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == "" and not any(tmp_path.iterdir())


def test_the_report_lists_every_document_of_the_period(ran, tmp_path):
    # C-2001 got a credit note for its SLA credits and an adjustment for a late payment.
    write_reports(ran, "2026-10", tmp_path, "C-2001", ("txt",))
    text = (tmp_path / "C-2001-2026-10-report.txt").read_text(encoding="utf-8")
    assert "Credit note no. AV-2026-000003, issued November 2, 2026: $1,375.00 including VAT." in text
    assert "Invoice adjustment no. ADJ-2026-000001, issued November 2, 2026: $43.08 including VAT." in text
    assert "Service credit for this period: $1,375.00. The cap on credits applied." in text


def test_the_demo_writes_a_report_per_contract(tmp_path):
    result = run_demo(tmp_path, None, date(2026, 11, 2), clock)
    names = sorted(p.name for p in result.reports)
    assert names == sorted(f"{c}-2026-10-report.{f}" for c in
                           ("C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001")
                           for f in ("html", "txt"))
    assert all(p.parent == tmp_path and p.exists() for p in result.reports)
    assert "<svg" in (tmp_path / "C-1001-2026-10-report.html").read_text(encoding="utf-8")


def test_run_writes_its_documents_and_reports_with_out(tmp_path):
    root = Path(__file__).resolve().parent.parent
    db = f"sqlite:///{tmp_path / 'run.db'}"
    loaded = CliRunner().invoke(app, ["load", "--rules", str(root / "rules"), "--contracts",
                                      str(root / "fixtures" / "contracts.yaml"), "--data",
                                      str(root / "fixtures" / "data"), "--db", db])
    assert loaded.exit_code == 0, loaded.output
    dry = CliRunner().invoke(app, ["run", "--period", "2026-10", "--dry-run", "--out", str(tmp_path / "out"),
                                   "--db", db])
    assert dry.exit_code == 2 and "a dry run writes nothing" in dry.stderr
    result = CliRunner().invoke(app, ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--contract", "C-1001",
                                      "--out", str(tmp_path / "out"), "--db", db])
    assert result.exit_code == 0, result.output
    # The credit note in every format its customer receives (HTML, text, PDF/A-3 and Factur-X CII), and the report.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "AV-2026-000001.cii.xml", "AV-2026-000001.html", "AV-2026-000001.pdf", "AV-2026-000001.txt",
        "C-1001-2026-10-report.html", "C-1001-2026-10-report.txt"]

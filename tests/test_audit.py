"""Audit: replay, tamper evidence, corrections, explanations and the export an auditor checks."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from engine.audit.export import export
from engine.audit.replay import replay
from engine.audit.verify import verify
from engine.cli import app
from engine.core.evaluation import evaluate_book
from engine.core.period import Period
from engine.core.results import evaluation_json
from engine.jobs.run import monthly_run
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_files, load_rule_sets, rule_set_files
from engine.store import Store
from invoices.derive import documents_problem
from invoices.documents import Document
from invoices.explain import explain
from tests.conftest import ROOT, load_fixtures

OCTOBER = Period(2026, 10)
SCENARIOS = sorted(p for p in (ROOT / "fixtures" / "scenarios").iterdir() if (p / "expected.json").exists())


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def run(store, period=OCTOBER, as_of=date(2026, 11, 2)):
    return monthly_run(store, period, as_of=as_of, now=clock)


@pytest.fixture
def ran(store):
    load_fixtures(store)
    run(store)
    return store


# --- replay ---------------------------------------------------------------------------------------------

def test_every_fixture_evaluation_replays_exactly(ran):
    outcomes = list(replay(ran, period="2026-10"))
    assert len(outcomes) == 8
    assert [o.differences for o in outcomes] == [[]] * 8


def test_the_stored_figures_are_those_evaluate_prints_from_the_files(ran):
    book = load_book(ROOT / "fixtures" / "contracts.yaml")
    from_files = {e.contract.id: evaluation_json(e) for e in evaluate_book(
        load_rule_sets(ROOT / "rules"), book, load_measurements(ROOT / "fixtures" / "data", book), OCTOBER,
        rates=load_rates(ROOT / "rules"))}
    recorded = {row.contract_id: json.loads(row.record_json)["result"]["evaluation"] for row in ran.evaluations()}
    assert recorded == from_files


def _periods(scenario: Path) -> list[str]:
    expected = json.loads((scenario / "expected.json").read_text())
    return [r["period"] for r in expected["runs"]] if "runs" in expected else [expected["period"]]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_every_scenario_evaluation_replays_exactly(scenario, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'scenario.db'}")
    book = load_book(scenario / "contracts.yaml")
    # As `slabill load` does: the rate tables beside the rules, else the shipped ones.
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(scenario / "rules")),
               measurements=load_measurements(scenario / "data", book), rates=load_rates(scenario / "rules"))
    for period in _periods(scenario):
        run(store, Period.parse(period))
    outcomes = list(_all(store))
    assert outcomes and all(o.differences == [] for o in outcomes), [o for o in outcomes if o.differences]
    assert verify(store, planner=documents_problem).ok
    store.close()


def _all(store):
    for row in store.evaluations():
        yield from replay(store, evaluation_id=row.id)


def test_replay_reports_a_changed_figure_and_what_if_is_labelled(ran, tmp_path):
    # What-if: the same inputs under rules with a 25 % first tier differ, and say so without failing.
    changed = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text().replace(
        '{below: "99.9", at_least: "99.0", credit: "10%"}', '{below: "99.9", at_least: "99.0", credit: "25%"}')
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "standard-hosting-2026.1.yaml").write_text(changed)
    result = CliRunner().invoke(app, ["replay", "--period", "2026-10", "--with-current-rules", "--rules",
                                      str(tmp_path / "rules"), "--db", ran.url])
    assert result.exit_code == 0, result.output
    assert "what-if record 1 (C-1001 2026-10)" in result.stdout
    # C-1001: availability 124.58 -> 311.44 (25 %), plus 100.00 for two late P1 tickets.
    assert "evaluation.credit_total: recorded '224.58', replayed '411.44'" in result.stdout
    assert "what-if, not a correction" in result.stdout


# --- tamper evidence -------------------------------------------------------------------------------------------

def tamper(store: Store, *statements: str, parameters: dict | None = None) -> None:
    """Edit the database behind slabill's back, as an attacker with the file or a superuser would."""
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            for (name,) in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                connection.execute(text(f"DROP TRIGGER {name}"))
            connection.commit()
        else:
            connection.execute(text("SET session_replication_role = replica"))  # triggers off for this session
        for statement in statements:
            connection.execute(text(statement), parameters or {})
        connection.commit()


def broken(store: Store) -> str:
    report = verify(store)
    assert not report.ok
    result = CliRunner().invoke(app, ["audit", "verify", "--db", store.url])
    assert result.exit_code == 1
    assert report.problem in result.stderr
    return report.problem


def test_an_intact_chain_verifies(ran):
    report = verify(ran)
    # 4 credit notes, 2 SLA adjustments (next_invoice) and 2 late-fee adjustments (C-2001, C-3001)
    assert (report.ok, report.records, report.documents) == (True, 8, 8)
    result = CliRunner().invoke(app, ["audit", "verify", "--db", ran.url])
    assert result.exit_code == 0 and "8 records and 8 documents verified" in result.stdout


def test_an_edited_figure_is_caught(ran):
    row = ran.evaluations()[0]
    edited = row.record_json.replace('"credit_total":"224.58"', '"credit_total":"24.58"')
    assert edited != row.record_json
    tamper(ran, "UPDATE evaluations SET record_json = :text WHERE id = 1", parameters={"text": edited})
    assert broken(ran) == ("record 1 (C-1001 2026-10 revision 0): its text no longer matches its hash: "
                           "a figure in it was edited")


def test_an_edited_column_is_caught(ran):
    tamper(ran, "UPDATE evaluations SET credit_total = '0.00' WHERE id = 2")
    assert "record 2 (C-1002 2026-10 revision 0): its column credit_total says '0.00'" in broken(ran)


def test_a_deleted_record_is_caught(ran):
    tamper(ran, "DELETE FROM document_lines WHERE document_id IN (SELECT id FROM documents WHERE evaluation_id = 4)",
           "DELETE FROM documents WHERE evaluation_id = 4", "DELETE FROM evaluations WHERE id = 4")
    assert broken(ran).startswith("record 5 (C-4001 2026-10 revision 0): it does not follow the record before it")


def test_a_deleted_last_record_is_caught(ran):
    last = ran.evaluations()[-1]
    tamper(ran, f"DELETE FROM documents WHERE evaluation_id = {last.id}", f"DELETE FROM evaluations WHERE id = {last.id}")
    assert "records at the end were deleted" in broken(ran)


def test_a_reordered_pair_is_caught(ran):
    rows = {row.id: row for row in ran.evaluations()}
    columns = ("contract_id", "revision", "input_digest", "ruleset_sha256", "credit_total", "credit_status",
               "record_json", "record_sha256", "previous_sha256")
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    swap = [
        ("UPDATE evaluations SET record_sha256 = 'parked', contract_id = 'parked' WHERE id = 4", {}),
        (f"UPDATE evaluations SET {assignments} WHERE id = 3", {c: getattr(rows[4], c) for c in columns}),
        (f"UPDATE evaluations SET {assignments} WHERE id = 4", {c: getattr(rows[3], c) for c in columns}),
    ]
    for statement, parameters in swap:
        tamper(ran, statement, parameters=parameters)
    # Record 3 now holds C-3001's record, whose link points at C-2001's: not at the record before it.
    assert broken(ran).startswith("record 3 (C-3001 2026-10 revision 0): it does not follow the record before it")


def test_an_edited_document_line_is_caught(ran):
    note = ran.document("AV-2026-000001")
    tamper(ran, f"UPDATE document_lines SET net_amount = '12.45' WHERE document_id = {note.id}")
    assert broken(ran) == ("record 1 (C-1001 2026-10 revision 0): document AV-2026-000001: its lines in the store "
                           "differ from the lines it was issued with")


def test_an_edited_line_detail_is_caught(ran):
    # The figures a customer reads on the note (measured, tier) live in the line's detail:
    # claiming 99.5 % and tier 2 (index 1) for C-1001's availability line must not pass unseen, though
    # the line's amount is unchanged.
    note = ran.document("AV-2026-000001")
    stored = ran.document_lines(note.id)[0].detail_json
    edited = stored.replace('"attainment":"99.670246"', '"attainment":"99.500000"').replace('"tier":0', '"tier":1')
    assert edited.count("99.500000") == 1 and edited.count('"tier":1') == 1
    tamper(ran, f"UPDATE document_lines SET detail_json = :text WHERE document_id = {note.id} AND position = 1",
           parameters={"text": edited})
    assert '"tier":1' in ran.document_lines(note.id)[0].detail_json  # the edit took
    assert broken(ran) == ("record 1 (C-1001 2026-10 revision 0): document AV-2026-000001: its lines in the store "
                           "differ from the lines it was issued with")


def test_an_edited_line_objective_is_caught(ran):
    # Moving the availability credit onto the p1-response objective changes no amount.
    note = ran.document("AV-2026-000001")
    tamper(ran, f"UPDATE document_lines SET objective = 'p1-response' WHERE document_id = {note.id} AND position = 1")
    assert broken(ran) == ("record 1 (C-1001 2026-10 revision 0): document AV-2026-000001: its lines in the store "
                           "differ from the lines it was issued with")


def test_a_line_detail_that_is_no_longer_json_is_caught(ran):
    note = ran.document("ADJ-2026-000001")
    tamper(ran, f"UPDATE document_lines SET detail_json = 'garbled' WHERE document_id = {note.id} AND position = 2")
    assert broken(ran) == ("record 3 (C-2001 2026-10 revision 0): document ADJ-2026-000001: its lines in the store "
                           "differ from the lines it was issued with")


def test_an_edited_document_total_is_caught(ran):
    tamper(ran, "UPDATE documents SET gross_total = '14.95' WHERE number = 'AV-2026-000001'")
    assert "document AV-2026-000001: its column gross_total says '14.95'" in broken(ran)


def test_an_edited_rule_set_is_caught(ran):
    tamper(ran, "UPDATE rule_sets SET canonical_json = replace(canonical_json, '\"cap\":\"50\"', '\"cap\":\"5\"')")
    assert "was edited" in broken(ran)


# --- what a record holds --------------------------------------------------------------------------------------------

def test_a_record_holds_everything_an_auditor_needs(ran):
    """C-2001 (New York, hourly-credits): a breach, a fired rule, excluded incidents, the cap,
    a contractual late fee and two documents; C-3001 (UK regime) shows the rate-table rows."""
    from importlib.metadata import version

    import engine
    from engine.core.matching import ADAPTER_VERSION

    row = next(r for r in ran.evaluations() if r.contract_id == "C-2001")
    record = json.loads(row.record_json)
    assert (record["contract"], record["period"], record["run"], record["revision"]) == ("C-2001", "2026-10", row.run_id, 0)
    assert row.run_id == ran.evaluations()[0].run_id  # the one run of October

    # Versions: this slabill, the installed durable-rules, and the adapter between them.
    assert record["engine"] == {"slabill": engine.__version__, "durable_rules": version("durable_rules"),
                                "adapter": ADAPTER_VERSION}
    shipped = next(item.rules for item in load_rule_files(rule_set_files(ROOT / "rules"))
                   if item.rules.ruleset == "hourly-credits")
    assert record["ruleset"] == {"id": "hourly-credits", "version": "2026.1", "sha256": shipped.sha256}

    # The inputs, and their digest: sha256 of their canonical JSON, computed here without slabill.
    inputs = record["inputs"]
    canonical_inputs = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record["input_digest"] == hashlib.sha256(canonical_inputs.encode("utf-8")).hexdigest() == row.input_digest
    assert inputs["contract"]["id"] == "C-2001" and inputs["contract"]["timezone"] == "America/New_York"
    assert inputs["contract"]["services"] == [{"id": "dedicated", "monthly_fee": "2400.00"},
                                              {"id": "storage", "monthly_fee": "350.00"}]
    # Every incident row of the measured service, counted or not, with its line in incidents.csv
    # (line 15 is written 06:12-04:00 to 18:49:30-04:00 in the file: kept as UTC instants).
    assert [(i["line"], i["start"], i["end"], i["cause"]) for i in inputs["incidents"]] == [
        (13, "2026-10-04T14:00:00.000000Z", "2026-10-04T14:03:00.000000Z", "outage"),
        (14, "2026-10-04T14:02:00.000000Z", "2026-10-04T14:05:30.000000Z", "outage"),
        (15, "2026-10-13T10:12:00.000000Z", "2026-10-13T22:49:30.000000Z", "outage"),
        (16, "2026-10-13T22:30:00.000000Z", "2026-10-13T23:10:00.000000Z", "customer"),
        (17, "2026-10-27T15:20:00.000000Z", "2026-10-27T15:23:00.000000Z", "outage")]
    # Every invoice of the contract, with the period it bills (invoices.csv lines 5 and 6).
    assert inputs["invoices"] == [
        {"number": "BA-2026-0098", "issued": "2026-09-01", "due": "2026-10-01", "net": "2750.00", "tax": "0.00",
         "gross": "2750.00", "currency": "USD", "line": 5, "period": "2026-09"},
        {"number": "BA-2026-0110", "issued": "2026-10-01", "due": "2026-11-15", "net": "2750.00", "tax": "0.00",
         "gross": "2750.00", "currency": "USD", "line": 6, "period": "2026-10"}]
    assert inputs["payments"] == [{"invoice": "BA-2026-0098", "paid_on": "2026-10-21", "amount": "2750.00", "line": 3}]
    assert inputs["rates"] == {}  # a contractual rate needs no reference table

    # What each incident did, and why.  Lines 13 and 14 overlap: 14:00-14:05:30 once, 3 + 2.5 min.
    # Line 15 runs 757.5 min, of which 22:30-22:49:30 (19.5 min) the customer's line 16 covers:
    # 738 counted.  Line 16 is the customer's own (40 min excluded); line 17 lasts 3 min, under
    # min_duration 5m.
    [outcome] = record["result"]["outcomes"]
    assert outcome["objective"] == "availability"
    assert [(i["line"], i["status"], i["counted_minutes"], i["excluded_minutes"]) for i in outcome["incidents"]] == [
        (13, "counted", "3", "0"), (14, "counted", "2.5", "0"), (15, "counted", "738", "19.5"),
        (16, "excluded_cause", "0", "40"), (17, "too_short", "0", "0")]

    # The fact posted to durable-rules and what fired.  count: whole floors each stretch:
    # 5.5 -> 5 and 738 -> 738, 743 min in a 44,640-min October (no DST change in New York),
    # so attainment = 100 x 43,897 / 44,640 = 98.3355734...; the bounds have 2 decimals (99.95),
    # so the fact carries floor and ceil of attainment x 100: 9833 and 9834.
    assert record["result"]["fact"] == {"contract": "C-2001", "o0_lo": 9833, "o0_hi": 9834}
    assert record["result"]["fired"] == ["*", "availability/missed"]

    # Every figure.  743 min / 60 = 12 whole hours x 5 % = 60 % of 2,400.00 = 1,440.00, above the
    # cap of 50 % of all fees (2,750.00) = 1,375.00.  Late fee: 2,750.00 x 12 % x 20/365 (2-21 Oct)
    # = 18.0822 -> 18.08, plus the contractual 25.00.
    evaluation = record["result"]["evaluation"]
    [availability] = evaluation["objectives"]
    assert (availability["downtime_minutes"], availability["excluded_minutes"], availability["period_minutes"],
            availability["attainment"], availability["units"], availability["credit_percent"],
            availability["credit"]) == ("743", "40", "44640", "98.335573", "12", "60", "1440.00")
    assert (evaluation["cap_applied"], evaluation["credit_total"], evaluation["credit_status"]) == (
        True, "1375.00", "issued")
    assert evaluation["late_fees"] == [{"invoice": "BA-2026-0098", "base": "2750.00", "first_late_day": "2026-10-02",
                                        "days_late": 20, "rate_percent": "12", "interest": "18.08",
                                        "compensation": "25.00", "total": "43.08",
                                        "segments": [{"from": "2026-10-02", "to": "2026-10-21", "days": 20,
                                                      "rate_percent": "12", "outstanding": "2750.00",
                                                      "interest": "18.08"}]}]
    assert evaluation["rules_fired"] == ["*", "availability/missed"]

    # The documents issued from it, with the hashes of what was issued.
    assert [(d["number"], d["kind"], d["gross_total"]) for d in record["documents"]] == [
        ("AV-2026-000003", "credit_note", "1375.00"), ("ADJ-2026-000001", "adjustment", "43.08")]
    for listed in record["documents"]:
        stored = ran.document(listed["number"])
        assert (listed["content_sha256"], listed["html_sha256"]) == (stored.content_sha256, stored.html_sha256)

    # C-3001 (uk): Bank Rate on 30 June before interest starts (2 July) is 3.75 % (since
    # 18 Dec 2025), + 8 points = 11.75 %.  Only that row of boe-bank-rate is copied, not the table.
    uk = json.loads(next(r for r in ran.evaluations() if r.contract_id == "C-3001").record_json)
    assert uk["inputs"]["rates"] == {"boe-bank-rate": {"rate_table": "boe-bank-rate", "unit": "percent",
                                                       "confirmed_until": "2026-06-30",
                                                       "values": [{"from": "2025-12-18", "rate": "3.75"}]}}
    # 1,140.00 less 500.00 paid on 15 Aug = 640.00 x 11.75 % x 31/365 = 6.3868 -> 6.39.
    assert [(f["rate_percent"], f["interest"]) for f in uk["result"]["evaluation"]["late_fees"]] == [("11.75", "6.39")]


# --- corrections --------------------------------------------------------------------------------------------------

def load_late(store, tmp_path, rows: str, name="late"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "incidents.csv").write_text("contract,service,start,end,cause,announced_at\n" + rows)
    book = load_book(ROOT / "fixtures" / "contracts.yaml")
    store.load(book=book, measurements=load_measurements(folder, book))


def test_a_late_incident_issues_a_delta_credit_note(ran, tmp_path):
    # C-1001 had 147.4 min counted: 10 % of 1,245.75 = 124.58, plus 100.00 for two late P1
    # tickets: 224.58 (AV-2026-000001).  A 300-minute outage reported late makes 447.4 min:
    # 100 x (1 - 447.4 / 44,700) = 98.999105 %, tier 2: 25 % = 311.4375 -> 311.44, so 411.44.
    # The difference, 186.86 + 20 % VAT (37.372 -> 37.37), is credited.
    load_late(ran, tmp_path, "C-1001,compute,2026-10-12T08:00:00Z,2026-10-12T13:00:00Z,,\n")
    summary = run(ran, as_of=date(2026, 12, 1))
    assert (summary.recorded, summary.unchanged, summary.corrections) == (1, 7, 1)
    records = ran.evaluations(contract="C-1001")
    assert [(r.revision, r.supersedes_id, r.credit_total) for r in records] == [(0, None, "224.58"), (1, records[0].id, "411.44")]
    assert json.loads(records[1].record_json)["supersedes"] == records[0].record_sha256
    note = ran.documents(contract="C-1001")[-1]
    assert (note.number, note.kind, note.net_total, note.tax_total, note.gross_total) == (
        "AV-2026-000005", "credit_note", "186.86", "37.37", "224.23")
    document = Document.from_json(json.loads(note.content_json))
    assert document.corrects == "AV-2026-000001"
    assert document.lines[0].detail["previously_credited"] == "224.58"
    assert document.lines[0].detail["now_due"] == "411.44"
    assert ran.document("AV-2026-000001").gross_total == "269.50"  # the original is untouched
    assert verify(ran, planner=documents_problem).ok and all(not o.differences for o in replay(ran, period="2026-10"))
    # Nothing new: nothing more.
    assert run(ran, as_of=date(2026, 12, 1)).recorded == 0


def test_less_owed_gives_an_adjustment_never_an_edit(store, tmp_path):
    # One contract, 1,000.00 a month: a 60-minute outage in a Paris October (44,700 min) is
    # 99.865772 %, tier 1: 10 % = 100.00.  Then the first 30 minutes turn out to be the
    # customer's: 30 min is 99.932886 %, met, nothing due: 100.00 (+ 20.00 VAT) is taken back.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text((ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text())
    (tmp_path / "contracts.yaml").write_text("""\
issuer: {name: Hostco SAS, vat_id: FR40123456789, country: FR, credit_note_prefix: AV}
contracts:
  - id: C-1
    customer: {id: K, name: Kunde, locale: fr_FR, country: FR}
    currency: EUR
    timezone: Europe/Paris
    ruleset: standard-hosting
    start: 2025-01-01
    vat_rate: "20"
    services: [{id: compute, monthly_fee: "1000.00"}]
""")
    for name, row in (("first", "C-1,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00Z,,\n"),
                      ("later", "C-1,compute,2026-10-10T10:00:00Z,2026-10-10T10:30:00Z,customer,\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "incidents.csv").write_text("contract,service,start,end,cause,announced_at\n" + row)
    book = load_book(tmp_path / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files([tmp_path / "rules" / "r.yaml"]),
               measurements=load_measurements(tmp_path / "first", book))
    run(store)
    store.load(book=book, measurements=load_measurements(tmp_path / "later", book))
    run(store)
    documents = store.documents()
    assert [(d.number, d.kind, d.net_total, d.tax_total, d.gross_total) for d in documents] == [
        ("AV-2026-000001", "credit_note", "100.00", "20.00", "120.00"),
        ("ADJ-2026-000001", "adjustment", "100.00", "20.00", "120.00")]
    assert Document.from_json(json.loads(documents[1].content_json)).corrects == "AV-2026-000001"
    assert [e.credit_status for e in store.evaluations()] == ["issued", "none"]
    assert verify(store, planner=documents_problem).ok


# --- explain ---------------------------------------------------------------------------------------------------------

def record_of(store, contract):
    return json.loads(max(store.evaluations(contract=contract), key=lambda r: r.revision).record_json)


def test_explain_a_breach_in_english_and_french(ran):
    english = explain(record_of(ran, "C-1001"), "en_GB")
    assert "Why contract C-1001 received €224.58 for October 2026" in english
    # each objective under its display name; 99.670246 % shown to one decimal more than 99.9, rounded down
    assert "\nManaged hosting availability\n" in english and "\nFirst response to P1 tickets\n" in english
    assert "Measured 99.67% against a promise of 99.9%: missed." in english
    assert "Downtime that counted: 147.4 min of 44,700 min; excluded: 210 min." in english
    # A span within one day names the day once; the day the clocks go back (25 October in
    # Paris) gives each end its offset: 02:00 summer time to 02:30 winter time is 90 minutes.
    assert ("18 Oct 2026, 01:00:00 – 03:00:00 (maintenance): announced in time and within the monthly "
            "maintenance allowance: excluded; 120 min excluded") in english
    assert ("25 Oct 2026, 02:00:00 GMT+02:00 – 02:30:00 GMT+01:00 (maintenance): announced in time and within the "
            "monthly maintenance allowance: excluded; 90 min excluded") in english
    assert "30 Sept 2026, 23:10:00 – 1 Oct 2026, 00:25:00 (outage): counted as downtime; 25 min counted" in english
    assert "29 Oct 2026, 16:02:17 – 16:19:41 (outage): counted as downtime; 17.4 min counted" in english
    assert "Tier 1 applies: 10% of the monthly fee of €1,245.75, that is €124.58." in english
    assert "6 of 8 tickets judged this period met their target." in english
    assert "T-102 (P1), 2 Oct 2026, 16:30:00: missed its target; 70 min counted against the target" in english
    assert "2 late tickets at €50.00 each, that is €100.00." in english
    assert "Issued as AV-2026-000001, €269.50 including VAT." in english
    french = explain(record_of(ran, "C-1001"))  # the customer's own locale, fr_FR
    assert "Pourquoi le contrat C-1001 a reçu 224,58\xa0€ pour octobre 2026" in french
    assert "\nDisponibilité de l'hébergement infogéré\n" in french
    assert "Mesuré 99,67\xa0% pour un engagement de 99,9\xa0% : non atteint." in french
    assert "Le palier 1 s'applique : 10\xa0% de la redevance mensuelle de 1\u202f245,75\xa0€, soit 124,58\xa0€." in french
    assert "Émis sous le n° AV-2026-000001, 269,50\xa0€ TTC." in french
    # French sets off ":" and ";" with a no-break space, in the incident and ticket lines too
    assert ("8 oct. 2026, 14:05:00 – 15:20:00 (panne)\xa0: comptée comme indisponibilité\xa0; "
            "75 min comptées") in french
    assert "T-102 (P1), 2 oct. 2026, 16:30:00\xa0: délai dépassé\xa0; 70 min décomptées sur l'objectif" in french
    # p1-response credits a sum per late ticket and has no attainment target to name.
    assert "Mesuré 75\xa0% : non atteint." in french and "engagement de  :" not in french
    assert "Measured 75% against" not in english and "Measured 75%: missed." in english


def test_explain_a_threshold_error_rate_objective(ran):
    """C-4001's api-availability counts downtime (47 intervals of 5 minutes above 5 % errors: 235
    minutes) but excludes nothing by cause: its record has no excluded minutes, which read 0."""
    german = explain(record_of(ran, "C-4001"))  # de_DE
    assert "\nSpeicherverfügbarkeit je 5-Minuten-Intervall\n" in german
    # 100 x (1 - 47 / 8,940) = 99.474273 %, against 99.5: two decimals, rounded down
    assert "Gemessen 99,47\xa0% bei zugesagten 99,5\xa0%: nicht erreicht." in german
    assert "Gezählte Ausfallzeit: 235 Min. von 44.700 Min.; ausgenommen: 0 Min." in german


@pytest.mark.parametrize("locale", [None, "en_GB", "fr_FR", "de_DE", "es_ES"])
def test_every_demo_contract_is_explained(ran, locale):
    for contract in ("C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001"):
        assert contract in explain(record_of(ran, contract), locale)


def test_explain_no_breach_in_english_and_french(ran):
    english = explain(record_of(ran, "C-3001"))  # en_GB customer
    assert "Why contract C-3001 received £0.00 for October 2026" in english
    assert "Measured 100% against a promise of 99.9%: met, so this objective earns no credit." in english
    assert ("12 Oct 2026, 09:30:00 – 11:45:00 (caused by the customer): excluded by the contract "
            "because of its cause; 135 min excluded") in english
    assert "Every objective was met or earned nothing, so no credit is owed for this period." in english
    french = explain(record_of(ran, "C-3001"), "fr_FR")
    assert "Mesuré 100\xa0% pour un engagement de 99,9\xa0% : atteint, cet objectif n'ouvre donc droit à aucun avoir." in french
    assert "Chaque objectif a été atteint ou n'ouvre droit à rien : aucun avoir n'est dû pour cette période." in french


def test_explain_below_the_minimum_through_the_command_line(ran):
    result = CliRunner().invoke(app, ["explain", "C-7001", "--period", "2026-10", "--locale", "en_US", "--db", ran.url])
    assert result.exit_code == 0, result.output
    assert "The total of €7.45 is below the minimum credit, so no credit note is issued." in result.stdout
    missing = CliRunner().invoke(app, ["explain", "C-7001", "--period", "2026-09", "--db", ran.url])
    assert missing.exit_code == 2 and "no evaluation of contract C-7001 for 2026-09 is recorded" in missing.stderr


# --- export -------------------------------------------------------------------------------------------------------------

def readme_checker(tmp_path) -> Path:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(# check_export\.py.*?)```", readme, re.S).group(1)
    path = tmp_path / "check_export.py"
    path.write_text(block)
    return path


@pytest.mark.parametrize("period", [None, "2026-10"])
def test_the_export_checks_with_the_readme_script_alone(ran, tmp_path, period):
    out = tmp_path / "audit.jsonl"
    with out.open("w") as handle:
        assert export(ran, handle, period) == (5, 8)
    checked = subprocess.run([sys.executable, "-I", str(readme_checker(tmp_path)), str(out)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    # A whole-chain export also holds the fixtures' load, sealed on the chain before the records.
    assert checked.stdout.strip() == "8 records and 5 rule sets verified" + ("; loads on the chain: 1" if period is None
                                                                             else "")


def test_the_readme_script_catches_an_altered_export(ran, tmp_path):
    out = tmp_path / "audit.jsonl"
    with out.open("w") as handle:
        export(ran, handle)
    lines = out.read_text().splitlines()
    lines.pop(7)  # drop a record from the middle
    out.write_text("\n".join(lines) + "\n")
    checked = subprocess.run([sys.executable, "-I", str(readme_checker(tmp_path)), str(out)],
                             capture_output=True, text=True)
    assert checked.returncode != 0 and "a record is missing or moved" in checked.stderr

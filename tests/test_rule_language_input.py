"""INTERFACE.md section 6 as input: the schema accepts every new key, refuses contradictions with
file, line and key, keeps the hash of every rule set that does not use them, and refuses bad
``impact`` cells the way every bad row is refused."""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.schema import RuleSet
from engine.loading.rulesets import load_rule_sets, parse_rule_set
from engine.loading.yamlsource import parse_yaml
from tests.conftest import ROOT

HEAD = """\
ruleset: r
version: "1"
effective_from: 2026-01-01
"""


def parse(text: str) -> RuleSet:
    return parse_rule_set(parse_yaml(HEAD + textwrap.dedent(text), "rules.yaml"))


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as error:
        parse(text)
    return error.value


# Each: the rule set, the line and field the error names, and words of the message.
CONTRADICTIONS = [
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit:
           per_unit: {every: 15m, credit: "1d", beyond_allowance: true}
     """, 9, "objectives[0].credit.per_unit.beyond_allowance", "beyond_allowance needs a target"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         target: "99.9"
         credit:
           tiers_on: late_tickets
           tiers: [{at_least: "1", credit: "5%"}]
     """, 10, "objectives[0].credit.tiers_on", "late_tickets needs a ticket metric"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: response_time
         target_time: 1h
         credit:
           tiers_on: outages
           tiers: [{at_least: "1", credit: "5%"}]
     """, 10, "objectives[0].credit.tiers_on", "outages needs metric availability"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit:
           tiers_on: outages
           per_unit: {every: 1h, credit: "5%"}
     """, 9, "objectives[0].credit.tiers_on", "reads tiers"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: error_rate
         error_rate: {mode: ratio, min_requests: 100}
         credit: {tiers: [{below: "99.9", credit: "5%"}]}
     """, 8, "objectives[0].error_rate.min_requests", "average and threshold modes"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: error_rate
         error_rate: {mode: average, min_consecutive: 10}
         credit: {tiers: [{below: "99.9", credit: "5%"}]}
     """, 8, "objectives[0].error_rate.min_consecutive", "threshold mode only"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         exclusions:
           maintenance: {min_notice: 1d, over_allowance: counts_all}
         credit: {tiers: [{below: "99.9", credit: "5%"}]}
     """, 9, "objectives[0].exclusions.maintenance.over_allowance", "needs a max_per_period"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         downtime: {count: whole, unit: 1m}
         credit:
           per_outage: {multiple: "50"}
     """, 8, "objectives[0].downtime.count", "use count: exact"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit:
           per_outage:
             cap: "100%"
             tiers: [{longer_than: 4h, credit: "20%"}]
     """, 10, "objectives[0].credit.per_outage.cap", "cap applies to per_outage multiple"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: error_rate
         error_rate: {mode: threshold, threshold: "5"}
         credit:
           per_outage: {multiple: "50"}
     """, 10, "objectives[0].credit.per_outage", "metric availability only"),
    ("""\
     fiscal_year_start: 2
     objectives: []
     """, 4, "fiscal_year_start", "needs assessment: quarter"),
    ("""\
     assessment: quarter
     fiscal_year_start: 13
     objectives: []
     """, 5, "fiscal_year_start", "less than or equal to 12"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit: {tiers: [{below: "99.9", credit: "3 days"}]}
     """, 8, "objectives[0].credit.tiers[0].credit", "or days of the fee such as \"3d\""),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit:
           per_outage: {tiers: [{longer_than: 4h, credit: "20%"}, {longer_than: 4h, credit: "40%"}]}
     """, 9, "objectives[0].credit.per_outage.tiers[1].longer_than", "two tiers are for outages longer than 4h"),
    ("""\
     objectives: []
     late_payment: {regime: be, rate_rounding: {up_to: "0"}}
     """, 5, "late_payment.rate_rounding.up_to", "up_to must be more than 0"),
    ("""\
     objectives:
       - id: a
         service: s
         metric: availability
         credit:
           per_outage: {multipel: "50"}
     """, 9, "objectives[0].credit.per_outage.multipel", "did you mean multiple"),
]


@pytest.mark.parametrize("text, line, field, words", CONTRADICTIONS)
def test_contradictions_are_refused_at_their_key(text, line, field, words):
    error = refused(text)
    assert (error.line, error.field) == (line, field), str(error)
    assert words in str(error)


def test_every_key_of_section_6_is_accepted():
    rule_set = parse("""\
        assessment: quarter
        fiscal_year_start: 2
        objectives:
          - id: availability
            service: s
            metric: availability
            target: "99.9"
            period_basis: active
            attainment_rounding: {decimals: 1, mode: half_up}
            group: uptime
            downtime: {count: full, unit: 5m}
            exclusions:
              maintenance: {min_notice: 3d, max_per_period: 8h, over_allowance: counts_all}
            credit:
              per_unit: {every: 30m, credit: "5%", count: started, beyond_allowance: true}
          - id: share
            service: s
            metric: availability
            target: "99.9"
            group: uptime
            credit:
              downtime_share: {multiple: "10", beyond_allowance: true}
          - id: outages
            service: s
            metric: availability
            credit: {per_outage: {multiple: "50", cap: "100%"}}
          - id: long-outages
            service: s
            metric: availability
            credit: {per_outage: {tiers: [{longer_than: 2h, credit: "20%"}, {longer_than: 6h, credit: "3d"}]}}
          - id: counted
            service: s
            metric: availability
            credit: {tiers_on: outages, tiers: [{at_least: "3", credit: "3d"}]}
          - id: api-errors
            service: s
            metric: error_rate
            error_rate: {mode: threshold, interval: 1m, threshold: "5", min_requests: 100, min_consecutive: 10}
            credit: {tiers: [{below: "99.9", credit: "10%"}]}
          - id: ratio
            service: s
            metric: error_rate
            error_rate: {mode: ratio}
            credit: {tiers: [{below: "99.95", credit: "10%"}]}
          - id: support
            service: s
            metric: response_time
            target_time: 1h
            credit: {tiers_on: late_tickets, tiers: [{at_least: "1", at_most: "2", credit: "5%"}]}
        late_payment: {regime: nl, rate_rounding: {up_to: "0.5"}}
        """)
    canonical = json.loads(rule_set.canonical_json)
    assert canonical["assessment"] == "quarter" and canonical["fiscal_year_start"] == 2
    assert canonical["objectives"][0]["credit"]["per_unit"]["credit"] == "5"
    assert canonical["objectives"][3]["credit"]["per_outage"]["tiers"][1]["credit"] == "3d"
    assert canonical["late_payment"]["rate_rounding"] == {"up_to": "0.5"}


def test_rule_sets_that_do_not_use_section_6_keep_their_hash(tmp_path):
    # The rule sets a store of slabill 0.2.0 holds, validated again today, hash to the names they
    # were stored under; and nothing of section 6 appears in any canonical JSON that does not use it.
    import shutil

    from engine.store import Store

    shutil.copyfile(ROOT / "tests" / "data" / "store-0.2.0-fixtures-2026-10.db", tmp_path / "old.db")
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        rows = list(store.rule_set_rows())
    finally:
        store.close()
    assert len(rows) >= 5
    for row in rows:
        assert RuleSet.model_validate_json(row.canonical_json).sha256 == row.sha256
    canonicals = [row.canonical_json for row in rows] + [item.rules.canonical_json
                                                        for item in load_rule_sets(ROOT / "rules").loaded]
    for key in ("assessment", "fiscal_year_start", "period_basis", "attainment_rounding", "group", "tiers_on",
                "per_outage", "beyond_allowance", "over_allowance", "min_requests", "min_consecutive", "rate_rounding"):
        assert all(f'"{key}"' not in canonical for canonical in canonicals), key


def test_a_default_written_out_hashes_as_one_left_out():
    plain = parse("objectives: []\nassessment: quarter\n")
    written = parse("objectives: []\nassessment: quarter\nfiscal_year_start: 1\n")
    assert plain.sha256 == written.sha256


def test_the_json_schema_describes_the_new_keys():
    result = CliRunner().invoke(app, ["rules", "schema"])
    schema = json.loads(result.stdout)
    definitions = schema["$defs"]
    assert {"assessment", "fiscal_year_start"} <= set(schema["properties"])
    assert {"period_basis", "attainment_rounding", "group"} <= set(definitions["Objective"]["properties"])
    assert {"tiers_on", "per_outage"} <= set(definitions["Credit"]["properties"])
    assert {"multiple", "cap", "tiers"} == set(definitions["PerOutage"]["properties"])
    assert definitions["ErrorRate"]["properties"]["mode"]["enum"] == ["average", "threshold", "ratio"]
    assert "rate_rounding" in definitions["LatePayment"]["properties"]
    assert {"be", "nl"} <= set(definitions["LatePayment"]["properties"]["regime"]["enum"])


# --- the impact column ---------------------------------------------------------------------------------

CONTRACTS = """\
issuer: {name: P, country: GB}
contracts:
  - {id: C-1, customer: {id: A, name: A, locale: en_GB, country: GB}, currency: EUR, timezone: UTC,
     ruleset: r, start: 2025-01-01, vat_rate: "0", services: [{id: s, monthly_fee: "100.00"}]}
"""


def rules_file(count: str) -> str:
    return HEAD + f"""\
objectives:
  - {{id: a, service: s, metric: availability, target: "99.9", downtime: {{count: {count}, unit: 1m}},
     credit: {{tiers: [{{below: "99.9", credit: "10%"}}]}}}}
"""


@pytest.fixture
def book(tmp_path):
    def make(count="exact", impact="25"):
        (tmp_path / "rules").mkdir(exist_ok=True)
        (tmp_path / "rules" / "r.yaml").write_text(rules_file(count))
        (tmp_path / "contracts.yaml").write_text(CONTRACTS)
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / "incidents.csv").write_text(
            "contract,service,start,end,cause,announced_at,impact\n"
            "C-1,s,2026-09-10T10:00:00Z,2026-09-10T11:00:00Z,,,\n"
            f"C-1,s,2026-09-11T10:00:00Z,2026-09-11T11:00:00Z,,,{impact}\n")
        return tmp_path
    return make


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def evaluate(folder):
    return invoke("evaluate", "--rules", folder / "rules", "--contracts", folder / "contracts.yaml",
                  "--data", folder / "data", "--period", "2026-09")


def one_sentence(result, pattern):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert re.search(pattern, message), message


def test_an_impact_weighs_the_incident(book):
    # 60 min at 100 % + 60 min at 25 % = 75 min: 1 - 75/43,200 = 99.826389.
    result = evaluate(book())
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["results"][0]["objectives"][0]
    assert (entry["downtime_minutes"], entry["attainment"]) == ("75", "99.826389")


@pytest.mark.parametrize("impact, words", [
    ("0", "not above 0 and at most 100"),
    ("100.5", "not above 0 and at most 100"),
    ("-5", "not a percentage"),
    ("half", "not a percentage"),
])
def test_a_bad_impact_cell_is_a_bad_row(book, impact, words):
    one_sentence(evaluate(book(impact=impact)), rf"incidents\.csv, line 3, field impact: .*{words}")


def test_an_impact_below_100_needs_exact_counting(book):
    folder = book(count="whole")
    one_sentence(evaluate(folder), r"incidents\.csv, line 3, field impact: .*objective a counts downtime whole")
    # Loading refuses it too, and writes nothing: the store holds no row a run could not evaluate.
    loaded = invoke("load", "--rules", folder / "rules", "--contracts", folder / "contracts.yaml",
                    "--data", folder / "data", "--db", f"sqlite:///{folder / 'store.db'}")
    one_sentence(loaded, r"incidents\.csv, line 3, field impact: .*r 1 counts downtime whole")
    # A failed load on a new path leaves no database at all (issue 15), so nothing of it is stored.
    assert not (folder / "store.db").exists()


def test_an_impact_of_100_is_all_of_the_service(book, tmp_path):
    # Written out, 100 means what an empty cell means, under any count.
    result = evaluate(book(count="whole", impact="100"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["objectives"][0]["downtime_minutes"] == "120"


def test_a_copied_scenario_is_a_starting_point(tmp_path):
    # A user copies a scenario folder and evaluates it as it is.
    shutil.copytree(ROOT / "fixtures" / "scenarios" / "slack-quarterly", tmp_path / "mine")
    result = invoke("evaluate", "--rules", tmp_path / "mine" / "rules", "--contracts",
                    tmp_path / "mine" / "contracts.yaml", "--data", tmp_path / "mine" / "data", "--period", "2026-04")
    assert result.exit_code == 0, result.output

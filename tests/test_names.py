"""What customers call an objective: display names in rule sets, and the wording without one.

A rule set may name each objective (``name``: one text, or texts by language with English);
documents, reports and explanations then use the name, and without one they word the
objective from its metric and service, adding its id only where two objectives would
otherwise read alike.  A rule set without names keeps the content hash it always had.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.evaluation import evaluate_book
from engine.core.period import Period
from engine.core.results import evaluation_json
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rulesets import load_rule_sets, parse_rule_set
from engine.loading.yamlsource import parse_yaml
from engine.store import Store
from invoices.documents import credit_lines
from invoices.present import record_titles, wording
from tests.conftest import ROOT

HEAD = 'ruleset: x\nversion: "1"\neffective_from: 2026-01-01\nobjectives:\n'


def objective(oid: str, extra: str = "", target: str = "99.9") -> str:
    return (f"  - id: {oid}\n{extra}    service: compute\n    metric: availability\n    target: \"{target}\"\n"
            f"    credit: {{tiers: [{{below: \"{target}\", credit: \"10%\"}}]}}\n")


def rules(*objectives: str):
    return parse_rule_set(parse_yaml(HEAD + "".join(objectives), "x.yaml"))


# --- the schema ----------------------------------------------------------------------------------------

def test_a_name_is_one_text_or_texts_by_language_with_english():
    one = rules(objective("a", "    name: Compute uptime\n"))
    assert one.objectives[0].name == "Compute uptime"
    several = rules(objective("a", "    name: {en: Compute uptime, fr: Disponibilité du calcul, ja: 計算の可用性}\n"))
    assert several.objectives[0].name == {"en": "Compute uptime", "fr": "Disponibilité du calcul", "ja": "計算の可用性"}
    assert '"name":{"en":"Compute uptime","fr":"Disponibilité du calcul","ja":"計算の可用性"}' in several.canonical_json


@pytest.mark.parametrize("name, line, field, message", [
    ("    name: {fr: Disponibilité}\n", 6, "objectives[0].name", "needs an English text (en)"),
    ("    name: {en: Uptime, xx: Uptime}\n", 6, "objectives[0].name.xx", "'xx' is not a language"),
    ("    name: {en: Uptime, fr_FR: Disponibilité}\n", 6, "objectives[0].name.fr_FR", "without a country"),
    ("    name:\n      en: Uptime\n      de: \"\"\n", 8, "objectives[0].name.de", "cannot be empty"),
    ("    name: \" Uptime\"\n", 6, "objectives[0].name", "cannot begin or end with spaces"),
    ("    name: \"Up\\ntime\"\n", 6, "objectives[0].name", "one line of text"),
    ("    name: \"\\u202eemitpU\"\n", 6, "objectives[0].name", "direction marks"),
    ("    name: " + "x" * 81 + "\n", 6, "objectives[0].name", "at most 80 characters"),
    ("    name: 5\n", 6, "objectives[0].name", "a name is a text"),
    ("    name: [Uptime]\n", 6, "objectives[0].name", "a name is a text"),
    ("    name: {en: 5}\n", 6, "objectives[0].name.en", "a name is a text"),
    ("    nmae: Uptime\n", 6, "objectives[0].nmae", "did you mean name"),
])
def test_a_bad_name_is_refused_at_its_line_and_field(name, line, field, message):
    with pytest.raises(InputError) as refused:
        rules(objective("a", name))
    error = refused.value
    assert (error.file, error.line, error.field) == ("x.yaml", line, field), str(error)
    assert message in str(error)


def test_two_objectives_named_alike_in_any_language_are_refused():
    with pytest.raises(InputError) as refused:
        rules(objective("a", "    name: {en: Uptime, fr: Disponibilité}\n"),
              objective("b", "    name: {en: Uptime (EU), fr: disponibilité}\n"))
    # objective a takes lines 5 to 10, b begins on line 11: its name is on line 12.  French compares
    # without case.
    assert (refused.value.line, refused.value.field) == (12, "objectives[1].name")
    assert "'b' has the same name as 'a' in 'fr' ('disponibilité')" in str(refused.value)
    # A text for every language meets the other's English where that one lists no German
    with pytest.raises(InputError, match="in 'de'"):
        rules(objective("a", "    name: {en: Uptime, de: Verfügbarkeit}\n"),
              objective("b", "    name: Verfügbarkeit\n"))
    rules(objective("a", "    name: Uptime\n"), objective("b", "    name: Uptime (EU)\n"), objective("c"))


def test_a_rule_set_without_names_keeps_the_hash_it_was_stored_under(tmp_path):
    """rules/standard-hosting-2025.1.yaml has no names; slabill 0.2.0 stored it (tests/data) before
    names existed.  Its hash now is the stored one, and the canonical JSON has no "name" key."""
    shutil.copyfile(ROOT / "tests" / "data" / "store-0.2.0-fixtures-2026-10.db", tmp_path / "old.db")
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    stored = {(row.ruleset, row.version): row.sha256 for row in store.rule_set_rows()}
    store.close()
    unnamed = load_rule_sets(ROOT / "rules" / "standard-hosting-2025.1.yaml").for_period("standard-hosting",
                                                                                        date(2025, 1, 1))
    assert '"name"' not in unnamed.canonical_json
    assert unnamed.sha256 == stored["standard-hosting", "2025.1"]
    # the shipped 2026.1 now names its objectives: new content, a new hash
    named = load_rule_sets(ROOT / "rules" / "standard-hosting-2026.1.yaml").for_period("standard-hosting",
                                                                                      date(2026, 10, 1))
    assert named.sha256 != stored["standard-hosting", "2026.1"]


def test_the_schema_for_editors_describes_names():
    result = CliRunner().invoke(app, ["rules", "schema"])
    schema = json.loads(result.stdout)
    objective_schema = schema["$defs"]["Objective"]["properties"]["name"]
    assert "English (en)" in json.dumps(objective_schema)


# --- the wording, the same on documents, reports and explanations -------------------------------------------

CONTRACTS = """\
issuer: {name: Hostco SAS, vat_id: FR40123456789, country: FR, address: "1 rue X, 75001 Paris", credit_note_prefix: AV}
contracts:
  - id: C-1
    customer: {id: A, name: A SAS, locale: fr_FR, country: FR, vat_id: FR12345678901}
    currency: EUR
    timezone: Europe/Paris
    ruleset: x
    start: 2025-01-01
    vat_rate: "20"
    services:
      - {id: compute, monthly_fee: "1000.00"}
"""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "contracts.yaml").write_text(CONTRACTS)
    (tmp_path / "data").mkdir()
    # 60 minutes down in a Paris October of 44,700 minutes: 99.865772 %, below 99.9 and 99.95
    (tmp_path / "data" / "incidents.csv").write_text(
        "contract,service,start,end,cause,announced_at\nC-1,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00Z,,\n")
    return tmp_path


def evaluate(book: Path, rule_file: str):
    (book / "rules" / "x.yaml").write_text(rule_file)
    contracts = load_book(book / "contracts.yaml")
    [evaluation] = evaluate_book(load_rule_sets(book / "rules"), contracts,
                                 load_measurements(book / "data", contracts), Period(2026, 10))
    return evaluation


def test_unnamed_objectives_that_read_alike_show_their_ids_everywhere(book):
    evaluation = evaluate(book, HEAD + objective("monthly") + objective("strict", target="99.95")
                          + objective("named", "    name: {en: Uptime, fr: Disponibilité globale}\n"))
    lines = {line.objective: line.detail for line in credit_lines(evaluation)}
    # both missed (99.865772 < 99.9 < 99.95): their lines carry the need for an id, the named one its name
    assert lines["monthly"]["with_id"] is True and lines["strict"]["with_id"] is True
    assert lines["named"]["name"] == {"en": "Uptime", "fr": "Disponibilité globale"} and "with_id" not in lines["named"]
    # the record (the evaluation's JSON) words them the same
    french = wording("fr", False)
    titles = {key: french.objective(title) for key, title in record_titles(evaluation_json(evaluation)).items()}
    assert titles == {"monthly": "disponibilité (compute, monthly)", "strict": "disponibilité (compute, strict)",
                      "named": "Disponibilité globale"}


def test_the_json_carries_a_name_as_written_and_nothing_without_one(book):
    evaluation = evaluate(book, HEAD + objective("a", "    name: {en: Uptime, fr: Disponibilité}\n") + objective("b"))
    objectives = evaluation_json(evaluation)["objectives"]
    assert objectives[0]["name"] == {"en": "Uptime", "fr": "Disponibilité"}
    assert list(objectives[0])[:3] == ["id", "name", "service"]
    assert "name" not in objectives[1]

"""``slabill evaluate --format table``: what a person reads at a terminal, late fees included."""

from __future__ import annotations

from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT


def table_of_the_fixtures():
    """``evaluate --format table`` of the shipped fixtures for October 2026, wide enough not to wrap."""
    result = CliRunner().invoke(app, ["evaluate", "--rules", str(ROOT / "rules"),
                                      "--contracts", str(ROOT / "fixtures" / "contracts.yaml"),
                                      "--data", str(ROOT / "fixtures" / "data"), "--period", "2026-10",
                                      "--format", "table"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def test_the_table_shows_credits_caps_and_late_fees():
    result = table_of_the_fixtures()
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    # C-2001: 1,440.00 USD of credits cut to the 1,375.00 USD cap, and 43.08 USD of late-payment interest
    assert "1375.00 USD (capped)" in rows["C-2001"] and "43.08 USD" in rows["C-2001"]
    # C-3001 owes no credit, but is charged 6.39 GBP of late fees: the table must not read as nothing at all
    assert "none" in rows["C-3001"] and "6.39 GBP" in rows["C-3001"]
    assert "480000 JPY" in rows["C-5001"] and "59.188 BHD" in rows["C-6001"]


def test_the_table_counts_tiers_from_one_as_the_documents_do():
    result = table_of_the_fixtures()
    cells = {line.split("│")[1].strip() or None: [c.strip() for c in line.split("│")[1:-1]]
             for line in result.stdout.splitlines() if line.startswith("│")}
    tier = 5  # contract, objective, attainment, target, met, tier
    # C-1001 at 99.670246 % falls in standard-hosting's first tier (>= 99 and < 99.9), index 0,
    # which its credit note calls "Palier 1"; C-5001 at 94.62298 % falls in its third, index 2.
    assert cells["C-1001"][tier] == "1"
    assert cells["C-5001"][tier] == "3"
    assert cells["C-3001"][tier] == "-"  # met: no tier

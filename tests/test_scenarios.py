"""Acceptance scenarios taken from published SLAs, run through ``slabill evaluate`` as a user would.

Each folder of ``fixtures/scenarios/`` holds a rule-set folder, a contracts file, a data folder
and ``expected.json`` with figures computed by hand (the arithmetic is in the folder's README.md
and in the ``notes`` keys).  ``expected.json`` is either one run::

    {"period": "2026-04", "results": [{"contract": ..., "objectives": [{"id": ..., ...}], ...}]}

or several periods of the same book::

    {"runs": [{"period": "2026-03", "results": [...]}, {"period": "2026-10", "results": [...]}]}

Every key written in ``expected.json`` must equal the engine's JSON exactly (money and
attainment are compared as strings); keys it leaves out are not checked.  ``notes`` keys are
commentary.  A result may carry ``"xfail": "engine bug: ..."`` when the engine is known to
disagree with the hand figures: the case is then marked ``xfail(strict=True)``, so the
suite stays green and turns red the day the engine is fixed and the mark can go.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "fixtures" / "scenarios"
COMMENTARY = {"notes", "xfail"}


def _command() -> list[str]:
    slabill = Path(sys.executable).with_name("slabill")
    if slabill.exists():
        return [str(slabill)]
    return [sys.executable, "-m", "engine.cli"]


def _runs(folder: Path) -> list[dict[str, Any]]:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return expected["runs"] if "runs" in expected else [expected]


def _scenario_folders() -> list[Path]:
    return sorted(p for p in SCENARIOS.iterdir() if (p / "expected.json").is_file()) if SCENARIOS.is_dir() else []


@cache
def evaluate(folder: Path, period: str) -> dict[str, Any]:
    """The engine's JSON for one scenario and period, run once per test session."""
    process = subprocess.run(
        [*_command(), "evaluate", "--rules", str(folder / "rules"), "--contracts", str(folder / "contracts.yaml"),
         "--data", str(folder / "data"), "--period", period, "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert process.returncode == 0, f"slabill evaluate failed ({process.returncode}): {process.stderr}"
    return json.loads(process.stdout)


def _cases() -> list[Any]:
    cases = []
    for folder in _scenario_folders():
        for run in _runs(folder):
            for expected in run["results"]:
                marks = []
                if "xfail" in expected:
                    marks.append(pytest.mark.xfail(strict=True, reason=expected["xfail"]))
                cases.append(pytest.param(folder, run["period"], expected, marks=marks,
                                          id=f"{folder.name}-{run['period']}-{expected['contract']}"))
    return cases


def _period_cases() -> list[Any]:
    return [pytest.param(folder, run, id=f"{folder.name}-{run['period']}")
            for folder in _scenario_folders() for run in _runs(folder)]


def test_every_scenario_is_complete() -> None:
    folders = [p for p in SCENARIOS.iterdir() if p.is_dir()]
    assert folders, "no scenario folders"
    for folder in folders:
        assert (folder / "expected.json").is_file(), f"{folder.name} has no expected.json"
        assert (folder / "contracts.yaml").is_file(), f"{folder.name} has no contracts.yaml"
        assert list((folder / "rules").glob("*.yaml")), f"{folder.name} has no rule set"
        assert (folder / "data").is_dir(), f"{folder.name} has no data folder"
        assert (folder / "README.md").is_file(), f"{folder.name} does not show its arithmetic"


@pytest.mark.parametrize(("folder", "run"), _period_cases())
def test_scenario_lists_exactly_the_expected_contracts(folder: Path, run: dict[str, Any]) -> None:
    actual = evaluate(folder, run["period"])
    assert actual["period"] == run["period"]
    assert sorted(r["contract"] for r in actual["results"]) == sorted(r["contract"] for r in run["results"])


def _compare(expected: dict[str, Any], actual: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, want in expected.items():
        if key in COMMENTARY:
            continue
        if key == "objectives":
            by_id = {o["id"]: o for o in actual.get("objectives", [])}
            for objective in want:
                got = by_id.get(objective["id"])
                if got is None:
                    problems.append(f"{where}: no objective {objective['id']!r} (has {sorted(by_id)})")
                    continue
                problems += _compare(objective, got, f"{where}/{objective['id']}")
        elif key not in actual:
            problems.append(f"{where}: no key {key!r}")
        elif actual[key] != want:
            problems.append(f"{where}.{key}: expected {want!r}, engine says {actual[key]!r}")
    return problems


@pytest.mark.parametrize(("folder", "period", "expected"), _cases())
def test_scenario_figures(folder: Path, period: str, expected: dict[str, Any]) -> None:
    actual = evaluate(folder, period)
    results = {r["contract"]: r for r in actual["results"]}
    assert expected["contract"] in results, f"no result for {expected['contract']}"
    problems = _compare(expected, results[expected["contract"]], f"{period} {expected['contract']}")
    assert not problems, "\n".join(problems)

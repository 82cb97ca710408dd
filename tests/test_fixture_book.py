"""The demo book of business, October 2026, against figures computed by hand.

``fixtures/expected/evaluate-2026-10.json`` holds the key figures of every active contract
of ``fixtures/contracts.yaml`` for 2026-10, worked out by hand (the arithmetic is in
``fixtures/expected/README.md``).  It is a subset of what ``slabill evaluate --format json``
prints: every key it writes must equal the engine's value exactly (money, minutes and
attainment as strings, counts as integers, ``met`` and ``cap_applied`` as booleans); keys it
leaves out are not checked.  Each figure is its own test, so a disagreement names the
contract, objective and key.

When the engine disagrees with a hand figure that has been checked twice against the rules
in README.md, the figure stays as it is and its test id goes into ``ENGINE_BUGS`` with the
reason: the test is then ``xfail(strict=True)`` and turns red the day the engine is fixed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECTED = FIXTURES / "expected" / "evaluate-2026-10.json"
PERIOD = "2026-10"
INACTIVE = "C-1004"
"""ended on 2026-09-30, so no day of October lies in its term"""

ENGINE_BUGS: dict[str, str] = {
    # "C-xxxx/objective/key": "engine bug: ...",
}


def _command() -> list[str]:
    slabill = Path(sys.executable).with_name("slabill")
    if slabill.exists():
        return [str(slabill)]
    return [sys.executable, "-m", "engine.cli"]


@cache
def engine_output() -> dict[str, Any]:
    """The engine's JSON for the demo book, run once per test session."""
    process = subprocess.run(
        [*_command(), "evaluate", "--rules", "rules", "--contracts", "fixtures/contracts.yaml",
         "--data", "fixtures/data", "--period", PERIOD, "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert process.returncode == 0, f"slabill evaluate failed ({process.returncode}): {process.stderr}"
    assert process.stderr == "", process.stderr
    return json.loads(process.stdout)


def expected() -> dict[str, Any]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


def engine_result(contract: str) -> dict[str, Any]:
    matches = [r for r in engine_output()["results"] if r["contract"] == contract]
    assert len(matches) == 1, f"{contract} appears {len(matches)} times in the engine's results"
    return matches[0]


def engine_objective(contract: str, objective: str) -> dict[str, Any]:
    matches = [o for o in engine_result(contract)["objectives"] if o["id"] == objective]
    assert len(matches) == 1, f"{contract}: objective {objective} appears {len(matches)} times"
    return matches[0]


def _figures() -> Iterator[tuple[str, str, str | None, str, Any]]:
    """(test id, contract, objective or None, key, expected value) for every hand figure."""
    for result in expected()["results"]:
        contract = result["contract"]
        for key, value in result.items():
            if key == "contract":
                continue
            if key == "objectives":
                for objective in value:
                    for okey, ovalue in objective.items():
                        if okey != "id":
                            yield f"{contract}/{objective['id']}/{okey}", contract, objective["id"], okey, ovalue
            elif isinstance(value, dict):
                for subkey, subvalue in value.items():
                    yield f"{contract}/{key}.{subkey}", contract, None, f"{key}.{subkey}", subvalue
            else:
                yield f"{contract}/{key}", contract, None, key, value


def _params():
    for test_id, contract, objective, key, value in _figures():
        marks = [pytest.mark.xfail(strict=True, reason=ENGINE_BUGS[test_id])] if test_id in ENGINE_BUGS else []
        yield pytest.param(contract, objective, key, value, id=test_id, marks=marks)


@pytest.mark.parametrize(("contract", "objective", "key", "value"), list(_params()))
def test_figure(contract: str, objective: str | None, key: str, value: Any) -> None:
    if objective is not None:
        source = engine_objective(contract, objective)
    else:
        source = engine_result(contract)
    for part in key.split(".")[:-1]:
        source = source[part]
    last = key.split(".")[-1]
    assert last in source, f"the engine's JSON has no {key!r}"
    actual = source[last]
    # Exact equality of the JSON values, type included: "10" is not 10, "124.58" is not "124.580".
    assert (type(actual), actual) == (type(value), value)


def test_period() -> None:
    assert engine_output()["period"] == PERIOD == expected()["period"]


def test_every_active_contract_and_only_those() -> None:
    engine = [r["contract"] for r in engine_output()["results"]]
    assert sorted(engine) == sorted(r["contract"] for r in expected()["results"])
    assert len(engine) == len(set(engine))


def test_inactive_contract_is_not_evaluated() -> None:
    assert INACTIVE in (FIXTURES / "contracts.yaml").read_text(encoding="utf-8")
    assert INACTIVE not in [r["contract"] for r in engine_output()["results"]]


@pytest.mark.parametrize("contract", [r["contract"] for r in expected()["results"]])
def test_objectives_in_rule_set_order(contract: str) -> None:
    hand = [o["id"] for r in expected()["results"] if r["contract"] == contract for o in r["objectives"]]
    assert [o["id"] for o in engine_result(contract)["objectives"]] == hand

"""``slabill replay``: evaluate recorded evaluations again from the records alone, and compare.

A record holds every input its evaluation used and names its rule set by content, so
evaluating it again, years later, must give the same figures to the letter; any figure
that differs is reported with its path and both values.  ``--with-current-rules`` asks
what other rules would have given, as a labelled what-if, never as a correction.
Records are independent of one another: worker processes replay them a chunk at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..core.canonical import canonical
from ..core.evaluation import CompiledCache, Evaluation, evaluate_contract
from ..core.matching import CompiledRules
from ..core.model import Contract
from ..core.period import Period
from ..core.rulesets import RuleBook
from ..core.schema import RuleSet
from ..processes import chunked, in_order
from ..store import Store
from .records import engine_versions, measurements_from, rates_from, result_text

CHUNK = 1000
"""records per batch a worker replays"""


@dataclass
class Replayed:
    evaluation_id: int
    contract: str
    period: str
    differences: list[str] = field(default_factory=list)
    what_if: bool = False
    note: str | None = None


def differences(recorded: Any, replayed: Any, path: str = "") -> list[str]:
    """Every path at which two JSON values differ, with both values.

    >>> for line in differences({"a": [1, {"b": "x"}]}, {"a": [1, {"b": "y"}], "c": 2}):
    ...     print(line)
    a[1].b: recorded 'x', replayed 'y'
    c: recorded (absent), replayed 2
    >>> differences({"met": True, "tier": 0}, {"met": 1, "tier": 0})
    ['met: recorded True, replayed 1']
    """
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found = []
        for key in sorted(set(recorded) | set(replayed), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in recorded:
                found.append(f"{where}: recorded (absent), replayed {replayed[key]!r}")
            elif key not in replayed:
                found.append(f"{where}: recorded {recorded[key]!r}, replayed (absent)")
            else:
                found += differences(recorded[key], replayed[key], where)
        return found
    if isinstance(recorded, list) and isinstance(replayed, list):
        found = []
        for index in range(max(len(recorded), len(replayed))):
            where = f"{path}[{index}]"
            if index >= len(recorded):
                found.append(f"{where}: recorded (absent), replayed {replayed[index]!r}")
            elif index >= len(replayed):
                found.append(f"{where}: recorded {recorded[index]!r}, replayed (absent)")
            else:
                found += differences(recorded[index], replayed[index], where)
        return found
    # type too: JSON's true and 1 are different figures, though Python finds them equal
    same = recorded == replayed and type(recorded) is type(replayed)
    return [] if same else [f"{path}: recorded {recorded!r}, replayed {replayed!r}"]


def _evaluate_again(record: dict[str, Any], rule_set: RuleSet, compiled: CompiledRules | None) -> Evaluation:
    """A record's inputs evaluated again under ``rule_set``."""
    contract = Contract.model_validate(record["inputs"]["contract"])
    period = Period.parse(record["period"])
    return evaluate_contract(contract, rule_set, measurements_from(record["inputs"]), period, compiled,
                             rates=rates_from(record["inputs"]))


def replay(store: Store, *, evaluation_id: int | None = None, run_id: int | None = None,
           period: str | None = None, current_rules: RuleBook | None = None, workers: int = 1) -> Iterator[Replayed]:
    """Replay the chosen records from themselves alone (or, with ``current_rules``, as a what-if).

    The outcomes come back in the records' order.
    """
    ids = store.record_ids(evaluation_id=evaluation_id, run_id=run_id, period=period)
    for outcomes in in_order(ReplayJob(current_rules), chunked(ids, CHUNK), workers, store=store):
        yield from outcomes


@dataclass(frozen=True)
class ReplayJob:
    """Replay a chunk of records, by id."""

    current_rules: RuleBook | None = None
    """today's rules, for a what-if; None replays each record under the rule set it names"""

    def __call__(self, ids: list[int], store: Store) -> list[Replayed]:
        rule_sets: dict[str, RuleSet] = {}
        compiled = CompiledCache()
        return [self.replay_one(store, row, rule_sets, compiled) for row in store.record_texts(ids)]

    def replay_one(self, store: Store, row, rule_sets: dict[str, RuleSet], compiled: CompiledCache) -> Replayed:
        current_rules = self.current_rules
        record = json.loads(row.record_json)
        outcome = Replayed(row.id, row.contract_id, row.period, what_if=current_rules is not None)
        if current_rules is None:
            sha = record["ruleset"]["sha256"]
            if sha not in rule_sets:
                stored = store.rule_set(sha)
                if stored is None or stored.sha256 != sha:
                    outcome.differences.append(f"ruleset: the stored rule set {sha[:12]} is missing or altered")
                    return outcome
                rule_sets[sha] = stored
            rule_set = rule_sets[sha]
        else:
            contract = record["inputs"]["contract"]
            rule_set = current_rules.for_period(contract["ruleset"], Period.parse(row.period).first_day)
            if rule_set is None:
                outcome.note = f"no current version of {contract['ruleset']} applies to {row.period}"
                return outcome
            if rule_set.sha256 != record["ruleset"]["sha256"]:
                outcome.note = f"current rules {rule_set.ruleset} {rule_set.version} ({rule_set.sha256[:12]})"
        # Equal canonical texts are the same figures to the letter (true is not 1); only a
        # record that differs is walked, field by field, to say where.
        # result_text writes what canonical(result_of(...)) would, without building the dicts.
        replayed = result_text(_evaluate_again(record, rule_set, compiled(rule_set)))
        if replayed != canonical(record["result"]):
            outcome.differences = differences(record["result"], json.loads(replayed))
        if current_rules is None and record["engine"] != engine_versions():
            outcome.note = f"recorded with {record['engine']}, replayed with {engine_versions()}"
        return outcome

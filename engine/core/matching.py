"""Rule matching: which tiers and breaches fire for a contract's month.

A rule set compiles to a list of ``Rule`` values: for each objective a ``missed`` rule
(attainment below the target) and one rule per credit tier, plus a lowest-priority
catch-all.  The same list is matched two ways:

* ``DurableMatcher`` runs it on durable-rules, the product owner's engine.  This module
  is the only place that touches durable-rules, and it contains the engine's traps
  (docs/DESIGN.md): a process-global registry (each rule-set content is registered once
  under an immutable name), polling timer threads (our host never starts them),
  ``post`` firing only the first match (we assert a fact, which fires every match, and
  give each rule its own priority), a crash when deleting a session in which nothing
  fired (the catch-all always fires, and a session is deleted only when it exists),
  and JSON-only facts (attainment crosses as integers at a scale that keeps every
  bound exact; money never crosses).  Our actions would only note which rule fired, so
  the adapter takes the fired actions from the engine's action loop itself (start,
  update, complete) instead of running Python callbacks: every action runs in the
  caller, none can fail silently into the session state, and none builds the reference
  cycles durable-rules' callback layer makes for each firing (at 100,000 contracts,
  uncollected they held 700 MB; collected they cost 10 s).
* ``reference_match`` evaluates the same rules in plain Python on the exact attainment.
  A differential test keeps the two in agreement.

A fact carries, per objective ``i``, ``o{i}_lo = floor(attainment x 10**d)`` and
``o{i}_hi = ceil(attainment x 10**d)``, where ``d`` is the most decimals any bound of the
rule set has.  For a bound ``T`` with ``T x 10**d`` an integer ``t``: ``x < T`` exactly when
``floor(x 10**d) < t``, ``x >= T`` when ``floor(...) >= t``, ``x <= T`` when
``ceil(x 10**d) <= t`` and ``x > T`` when ``ceil(...) > t``.  The attainment is the one
compared (rounded first under ``attainment_rounding``).

Tiers on a whole count (``tiers_on: late_tickets`` or ``outages``) read ``o{i}_n = n x 10**d``
instead: a count is an integer, so its scaled value is exact and every bound compares
exactly on it.  The objective's ``missed`` rule still reads the attainment.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib.metadata import version as package_version
from typing import Mapping

from .money import decimal_places
from .schema import RuleSet

ADAPTER_VERSION = "1"
CATCH_ALL = "*"

_OPS = {
    # op: (durable operator, which scaled side, exact comparison)
    "below": ("$lt", "lo", lambda x, t: x < t),
    "at_least": ("$gte", "lo", lambda x, t: x >= t),
    "at_most": ("$lte", "hi", lambda x, t: x <= t),
    "above": ("$gt", "hi", lambda x, t: x > t),
}


@dataclass(frozen=True)
class Condition:
    """``attainment of objective #index <op> bound`` (or, ``on_count``, its count)."""

    index: int
    op: str
    bound: Decimal
    on_count: bool = False

    def holds(self, value: Fraction) -> bool:
        return _OPS[self.op][2](value, Fraction(self.bound))

    def durable(self, scale: int) -> dict:
        operator, side, _ = _OPS[self.op]
        key = f"o{self.index}_n" if self.on_count else f"o{self.index}_{side}"
        return {operator: {key: int(self.bound * scale)}}


@dataclass(frozen=True)
class Rule:
    """A named rule; it fires when all its conditions hold (the catch-all has none)."""

    name: str
    priority: int
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class CompiledRules:
    """A rule set's rules in the one form both matchers read."""

    engine_name: str
    digits: int
    rules: tuple[Rule, ...]
    objectives: tuple[str, ...]
    counted: tuple[str, ...] = ()
    """the objectives whose tiers read a whole count"""

    @property
    def scale(self) -> int:
        return 10**self.digits


def missed_rule(objective_id: str) -> str:
    return f"{objective_id}/missed"


def tier_rule(objective_id: str, index: int) -> str:
    return f"{objective_id}/tier/{index}"


def compile_rules(rule_set: RuleSet) -> CompiledRules:
    """The rules of a rule set, each with its own priority (lower fires first)."""
    rules: list[Rule] = []
    digits = 0
    priority = 1
    for index, objective in enumerate(rule_set.objectives):
        if objective.target is not None:
            rules.append(Rule(missed_rule(objective.id), priority, (Condition(index, "below", objective.target),)))
            digits = max(digits, decimal_places(objective.target))
            priority += 1
        on_count = objective.credit.on_count
        for number, tier in enumerate(objective.credit.tiers or ()):
            conditions = tuple(Condition(index, kind, value, on_count) for kind, value in tier.bounds())
            digits = max([digits, *(decimal_places(c.bound) for c in conditions)])
            rules.append(Rule(tier_rule(objective.id, number), priority, conditions))
            priority += 1
    rules.append(Rule(CATCH_ALL, priority + 1000, ()))
    return CompiledRules(rule_set.engine_name, digits, tuple(rules), tuple(o.id for o in rule_set.objectives),
                         tuple(o.id for o in rule_set.objectives if o.credit.on_count))


def make_fact(compiled: CompiledRules, contract_id: str, attainments: Mapping[str, Fraction],
              counts: Mapping[str, int] | None = None) -> dict:
    """The one fact posted per contract and period: scaled integer attainments (and counts).

    An objective the contract does not take (no such service) has no keys, so none of
    its rules can fire.
    """
    fact: dict[str, object] = {"contract": contract_id}
    scale = compiled.scale
    for index, objective_id in enumerate(compiled.objectives):
        exact = attainments.get(objective_id)
        if exact is None:
            continue
        # floor and ceiling of exact x scale, in integers (no Fraction to build per fact)
        numerator, denominator = exact.numerator * scale, exact.denominator
        fact[f"o{index}_lo"] = numerator // denominator
        fact[f"o{index}_hi"] = -(-numerator // denominator)
    if compiled.counted and counts:
        for index, objective_id in enumerate(compiled.objectives):
            count = counts.get(objective_id)
            if count is not None:
                fact[f"o{index}_n"] = count * scale
    return fact


def reference_match(compiled: CompiledRules, attainments: Mapping[str, Fraction],
                    counts: Mapping[str, int] | None = None) -> frozenset[str]:
    """The rules that hold on the exact attainments (and counts), in plain Python."""
    fired = set()
    counts = counts or {}
    for rule in compiled.rules:
        values = [(counts if c.on_count else attainments).get(compiled.objectives[c.index]) for c in rule.conditions]
        if all(v is not None and c.holds(Fraction(v)) for c, v in zip(rule.conditions, values)):
            fired.add(rule.name)
    return frozenset(fired)


class RuleEngineError(RuntimeError):
    """durable-rules failed while matching; the evaluation cannot be trusted."""


def durable_rules_version() -> str:
    return package_version("durable_rules")


class DurableMatcher:
    """The single adapter to durable-rules.  Use ``matcher()``, the process's one: the registry is process-global."""

    SESSION = "1"
    """the session id matching starts on"""

    def __init__(self) -> None:
        from durable import engine

        class QuietHost(engine.Host):
            """A host that never starts durable-rules' polling timer threads."""

            def _run(self) -> None:
                return None

        import durable_rules_engine

        self._host = QuietHost()
        self._engine = durable_rules_engine
        self._registered: dict[str, CompiledRules] = {}
        self._lock = threading.Lock()
        self.session = self.SESSION

    def _register(self, compiled: CompiledRules) -> None:
        known = self._registered.get(compiled.engine_name)
        if known is not None:
            # Usually the very object registered (a run compiles each rule set once): the
            # rules are compared, tier by tier, only when they are not.
            if known is not compiled and known != compiled:
                raise RuleEngineError(f"{compiled.engine_name} is registered with other rules")
            return
        definition = {}
        for rule in compiled.rules:
            if rule.conditions:
                tests = [c.durable(compiled.scale) for c in rule.conditions]
                condition = tests[0] if len(tests) == 1 else {"$and": tests}
            else:
                condition = {"$ex": {"contract": 1}}
            definition[rule.name] = {"all": [{"m": condition}], "pri": rule.priority, "run": _never_run}
        self._host.register_rulesets({compiled.engine_name: definition})
        self._registered[compiled.engine_name] = compiled

    def match(self, compiled: CompiledRules, fact: dict) -> frozenset[str]:
        """Assert one fact in a fresh session, collect every rule that fired, delete the session."""
        with self._lock:
            self._register(compiled)
            name = compiled.engine_name
            ruleset = self._host.get_ruleset(name)
            engine = self._engine
            fired: list[str] = []
            try:
                session = ruleset.assert_fact({**fact, "sid": self.session})
                started = engine.start_action_for_state(ruleset._handle, session)
                if started:
                    state, pending = started[0], json.loads(started[1])
                    while pending:
                        fired.append(next(iter(pending)))
                        engine.update_state(ruleset._handle, state)
                        following = engine.complete_and_start_action(ruleset._handle, session)
                        pending = json.loads(following) if following else None
                if CATCH_ALL not in fired:
                    raise RuleEngineError(f"the catch-all rule of {name} did not fire for {fact.get('contract')}")
            except RuleEngineError:
                raise
            except Exception as exc:
                raise RuleEngineError(f"durable-rules failed matching {fact.get('contract')} in {name}: {exc}") from exc
            finally:
                self._end_session(name, fired)
            return frozenset(fired)

    def _end_session(self, name: str, fired: list[str]) -> None:
        # Deleting a session in which nothing fired can crash the process inside the C
        # engine.  Such a session (only possible when matching failed) is abandoned, and
        # later matches use a fresh session id so its fact can never mix with theirs.
        if not fired:
            self.session = str(int(self.session) + 1)
            return
        self._host.delete_state(name, self.session)

    def registered(self) -> int:
        return len(self._registered)


def _never_run(closure) -> None:
    """durable-rules wants an action per rule; the adapter reads fired rules from the engine instead."""
    raise RuleEngineError("durable-rules ran a rule action through its callback layer, which slabill never uses")


_matcher: DurableMatcher | None = None
_matcher_lock = threading.Lock()


def matcher() -> DurableMatcher:
    """The process's one durable-rules adapter, made on first use."""
    global _matcher
    with _matcher_lock:
        if _matcher is None:
            _matcher = DurableMatcher()
        return _matcher

"""Audit: verify the chain of records, replay evaluations, explain them, export them.

``verify`` walks the evaluation records in the order they were written and reports
the first broken link: a record whose text no longer hashes to its hash (an edited
figure), whose ``previous`` is not the record before it (a deleted or reordered
record), whose columns disagree with its text, or whose documents or document lines
disagree with what the record says was issued.

``replay`` evaluates a record again from the record alone (the stored rule set, the
inputs copied into the record) and compares every figure; ``--with-current-rules``
asks what other rules would have given, as a labelled what-if.

``explanation`` gathers, from a record, what a customer asking "why this credit, or
why none?" needs to be told; ``invoices.explain`` says it in their language.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import IO, Any, Iterator

from sqlmodel import select

from .evaluation import CompiledCache, Evaluation, evaluate_contract
from .matching import CompiledRules
from .book import Contract
from .period import Period
from .records import GENESIS, canonical, measurements_from, rates_from, result_text, sha256_text
from .rulesets import RuleBook
from .schema import RuleSet
from .store import Store
from .tables import ChainHeadRow, DocumentLineRow, DocumentRow, EvaluationRow, RuleSetRow
from .workers import chunked, in_order, store_for


@dataclass
class VerifyReport:
    records: int = 0
    documents: int = 0
    problem: str | None = None
    """the first broken link, in one sentence, or None when the chain holds"""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _describe(row: EvaluationRow) -> str:
    return f"record {row.id} ({row.contract_id} {row.period} revision {row.revision})"


def _stream(store: Store, model, order, chunk: int = 2000) -> Iterator:
    """Rows in order, a chunk at a time, so memory stays flat on large stores."""
    last = None
    with store.reading() as session:
        while True:
            query = select(model).order_by(order).limit(chunk)
            if last is not None:
                query = query.where(order > last)
            rows = session.exec(query).all()
            if not rows:
                return
            yield from rows
            last = getattr(rows[-1], order.key)
            session.expunge_all()


_JOB: dict[str, Any] = {}
"""what the worker processes of verify and replay need, set by the parent before it forks them"""

CHUNK = 1000
"""records per batch a worker checks or replays"""

_RECORD_COLUMNS = (EvaluationRow.id, EvaluationRow.contract_id, EvaluationRow.period, EvaluationRow.revision,
                   EvaluationRow.input_digest, EvaluationRow.ruleset_sha256, EvaluationRow.credit_total,
                   EvaluationRow.credit_status, EvaluationRow.record_json, EvaluationRow.record_sha256,
                   EvaluationRow.previous_sha256)
_DOCUMENT_COLUMNS = (DocumentRow.id, DocumentRow.evaluation_id, DocumentRow.number, DocumentRow.kind,
                     DocumentRow.currency, DocumentRow.net_total, DocumentRow.tax_total, DocumentRow.gross_total,
                     DocumentRow.content_json, DocumentRow.content_sha256, DocumentRow.html_sha256,
                     DocumentRow.text_sha256)
_LINE_COLUMNS = (DocumentLineRow.document_id, DocumentLineRow.position, DocumentLineRow.kind,
                 DocumentLineRow.objective, DocumentLineRow.net_amount, DocumentLineRow.vat_rate,
                 DocumentLineRow.detail_json)


def verify(store: Store, workers: int = 1) -> VerifyReport:
    """Check every record, document and line against the chain; stop at the first break.

    The links (each record's ``previous`` against the hash of the record before it) are
    followed here, in order; the records' own checks (text against hash, columns and
    documents against text) need nothing from one another, so ``workers`` processes do
    them a chunk of records at a time.
    """
    report = VerifyReport()
    rule_sets = _check_rule_sets(store)
    if isinstance(rule_sets, str):
        report.problem = rule_sets
        return report
    with store.reading() as session:
        links = session.execute(select(EvaluationRow.id, EvaluationRow.previous_sha256, EvaluationRow.record_sha256)
                                .order_by(EvaluationRow.id)).all()
        orphans = session.execute(select(DocumentRow.number).where(
            DocumentRow.evaluation_id.not_in(select(EvaluationRow.id))).order_by(DocumentRow.id)).scalars().all()
        chain = session.get(ChainHeadRow, 1)
    _JOB.clear()
    _JOB.update(store=store, parent=os.getpid(), rule_sets=rule_sets)
    head = GENESIS
    try:
        checked = (record for chunk in in_order(store, _check_chunk, chunked([link.id for link in links], CHUNK),
                                                workers) for record in chunk)
        for link, (described, hash_problem, problem, documents) in zip(links, checked):
            if hash_problem is None and link.previous_sha256 != head:
                problem = "it does not follow the record before it: a record was deleted or records were reordered"
            problem = hash_problem or problem
            if problem:
                report.problem = f"{described}: {problem}"
                return report
            head = link.record_sha256
            report.records += 1
            report.documents += documents
    finally:
        _JOB.clear()
    if orphans:
        report.problem = f"document(s) {', '.join(orphans)} belong to no record in the chain"
        return report
    if chain is None or chain.last_sha256 != head or chain.length != report.records:
        report.problem = (f"the chain ends at record {report.records} ({head[:12]}) but the store says it ends at "
                          f"record {chain.length if chain else '?'} ({chain.last_sha256[:12] if chain else '?'}): "
                          "records at the end were deleted")
    return report


def _check_rule_sets(store: Store) -> dict[str, str] | str:
    known: dict[str, str] = {}
    for row in _stream(store, RuleSetRow, RuleSetRow.sha256):
        if sha256_text(row.canonical_json) != row.sha256:
            return f"the stored rule set {row.ruleset} {row.version} no longer hashes to {row.sha256[:12]}: it was edited"
        known[row.sha256] = row.canonical_json
    return known


def _check_chunk(ids: list[int]) -> list[tuple[str, str | None, str | None, int]]:
    """Each record's own checks, for a chunk of records: (who, hash problem, other problem, documents)."""
    store = store_for(_JOB["store"], _JOB["parent"])
    with store.reading() as session:
        rows = session.execute(select(*_RECORD_COLUMNS).where(EvaluationRow.id.in_(ids))
                               .order_by(EvaluationRow.id)).all()
        documents = session.execute(select(*_DOCUMENT_COLUMNS).where(DocumentRow.evaluation_id.in_(ids))
                                    .order_by(DocumentRow.id)).all()
        lines = session.execute(select(*_LINE_COLUMNS).where(DocumentLineRow.document_id.in_(
            [d.id for d in documents])).order_by(DocumentLineRow.position)).all() if documents else []
    lines_of: dict[int, list] = {}
    for line in lines:
        lines_of.setdefault(line.document_id, []).append(line)
    issued: dict[int, list] = {}
    for document in documents:
        issued.setdefault(document.evaluation_id, []).append((document, lines_of.get(document.id, [])))
    checked = []
    for row in rows:
        found = issued.get(row.id, [])
        if hashlib.sha256(row.record_json.encode("utf-8")).hexdigest() != row.record_sha256:
            checked.append((_describe(row), "its text no longer matches its hash: a figure in it was edited", None, 0))
            continue
        checked.append((_describe(row), None, _check_record(row, _JOB["rule_sets"], found), len(found)))
    return checked


def _check_record(row, rule_sets: dict[str, str], documents: list[tuple[Any, list]]) -> str | None:
    """A record's text against its columns, its rule set and its documents (its hash is checked first)."""
    record = json.loads(row.record_json)
    if record.get("previous") != row.previous_sha256:
        return "the previous hash inside it differs from the one beside it"
    evaluation = record["result"]["evaluation"]
    columns = {"contract_id": record["contract"], "period": record["period"], "revision": record["revision"],
               "input_digest": record["input_digest"], "ruleset_sha256": record["ruleset"]["sha256"],
               "credit_total": evaluation["credit_total"], "credit_status": evaluation["credit_status"]}
    for column, value in columns.items():
        if getattr(row, column) != value:
            return f"its column {column} says {getattr(row, column)!r} but the record says {value!r}"
    if sha256_text(json.dumps(record["inputs"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)) \
            != record["input_digest"]:
        return "its inputs no longer match their digest"
    if record["ruleset"]["sha256"] not in rule_sets:
        return f"the rule set {record['ruleset']['sha256'][:12]} it names is not in the store"
    listed = {d["number"]: d for d in record["documents"]}
    found = {d.number: (d, lines) for d, lines in documents}
    if set(listed) != set(found):
        return f"it lists documents {sorted(listed)} but the store holds {sorted(found)} for it"
    for number, (document, lines) in found.items():
        problem = _check_document(document, lines, listed[number])
        if problem:
            return f"document {number}: {problem}"
    return None


def _check_document(document: DocumentRow, lines: list[DocumentLineRow], listed: dict[str, Any]) -> str | None:
    if sha256_text(document.content_json) != document.content_sha256 or document.content_sha256 != listed["content_sha256"]:
        return "its content was edited after it was issued"
    for column in ("html_sha256", "text_sha256"):
        if getattr(document, column) != listed.get(column):
            return f"its {column} differs from the one recorded at issue"
    content = json.loads(document.content_json)
    for column, key in (("net_total", "net_total"), ("tax_total", "tax_total"), ("gross_total", "gross_total"),
                        ("number", "number"), ("kind", "kind"), ("currency", "currency")):
        if getattr(document, column) != content[key]:
            return f"its column {column} says {getattr(document, column)!r} but its content says {content[key]!r}"
    expected = [(i, l["kind"], l["objective"], l["net"], l["vat_rate"], l["detail"])
                for i, l in enumerate(content["lines"], 1)]
    actual = [(l.position, l.kind, l.objective, l.net_amount, l.vat_rate, _detail(l))
              for l in sorted(lines, key=lambda l: l.position)]
    if expected != actual:
        return "its lines in the store differ from the lines it was issued with"
    return None


def _detail(line: DocumentLineRow) -> Any:
    """A stored line's detail (target, measured, tier...) as data, compared by meaning, not spacing.

    Text that is no longer JSON is returned as is, so it differs from any issued detail.
    """
    try:
        return json.loads(line.detail_json)
    except ValueError:
        return line.detail_json


# --- replay ------------------------------------------------------------------------------------------------------

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

    Records are independent of one another: ``workers`` processes replay them a chunk at
    a time, and the outcomes come back in the records' order.
    """
    query = select(EvaluationRow.id).order_by(EvaluationRow.id)
    if evaluation_id is not None:
        query = query.where(EvaluationRow.id == evaluation_id)
    if run_id is not None:
        query = query.where(EvaluationRow.run_id == run_id)
    if period is not None:
        query = query.where(EvaluationRow.period == period)
    with store.reading() as session:
        ids = session.execute(query).scalars().all()
    _JOB.clear()
    _JOB.update(store=store, parent=os.getpid(), current_rules=current_rules, rule_sets={},
                compiled=CompiledCache())
    try:
        for outcomes in in_order(store, _replay_chunk, chunked(ids, CHUNK), workers):
            yield from outcomes
    finally:
        _JOB.clear()


def _replay_chunk(ids: list[int]) -> list[Replayed]:
    store = store_for(_JOB["store"], _JOB["parent"])
    with store.reading() as session:
        rows = session.execute(select(EvaluationRow.id, EvaluationRow.contract_id, EvaluationRow.period,
                                      EvaluationRow.record_json).where(EvaluationRow.id.in_(ids))
                               .order_by(EvaluationRow.id)).all()
    return [_replay_one(store, row) for row in rows]


def _replay_one(store: Store, row) -> Replayed:
    current_rules: RuleBook | None = _JOB["current_rules"]
    rule_sets: dict[str, RuleSet] = _JOB["rule_sets"]
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
    replayed = result_text(_evaluate_again(record, rule_set, _JOB["compiled"](rule_set)))
    if replayed != canonical(record["result"]):
        outcome.differences = differences(record["result"], json.loads(replayed))
    if current_rules is None and record["engine"] != _engine():
        outcome.note = f"recorded with {record['engine']}, replayed with {_engine()}"
    return outcome


def _engine() -> dict[str, str]:
    from .records import engine_versions

    return engine_versions()


# --- explain and export ------------------------------------------------------------------------------------------

def latest_record(store: Store, contract: str, period: str) -> tuple[EvaluationRow, dict[str, Any]] | None:
    rows = store.evaluations(period=period, contract=contract)
    if not rows:
        return None
    row = max(rows, key=lambda r: r.revision)
    return row, json.loads(row.record_json)


def export(store: Store, out: IO[str], period: str | None = None) -> tuple[int, int]:
    """One JSON line per rule set used, then one per record (with its documents), in chain order."""
    records = [row for row in _stream(store, EvaluationRow, EvaluationRow.id) if period is None or row.period == period]
    used = sorted({row.ruleset_sha256 for row in records})
    with store.reading() as session:
        chain = session.get(ChainHeadRow, 1)
        # A whole-chain export can be checked link by link; a period's records are a
        # subset of the chain, so only each record's own hashes can be checked.
        out.write(json.dumps({"type": "export", "period": period, "complete": period is None,
                              "chain_length": chain.length, "chain_head": chain.last_sha256}) + "\n")
        for sha in used:
            rule = session.get(RuleSetRow, sha)
            out.write(json.dumps({"type": "ruleset", "sha256": sha, "ruleset": rule.ruleset, "version": rule.version,
                                  "canonical_json": rule.canonical_json}, ensure_ascii=False) + "\n")
        by_evaluation: dict[int, list[DocumentRow]] = {}
        for document in session.exec(select(DocumentRow).order_by(DocumentRow.id)):
            by_evaluation.setdefault(document.evaluation_id, []).append(document)
    for row in records:
        out.write(json.dumps({
            "type": "record", "id": row.id, "record_sha256": row.record_sha256,
            "previous_sha256": row.previous_sha256, "record_json": row.record_json,
            "documents": [{"number": d.number, "content_sha256": d.content_sha256, "content_json": d.content_json}
                          for d in by_evaluation.get(row.id, [])],
        }, ensure_ascii=False) + "\n")
    return len(used), len(records)

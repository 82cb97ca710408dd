"""``slabill audit verify``: walk the chain of records and report the first broken link.

A broken link is a record whose text no longer hashes to its hash (an edited figure),
whose ``previous`` is not the record before it (a deleted or reordered record), whose
columns disagree with its text, or whose documents or document lines disagree with
what the record says was issued.  The links are followed in order in this process; each
record's own checks need nothing from the others, so worker processes do them a chunk
of records at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..core.canonical import canonical, rendition_seal, sha256_text
from ..processes import chunked, in_order
from ..store import Store
from .measurements import LoadsOnChain, check_measurements
from .records import GENESIS

CHUNK = 1000
"""records per batch a worker checks"""


@dataclass
class VerifyReport:
    records: int = 0
    documents: int = 0
    problem: str | None = None
    """the first broken link, in one sentence, or None when the chain holds"""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _describe(row) -> str:
    return f"record {row.id} ({row.contract_id} {row.period} revision {row.revision})"


def verify(store: Store, workers: int = 1) -> VerifyReport:
    """Check every record, document and line against the chain, and every kept rendition against
    its seal; stop at the first break."""
    report = VerifyReport()
    rule_sets = _check_rule_sets(store)
    if isinstance(rule_sets, str):
        report.problem = rule_sets
        return report
    links = store.record_links()
    loads = LoadsOnChain(store)  # measurements loaded between records are entries of the chain too
    orphans = store.orphan_documents()
    chain = store.chain()
    head = GENESIS
    checked = (record for chunk in in_order(VerifyJob(rule_sets), chunked([link.id for link in links], CHUNK),
                                            workers, store=store) for record in chunk)
    for link, (described, hash_problem, problem, documents) in zip(links, checked):
        head = loads.follow(head, link.previous_sha256)
        if hash_problem is None and link.previous_sha256 != head:
            problem = "it does not follow the record before it: a record was deleted or records were reordered"
        problem = hash_problem or problem
        if problem:
            report.problem = f"{described}: {problem}"
            return report
        head = link.record_sha256
        report.records += 1
        report.documents += documents
    if orphans:
        report.problem = f"document(s) {', '.join(orphans)} belong to no record in the chain"
        return report
    head = loads.follow(head, None)
    if chain is None or chain.last_sha256 != head or chain.length != report.records + len(loads.followed):
        report.problem = (f"the chain ends at record {report.records} ({head[:12]}) but the store says it ends at "
                          f"record {chain.length if chain else '?'} ({chain.last_sha256[:12] if chain else '?'}): "
                          "records at the end were deleted")
        return report
    report.problem = _check_renditions(store) or check_measurements(store, loads)
    return report


def _check_renditions(store: Store) -> str | None:
    """A kept PDF hash must still be sealed to its document's content (an edited hash breaks the seal)."""
    for rendition, number, content_sha256 in store.renditions():
        if rendition_seal(content_sha256, rendition.format, rendition.sha256, rendition.producer) != rendition.seal:
            return (f"document {number}: the hash kept of its {rendition.format.upper()} no longer matches its seal: "
                    "it was edited")
    return None




def _check_rule_sets(store: Store) -> dict[str, str] | str:
    known: dict[str, str] = {}
    for row in store.rule_set_rows():
        if sha256_text(row.canonical_json) != row.sha256:
            return f"the stored rule set {row.ruleset} {row.version} no longer hashes to {row.sha256[:12]}: it was edited"
        known[row.sha256] = row.canonical_json
    return known


@dataclass(frozen=True)
class VerifyJob:
    """Each record's own checks, for a chunk of records: (who, hash problem, other problem, documents)."""

    rule_sets: Mapping[str, str]
    """the stored rule sets' canonical JSON, by sha256"""

    def __call__(self, ids: list[int], store: Store) -> list[tuple[str, str | None, str | None, int]]:
        checked = []
        for row, documents in store.records_with_documents(ids):
            if sha256_text(row.record_json) != row.record_sha256:
                checked.append((_describe(row), "its text no longer matches its hash: a figure in it was edited",
                                None, 0))
                continue
            checked.append((_describe(row), None, _check_record(row, self.rule_sets, documents), len(documents)))
        return checked


def _check_record(row, rule_sets: Mapping[str, str], documents: list[tuple[Any, list]]) -> str | None:
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
    if sha256_text(canonical(record["inputs"])) != record["input_digest"]:
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


def _check_document(document, lines: list, listed: dict[str, Any]) -> str | None:
    if sha256_text(document.content_json) != document.content_sha256 or document.content_sha256 != listed["content_sha256"]:
        return "its content was edited after it was issued"
    for column in ("html_sha256", "text_sha256", "e_invoice", "xml_sha256"):
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


def _detail(line) -> Any:
    """A stored line's detail (target, measured, tier...) as data, compared by meaning, not spacing.

    Text that is no longer JSON is returned as is, so it differs from any issued detail.
    """
    try:
        return json.loads(line.detail_json)
    except ValueError:
        return line.detail_json

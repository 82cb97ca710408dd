"""``slabill audit verify``: walk the chain of records, check it against itself and against signed checkpoints.

A broken link is a record whose text no longer hashes to its hash (an edited figure),
whose ``previous`` is not the record before it (a deleted or reordered record), whose
columns disagree with its text, or whose documents or document lines disagree with
what the record says was issued.  Beyond the links, the store must be consistent with
itself, since an insider can re-seal every hash:

* each record's documents follow from its figures and from what the records it corrects
  issued (their kinds, lines and totals, derived by the planner the command line hands in:
  ``invoices.derive``);
* every document belongs to a record, and every document a record lists exists;
* each number series is gap-free, 1 to N, and its sequence says N;
* every run that finished has the records and documents its summary counts, and every
  contract it evaluated has a record of the period;
* the store extends every checkpoint it is given (``engine.audit.checkpoints``).

The links are followed in order in this process; each record's own checks need nothing
from the others, so worker processes do them a chunk of records at a time.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..core.canonical import canonical, rendition_seal, sha256_text
from ..processes import chunked, in_order
from ..store import Store
from .checkpoints import Checkpoint, chain_position, extension_problem
from .measurements import LoadsOnChain, check_measurements
from .records import GENESIS

Planner = Callable[[dict, str, list, list], "str | None"]
"""(record, its rule set's canonical JSON, its documents' contents, those of the records it corrects)
-> why the documents do not follow from the record, or None (``invoices.derive.documents_problem``)"""

CHUNK = 1000
"""records per batch a worker checks"""


@dataclass
class VerifyReport:
    records: int = 0
    documents: int = 0
    problem: str | None = None
    """the first broken link, in one sentence, or None when the chain holds"""
    head: str = GENESIS
    """the hash of the last record verified (the chain's head when it holds)"""
    checkpoints: int = 0
    """how many checkpoints the store was found to extend"""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _describe(row) -> str:
    return f"record {row.id} ({row.contract_id} {row.period} revision {row.revision})"


def verify(store: Store, workers: int = 1, checkpoints: Sequence[Checkpoint] = (),
           planner: Planner | None = None) -> VerifyReport:
    """Check every record, document and line against the chain, the documents against the records'
    figures (with ``planner``), the number series and runs against the documents and records, the
    store against each checkpoint, and every kept rendition against its seal; stop at the first break."""
    report = VerifyReport()
    rule_sets = _check_rule_sets(store)
    if isinstance(rule_sets, str):
        report.problem = rule_sets
        return report
    loads = LoadsOnChain(store)  # measurements loaded between records are entries of the chain too
    orphans = store.orphan_documents()
    chain = store.chain()
    head = GENESIS
    # Only the hashes that checkpoints vouch for are kept, and the links are read a page at a
    # time: verify's memory does not grow with the store (a million records' links and
    # hashes held at once were most of a gigabyte).
    positions = {position for position in map(chain_position, checkpoints) if position is not None}
    kept: dict[int, str] = {}
    held = 0  # entries of the chain followed so far, records and loads

    def entered(entry: str) -> None:
        nonlocal held
        held += 1
        if held in positions:
            kept[held] = entry

    records_of_run: Counter = Counter()
    ids = store.record_ids()
    checked = (record for chunk in in_order(VerifyJob(rule_sets, planner), chunked(ids, CHUNK), workers, store=store)
               for record in chunk)
    for link, (described, hash_problem, problem, documents) in zip(store.record_links(), checked):
        followed = len(loads.followed)
        head = loads.follow(head, link.previous_sha256)
        for row in loads.followed[followed:]:
            entered(row.entry_sha256)
        if hash_problem is None and link.previous_sha256 != head:
            problem = "it does not follow the record before it: a record was deleted or records were reordered"
        problem = hash_problem or problem
        if problem:
            report.problem = f"{described}: {problem}"
            return report
        head = link.record_sha256
        entered(head)
        records_of_run[link.run_id] += 1
        report.head = head
        report.records += 1
        report.documents += documents
    if orphans:
        report.problem = f"document(s) {', '.join(orphans)} belong to no record in the chain"
        return report
    followed = len(loads.followed)
    head = loads.follow(head, None)
    for row in loads.followed[followed:]:
        entered(row.entry_sha256)
    report.head = head
    if chain is None or chain.last_sha256 != head or chain.length != report.records + len(loads.followed):
        report.problem = (f"the chain ends at record {report.records} ({head[:12]}) but the store says it ends at "
                          f"record {chain.length if chain else '?'} ({chain.last_sha256[:12] if chain else '?'}): "
                          "records at the end were deleted")
        return report
    sequences = store.sequences()
    for checkpoint in checkpoints:
        report.problem = extension_problem(checkpoint, held, kept, sequences)
        if report.problem:
            return report
        report.checkpoints += 1
    report.problem = (_check_runs(store, records_of_run) or _check_number_series(store.document_numbers(), sequences)
                      or _check_renditions(store)
                      or check_measurements(store, loads))
    return report


_SEQUENCE = re.compile(r"-(\d+)$")


def _check_number_series(documents: Iterable, sequences: list[tuple[int, str, int, int]]) -> str | None:
    """Each series (issuer, kind, year of issue) holds the numbers 1 to N, once each, and its sequence says N."""
    numbers: dict[tuple[int, str, int], array] = defaultdict(lambda: array("q"))  # 8 bytes a document
    for issuer, kind, issued_on, number in documents:
        found = _SEQUENCE.search(number)
        year = issued_on.year if hasattr(issued_on, "year") else int(str(issued_on)[:4])
        if found is None:
            return f"document {number} has no sequence number: it was not numbered by slabill"
        numbers[(issuer, kind, year)].append(int(found.group(1)))
    last = {(issuer, kind, year): n for issuer, kind, year, n in sequences}
    for key in sorted(set(numbers) | set(last)):
        issuer, kind, year = key
        what = f"the {kind} numbers of {year} (issuer {issuer})"
        held = sorted(numbers.pop(key, ()))
        says = last.get(key, 0)
        if held != list(range(1, len(held) + 1)):
            missing = sorted(set(range(1, max(held) + 1)) - set(held))
            if missing:
                return (f"{what} skip {', '.join(map(str, missing[:5]))}{'...' if len(missing) > 5 else ''}: "
                        "documents were removed")
            twice = sorted(n for n, count in Counter(held).items() if count > 1)
            return f"{what} give {', '.join(map(str, twice[:5]))} twice"
        if says < len(held):
            return f"{what} end at {len(held)}, but their sequence says {says}: it was moved back"
        if says > len(held):
            return (f"{what} end at {len(held)}, but their sequence says {says}: documents at its end were removed, "
                    "or it was moved on")
    return None


def _check_runs(store: Store, records_of_run: Counter) -> str | None:
    """Every run that finished holds the records and documents its summary counts, and every contract it
    evaluated (not held back) has a record of its period, from it or from an earlier run."""
    documents_of_run: dict[int, Counter] = defaultdict(Counter)
    for run_id, kind, count in store.documents_by_run():
        documents_of_run[run_id][kind] += count
    # per period, how many (contract, period) pairs each run recorded first, in run order: those
    # first recorded up to a run are the running sum
    first_by_run: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for period, run_id, count in store.first_records_by_run():
        first_by_run[period].append((run_id, count))
    for runs in first_by_run.values():
        runs.sort()
    for run in store.runs():
        if run.status not in ("done", "held"):
            continue  # a stopped run's counts include a batch it did not record; an interrupted one has none
        summary = json.loads(run.summary_json or "{}")
        if "recorded" not in summary:
            continue
        what = f"run {run.id} of {run.period}"
        if records_of_run[run.id] != summary["recorded"]:
            return (f"{what} recorded {summary['recorded']:,} evaluation(s), but the store holds "
                    f"{records_of_run[run.id]:,} of it: records were removed")
        issued = {kind: count for kind, count in documents_of_run[run.id].items()}
        if issued != {kind: count for kind, count in summary.get("documents", {}).items() if count}:
            return f"{what} issued {summary.get('documents', {})}, but the store holds {issued} of it"
        evaluated = summary.get("contracts", 0) - len(summary.get("held", []))
        recorded = sum(count for run_id, count in first_by_run.get(run.period, []) if run_id <= run.id)
        if recorded < evaluated:
            return (f"{what} evaluated {evaluated:,} contract(s), but only {recorded:,} have a record of "
                    f"{run.period}: records were removed")
    return None


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
    planner: Planner | None = None
    """derives what a record's documents must say from its figures; None skips that check"""

    def __call__(self, ids: list[int], store: Store) -> list[tuple[str, str | None, str | None, int]]:
        checked = []
        chunk = store.records_with_documents(ids)
        earlier = self._earlier(store, chunk) if self.planner is not None else {}
        for row, documents in chunk:
            if sha256_text(row.record_json) != row.record_sha256:
                checked.append((_describe(row), "its text no longer matches its hash: a figure in it was edited",
                                None, 0))
                continue
            # Each text is parsed once, for the checks here and the planner's.
            record = json.loads(row.record_json)
            contents = [json.loads(d.content_json) for d, _ in documents]
            problem = _check_record(row, record, self.rule_sets, documents, contents)
            if problem is None and self.planner is not None:
                problem = self.planner(record, self.rule_sets[row.ruleset_sha256], contents, earlier.get(row.id, []))
            checked.append((_describe(row), None, problem, len(documents)))
        return checked

    @staticmethod
    def _earlier(store: Store, chunk: list) -> dict[int, list[dict]]:
        """For each correcting record (revision > 0) of the chunk, the contents of the documents of the
        records it corrects, in the order issued: from the chunk itself, and in one query from before it."""
        correcting = [row for row, _ in chunk if row.revision > 0]
        if not correcting:
            return {}
        pairs = {(row.contract_id, row.period) for row in correcting}
        first = chunk[0][0].id
        issued: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
        for document in store.earlier_documents(sorted({c for c, _ in pairs}), sorted({p for _, p in pairs}), first):
            if (document.contract_id, document.period) in pairs:
                issued[(document.contract_id, document.period)].append(
                    (document.evaluation_id, document.id, document.content_json))
        for row, documents in chunk:
            if (row.contract_id, row.period) in pairs:
                issued[(row.contract_id, row.period)] += [(row.id, d.id, d.content_json) for d, _ in documents]
        return {row.id: [json.loads(text) for evaluation_id, _, text in sorted(issued[(row.contract_id, row.period)])
                         if evaluation_id < row.id]
                for row in correcting}


def _check_record(row, record: dict, rule_sets: Mapping[str, str], documents: list[tuple[Any, list]],
                  contents: list[dict]) -> str | None:
    """A record's text (``record``, parsed) against its columns, its rule set and its documents (``contents``,
    parsed); its hash is checked first."""
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
    found = {d.number: (d, lines, content) for (d, lines), content in zip(documents, contents)}
    if set(listed) != set(found):
        return f"it lists documents {sorted(listed)} but the store holds {sorted(found)} for it"
    for number, (document, lines, content) in found.items():
        problem = _check_document(document, lines, listed[number], content)
        if problem:
            return f"document {number}: {problem}"
    return None


def _check_document(document, lines: list, listed: dict[str, Any], content: dict[str, Any]) -> str | None:
    if sha256_text(document.content_json) != document.content_sha256 or document.content_sha256 != listed["content_sha256"]:
        return "its content was edited after it was issued"
    for column in ("html_sha256", "text_sha256", "e_invoice", "xml_sha256"):
        if getattr(document, column) != listed.get(column):
            return f"its {column} differs from the one recorded at issue"
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

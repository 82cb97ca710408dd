"""The monthly run: evaluate every active contract, issue what is owed, record everything.

For each batch of contracts the run evaluates (pure), then opens one ledger
transaction in which it reads what earlier runs already recorded, decides per
contract whether anything changed, numbers and renders the new documents, seals each
evaluation record onto the audit chain and writes it with its documents.  Re-running
a period issues nothing new unless its inputs changed; when they did, the new record
supersedes the old one and only the difference is issued (see
``invoices.documents.plan_documents``).

The clock is read by the caller: ``as_of`` (the issue date) and ``now`` come in as
arguments.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterable

from invoices.documents import CREDIT_NOTE, Document, Issued, plan_documents
from invoices.numbering import format_number, prefix_for
from invoices.render import render

from .book import Measurements
from .evaluation import CompiledCache, Evaluation, evaluate_contract, resolve_rule_sets, stored_contract_error
from .period import Period
from .rates import RateBook
from .records import build_record, canonical, inputs_of, seal, sha256_text
from .schema import RuleSet
from .store import Latest, Ledger, Store, StoredContract

BATCH = 500


@dataclass
class RunSummary:
    """What a run did, for the summary table and the run's row."""

    period: str
    run_id: int | None = None
    dry_run: bool = False
    contracts: int = 0
    recorded: int = 0
    """new evaluation records (first evaluations and re-evaluations)"""
    unchanged: int = 0
    """contracts already evaluated with the same inputs: nothing issued"""
    corrections: int = 0
    breaches: int = 0
    """contracts with at least one missed objective"""
    below_minimum: int = 0
    capped: int = 0
    documents: Counter = field(default_factory=Counter)
    issued_net: dict[str, Decimal] = field(default_factory=dict)
    issued_gross: dict[str, Decimal] = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "period": self.period, "run": self.run_id, "dry_run": self.dry_run, "contracts": self.contracts,
            "recorded": self.recorded, "unchanged": self.unchanged, "corrections": self.corrections,
            "breaches": self.breaches, "below_minimum": self.below_minimum, "capped": self.capped,
            "documents": dict(self.documents),
            "issued_net": {c: str(v) for c, v in sorted(self.issued_net.items())},
            "issued_gross": {c: str(v) for c, v in sorted(self.issued_gross.items())},
        }


@dataclass(frozen=True)
class Prepared:
    """A contract's evaluation and everything the ledger needs to record it."""

    stored: StoredContract
    evaluation: Evaluation
    inputs: dict
    input_digest: str


def margin_for(rule_sets: Iterable[RuleSet]) -> timedelta:
    """How far past the period to read incidents so that min_duration sees whole outages."""
    longest = max((o.counting.min_duration for r in rule_sets for o in r.objectives), default=timedelta(0))
    return max(longest, timedelta(days=1))


def _issued_before(latest: Latest) -> Issued:
    return Issued.of(Document.from_json(json.loads(row.content_json)) for row in latest.documents)


def decide(prepared: Prepared, latest: Latest | None, as_of: date) -> tuple[int, Latest | None, list[Document]] | None:
    """None when nothing changed since the latest record; else the revision and documents to issue."""
    evaluation = prepared.evaluation
    if latest is not None and latest.input_digest == prepared.input_digest \
            and latest.ruleset_sha256 == evaluation.rule_set.sha256:
        return None
    issued = _issued_before(latest) if latest is not None else None
    documents = plan_documents(evaluation, prepared.stored.issuer, as_of, issued)
    return (latest.revision + 1 if latest is not None else 0), latest, documents


def _document_row(document: Document, corrects_id: int | None) -> tuple[dict, dict]:
    html = render(document, "html")
    text = render(document, "txt")
    content = document.canonical_json()
    content_sha = sha256_text(content)
    row = {
        "number": document.number, "kind": document.kind, "contract_id": document.contract,
        "period": document.period, "issue_date": document.issue_date, "currency": document.currency,
        "locale": document.locale, "net_total": str(document.net_total), "tax_total": str(document.tax_total),
        "gross_total": str(document.gross_total), "corrects_id": corrects_id, "content_json": content,
        "content_sha256": content_sha, "html_sha256": sha256_text(html), "text_sha256": sha256_text(text),
        "lines": [{"position": index, "kind": line.kind, "objective": line.objective, "net_amount": str(line.net),
                   "vat_rate": str(line.vat_rate), "detail_json": canonical(line.detail)}
                  for index, line in enumerate(document.lines, 1)],
    }
    summary = {"number": document.number, "kind": document.kind, "gross_total": str(document.gross_total),
               "content_sha256": content_sha, "html_sha256": row["html_sha256"], "text_sha256": row["text_sha256"]}
    return row, summary


def _record(ledger: Ledger, run_id: int, prepared: Prepared, revision: int, latest: Latest | None,
            documents: list[Document], as_of: date, summary: RunSummary) -> None:
    stored, evaluation = prepared.stored, prepared.evaluation
    rows, summaries = [], []
    for document in documents:
        sequence = ledger.next_number(stored.issuer_id, document.kind, as_of.year)
        numbered = document.numbered(format_number(prefix_for(stored.issuer, document.kind), as_of.year, sequence))
        corrects_id = next((d.id for d in latest.documents if d.number == numbered.corrects), None) if latest else None
        row, short = _document_row(numbered, corrects_id)
        rows.append(row)
        summaries.append(short)
        _count_document(summary, numbered)
    record = build_record(evaluation, prepared.inputs, run_id=run_id, revision=revision,
                          supersedes=latest.record_sha256 if latest else None, documents=summaries)
    text, digest = seal(record, ledger.head)
    pricing = evaluation.pricing
    ledger.append(run_id=run_id, record_text=text, record_sha256=digest, contract_id=evaluation.contract.id,
                  period=str(evaluation.period), revision=revision,
                  supersedes_id=latest.evaluation_id if latest else None, input_digest=prepared.input_digest,
                  ruleset_sha256=evaluation.rule_set.sha256, credit_total=str(pricing.total),
                  credit_status=pricing.status, documents=rows, issuer_id=stored.issuer_id)


def _count_document(summary: RunSummary, document: Document) -> None:
    summary.documents[document.kind] += 1
    if document.number:
        summary.numbers.append(document.number)
    sign = 1 if document.kind == CREDIT_NOTE else -1
    currency = document.currency
    summary.issued_net[currency] = summary.issued_net.get(currency, Decimal(0)) + sign * document.net_total
    summary.issued_gross[currency] = summary.issued_gross.get(currency, Decimal(0)) + sign * document.gross_total


def _count_evaluation(summary: RunSummary, evaluation: Evaluation, revision: int) -> None:
    summary.recorded += 1
    summary.corrections += revision > 0
    pricing = evaluation.pricing
    summary.breaches += any(not line.met for line in pricing.lines)
    summary.below_minimum += pricing.status == "below_minimum"
    summary.capped += pricing.cap_applied


def monthly_run(store: Store, period: Period, *, as_of: date, now: Callable[[], datetime], dry_run: bool = False,
                contract_id: str | None = None, progress: Callable[[int, int], None] = lambda done, total: None,
                batch_size: int = BATCH) -> RunSummary:
    """Evaluate every contract active in ``period``, issue what is owed and record it all."""
    stored = [s for s in store.contracts() if s.contract.active_in(period)
              and (contract_id is None or s.contract.id == contract_id)]
    contracts = [s.contract for s in stored]
    chosen = resolve_rule_sets(store.rule_book(), contracts, period, stored_contract_error)
    measurements = store.measurements(contracts, period, margin_for(chosen.values()))
    rates = store.rate_book()
    summary = RunSummary(period=str(period), dry_run=dry_run, contracts=len(stored))
    run_id = None if dry_run else store.start_run(period, as_of, now())
    summary.run_id = run_id
    compiled = CompiledCache()
    for start in range(0, len(stored), batch_size):
        batch = [_prepare(s, chosen[s.contract.id], measurements, period, compiled, rates)
                 for s in stored[start:start + batch_size]]
        if dry_run:
            latest = store.latest([p.stored.contract.id for p in batch], period)
            for prepared in batch:
                decision = decide(prepared, latest.get(prepared.stored.contract.id), as_of)
                if decision is None:
                    summary.unchanged += 1
                    continue
                revision, _, documents = decision
                _count_evaluation(summary, prepared.evaluation, revision)
                for document in documents:
                    _count_document(summary, document)
        else:
            with store.ledger() as ledger:
                latest = ledger.latest([p.stored.contract.id for p in batch], period)
                for prepared in batch:
                    decision = decide(prepared, latest.get(prepared.stored.contract.id), as_of)
                    if decision is None:
                        summary.unchanged += 1
                        continue
                    revision, previous, documents = decision
                    _record(ledger, run_id, prepared, revision, previous, documents, as_of, summary)
                    _count_evaluation(summary, prepared.evaluation, revision)
        progress(len(batch), len(stored))
    if run_id is not None:
        store.finish_run(run_id, summary.as_json(), now())
    return summary


def _prepare(stored: StoredContract, rule_set: RuleSet, measurements: Measurements, period: Period,
             compiled: CompiledCache, rates: RateBook) -> Prepared:
    evaluation = evaluate_contract(stored.contract, rule_set, measurements, period, compiled(rule_set), rates=rates)
    inputs = inputs_of(evaluation, measurements, rates)
    return Prepared(stored, evaluation, inputs, sha256_text(canonical(inputs)))

"""The monthly run: evaluate every active contract, issue what is owed, record everything.

The parent reads which contracts are active and finds each one's rule-set version for
the period.  The contracts are then worked out in batches by worker processes
(``workers``): each task
reads its own contracts and their measurements from the store, evaluates them, encodes
their evaluation records, plans the documents owed given what was already issued, and
renders and encodes those documents.  No process ever holds the whole book.

The parent keeps what must happen in order, in one ledger transaction per batch: it
checks that nothing was recorded for a contract since the worker looked (another run
may have; then it works the contract out again itself), allocates gap-free document
numbers, seals each record onto the audit chain and writes records and documents.

Documents are rendered and encoded before they have a number: the worker puts
``NUMBER`` in its place and the parent replaces it with the allocated number, then
hashes.  The number is printed verbatim, so the bytes are exactly those of the numbered
document (tests hold this).  At issue the HTML, the document the customer receives, is
rendered and its sha256 stored, and so is the e-invoice XML of the customer's channel
(about a millisecond); the plain text is a view, and the PDF/A (a tenth of a second or
more) is rendered on demand, its sha256 kept when it is first handed out.

One contract never blocks the book.  A contract that cannot be evaluated because of
its own input (no rule-set version for the period, a late fee needing a rate the tables
do not hold yet, stored terms this version refuses) is *held*: nothing of it is
recorded or numbered, the others are issued, the summary names it with the reason, and
a later run of the period picks it up once the input is fixed, with no gap in numbers.

Running a period again issues nothing unless its inputs or rules changed; when they
did, the new record supersedes the old one and only the difference is issued (see
``invoices.documents.plan_documents``).  The clock is read by the caller: ``as_of``
(the issue date) and ``now`` come in as arguments.

A run's row says where it stands (``engine.store.ledger``).  A run that ends on an
error marks itself ``stopped``; one whose process was killed cannot, so each run first
looks for runs left ``running`` by a process of this machine that is gone, and marks
them ``interrupted``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Callable, Container, Iterable, Iterator, Mapping, NamedTuple

from invoices.documents import CREDIT_NOTE, Document, Issued, owed_by, plan_documents
from invoices.einvoice import CHANNELS, render_xml
from invoices.numbering import format_number, prefix_for
from invoices.render import render

from ..audit.checkpoints import signing_key, write_checkpoint
from ..audit.records import inputs_text, record_parts, seal_parts
from ..core.canonical import canonical, sha256_text
from ..core.errors import InputError
from ..core.evaluation import CompiledCache, Timer, evaluate_contract, no_timer, quarter_only_contracts
from ..core.model import Measurements
from ..core.money import format_amount
from ..core.period import Period
from ..core.rates import RateBook
from ..core.schema import RuleSet
from ..core.rulesets import RuleBook
from ..distributed import ClusterLost
from ..processes import BrokenProcessPool, Cluster, chunked, gone, in_order, this_process
from ..store import Latest, Store, StoredContract

BATCH = 500
NUMBER = "\ue000number\ue000"
"""stands for a document's number until the ledger allocates it (private-use characters)"""


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
    """per currency, what the run's documents give customers less what they charge them (net)"""
    issued_gross: dict[str, Decimal] = field(default_factory=dict)
    """the same, VAT included"""
    credited_net: dict[str, Decimal] = field(default_factory=dict)
    """per currency, SLA credits given (net), less credit taken back by corrections"""
    late_fees_net: dict[str, Decimal] = field(default_factory=dict)
    """per currency, late-payment interest and fixed sums charged (net), after corrections"""
    numbers: list[str] = field(default_factory=list)
    held: list["Held"] = field(default_factory=list)
    """the contracts that could not be evaluated, in contract order: nothing of them was recorded"""
    interrupted: list[int] = field(default_factory=list)
    """earlier runs this run found left running by a process that is gone, now marked interrupted"""
    checkpoint: Path | None = None
    """the signed checkpoint the run wrote outside the database at its end (``engine.audit.checkpoints``)"""

    @property
    def status(self) -> str:
        """What the run's row says once it finished: ``held`` when it held contracts back, else ``done``."""
        return "held" if self.held else "done"

    def as_json(self) -> dict:
        return {
            "period": self.period, "run": self.run_id, "dry_run": self.dry_run, "contracts": self.contracts,
            "recorded": self.recorded, "unchanged": self.unchanged, "corrections": self.corrections,
            "breaches": self.breaches, "below_minimum": self.below_minimum, "capped": self.capped,
            "documents": dict(self.documents),
            "issued_net": {c: str(v) for c, v in sorted(self.issued_net.items())},
            "issued_gross": {c: str(v) for c, v in sorted(self.issued_gross.items())},
            "credited_net": {c: format_amount(v, c) for c, v in sorted(self.credited_net.items())},
            "late_fees_net": {c: format_amount(v, c) for c, v in sorted(self.late_fees_net.items())},
            "status": self.status,
            "numbers": list(self.numbers),
            "held": [{"contract": h.contract_id, "reason": h.reason} for h in self.held],
            "interrupted_runs": list(self.interrupted),
            **({"checkpoint": str(self.checkpoint)} if self.checkpoint is not None else {}),
        }

    def stored(self) -> dict:
        """What the run's row keeps: the summary but the document numbers (the records name
        the run that issued each document; a large run issues tens of thousands)."""
        return {key: value for key, value in self.as_json().items() if key not in ("numbers", "checkpoint")}


@dataclass(frozen=True)
class Held:
    """A contract the run could not evaluate because of its own input; nothing of it was recorded."""

    contract_id: str
    reason: str
    """one sentence, as the input error said it"""


@dataclass(frozen=True)
class Basis:
    """What was recorded for a contract and period when it was worked out (plain values)."""

    evaluation_id: int
    revision: int
    input_digest: str
    ruleset_sha256: str
    record_sha256: str
    issued: Issued
    document_ids: dict[str, int]

    @classmethod
    def of(cls, latest: Latest | None) -> "Basis | None":
        if latest is None:
            return None
        documents = [Document.from_json(json.loads(row.content_json)) for row in latest.documents]
        return cls(latest.evaluation_id, latest.revision, latest.input_digest, latest.ruleset_sha256,
                   latest.record_sha256, Issued.of(documents), {row.number: row.id for row in latest.documents})


@dataclass(frozen=True)
class Prepared:
    """A document ready but for its number: its content and HTML with NUMBER in its place."""

    document: Document
    content: str
    """canonical JSON of the document"""
    html: str
    lines: tuple[dict, ...]
    xml: str | None = None
    """the e-invoice of the customer's channel, with NUMBER in place of the number"""


@dataclass(frozen=True)
class Worked:
    """One contract worked out, ready for the ledger; plain values, so a worker can make it."""

    contract_id: str
    issuer_id: int
    basis: int | None
    """the latest evaluation it was planned against (None: the first of the period)"""
    unchanged: bool
    input_digest: str
    ruleset_sha256: str
    period: str
    parts: dict[str, str]
    """the record but its run, revision, supersedes and documents, each part in canonical JSON"""
    total: str
    status: str
    breach: bool
    capped: bool
    documents: tuple[Prepared, ...]


def margin_for(rule_sets: Iterable[RuleSet]) -> timedelta:
    """How far past the period to read measurements: far enough for ``min_duration`` and
    ``per_outage`` tiers to see whole outages and ``min_consecutive`` whole runs of intervals,
    and, for a quarterly rule set, back to its quarter's first day."""
    rule_sets = list(rule_sets)
    reach = [timedelta(days=1)]
    for rule_set in rule_sets:
        if rule_set.quarterly:
            reach.append(timedelta(days=62) + timedelta(days=1))  # two months before the period's, at most
        for objective in rule_set.objectives:
            reach.append(objective.counting.min_duration)
            outage = objective.credit.per_outage
            if outage is not None and outage.tiers:
                reach.append(max(tier.longer_than for tier in outage.tiers))
            error_rate = objective.error_rate
            if error_rate is not None and error_rate.min_consecutive:
                reach.append(error_rate.interval * error_rate.min_consecutive)
    return max(reach)


# --- working a contract out (in a worker, or in the parent) -------------------------------------------

class Planned(NamedTuple):
    """A contract handed to a worker: its rule-set version, and what was recorded for it before."""

    contract_id: str
    ruleset: str
    """the sha256 of the rule-set version that applies"""
    basis: Basis | None


@dataclass(frozen=True)
class RunJob:
    """What the workers of one monthly run need; a frozen value passed with every batch."""

    period: Period
    as_of: date
    """the issue date"""
    margin: timedelta
    """how far past the period to read incidents (``margin_for``)"""
    rule_sets: Mapping[str, RuleSet]
    """every rule-set version the run's contracts use, by sha256"""
    rates: RateBook
    timer: Timer = no_timer
    """stage clocks, for a benchmark of a run in one process"""

    def __call__(self, batch: list[Planned], store: Store) -> list[Worked | Held]:
        """Read a batch's contracts and measurements, and work each contract out (or hold it)."""
        refused: dict[str, str] = {}
        with self.timer("read"):
            stored = {s.contract.id: s for s in store.contracts([planned.contract_id for planned in batch], refused)}
            measurements = store.measurements([s.contract for s in stored.values()], self.period, self.margin)
        compiled = CompiledCache()
        worked: list[Worked | Held] = []
        for planned in batch:
            if planned.contract_id in refused:
                worked.append(Held(planned.contract_id, refused[planned.contract_id]))
                continue
            try:
                worked.append(work_out(stored[planned.contract_id], self.rule_sets[planned.ruleset], measurements,
                                       planned.basis, self, compiled))
            except InputError as problem:  # the contract's own input (a rate the tables lack, say): held
                worked.append(Held(planned.contract_id, str(problem)))
        return worked


def work_out(stored: StoredContract, rule_set: RuleSet, measurements: Measurements, basis: Basis | None,
             job: RunJob, compiled: CompiledCache) -> Worked:
    """Evaluate one contract, encode its record, and plan, render and encode its documents."""
    timer = job.timer
    evaluation = evaluate_contract(stored.contract, rule_set, measurements, job.period, compiled(rule_set), timer,
                                   job.rates)
    with timer("record"):
        inputs = inputs_text(evaluation, measurements, job.rates)
        digest = sha256_text(inputs)
    pricing = evaluation.pricing
    common = dict(contract_id=stored.contract.id, issuer_id=stored.issuer_id,
                  basis=basis.evaluation_id if basis else None, input_digest=digest, ruleset_sha256=rule_set.sha256,
                  period=str(job.period), total=str(pricing.total), status=pricing.status,
                  breach=any(not line.met for line in pricing.lines), capped=pricing.cap_applied)
    if basis is not None and basis.input_digest == digest and basis.ruleset_sha256 == rule_set.sha256:
        return Worked(unchanged=True, parts={}, documents=(), **common)
    with timer("issue"):
        owed = owed_by(evaluation, stored.issuer, measurements.invoices_of(stored.contract.id))
        planned = plan_documents(owed, job.as_of, basis.issued if basis else None)
    documents = []
    for document in planned:
        with timer("issue"):
            placeholder = document.numbered(NUMBER)
            lines = tuple({"position": index, "kind": line.kind, "objective": line.objective,
                           "net_amount": str(line.net), "vat_rate": str(line.vat_rate),
                           "detail_json": canonical(line.detail)}
                          for index, line in enumerate(document.lines, 1))
            content = placeholder.canonical_json()
        with timer("render"):
            html = render(placeholder, "html")
            xml = (render_xml(placeholder, document.e_invoice).decode("utf-8") if document.e_invoice in CHANNELS
                   else None)
        documents.append(Prepared(document, content, html, lines, xml))
    with timer("record"):
        parts = record_parts(evaluation, inputs, digest)
    return Worked(unchanged=False, parts=parts, documents=tuple(documents), **common)


# --- the ledger side ------------------------------------------------------------------------------------

def _record(ledger, run_id: int, worked: Worked, basis: Basis | None, as_of: date, summary: RunSummary,
            issuer) -> None:
    rows, summaries = [], []
    for prepared in worked.documents:
        document = prepared.document
        sequence = ledger.next_number(worked.issuer_id, document.kind, as_of.year)
        number = format_number(prefix_for(issuer, document.kind), as_of.year, sequence)
        numbered = document.numbered(number)
        content = prepared.content.replace(NUMBER, number)
        content_sha, html_sha = sha256_text(content), sha256_text(prepared.html.replace(NUMBER, number))
        xml_sha = sha256_text(prepared.xml.replace(NUMBER, number)) if prepared.xml is not None else None
        rows.append({
            "number": number, "kind": document.kind, "contract_id": document.contract, "period": document.period,
            "issue_date": document.issue_date, "currency": document.currency, "locale": document.locale,
            "net_total": str(document.net_total), "tax_total": str(document.tax_total),
            "gross_total": str(document.gross_total),
            "corrects_id": basis.document_ids.get(document.corrects) if basis and document.corrects else None,
            "content_json": content, "content_sha256": content_sha, "html_sha256": html_sha, "text_sha256": None,
            "e_invoice": document.e_invoice if xml_sha else None, "xml_sha256": xml_sha,
            "lines": list(prepared.lines),
        })
        summary_row = {"number": number, "kind": document.kind, "gross_total": str(document.gross_total),
                       "content_sha256": content_sha, "html_sha256": html_sha}
        if xml_sha is not None:  # the record seals the e-invoice's hash too
            summary_row.update(e_invoice=document.e_invoice, xml_sha256=xml_sha)
        summaries.append(summary_row)
        _count_document(summary, numbered)
    revision = basis.revision + 1 if basis else 0
    supersedes = basis.record_sha256 if basis else None
    text, digest = seal_parts(worked.parts, {"run": run_id, "revision": revision, "supersedes": supersedes,
                                             "documents": summaries}, ledger.head)
    ledger.append(run_id=run_id, record_text=text, record_sha256=digest, contract_id=worked.contract_id,
                  period=worked.period, revision=revision, supersedes_id=basis.evaluation_id if basis else None,
                  input_digest=worked.input_digest, ruleset_sha256=worked.ruleset_sha256, credit_total=worked.total,
                  credit_status=worked.status, documents=rows, issuer_id=worked.issuer_id)


def _count_document(summary: RunSummary, document: Document) -> None:
    summary.documents[document.kind] += 1
    if document.number:
        summary.numbers.append(document.number)
    sign = 1 if document.kind == CREDIT_NOTE else -1
    currency = document.currency
    summary.issued_net[currency] = summary.issued_net.get(currency, Decimal(0)) + sign * document.net_total
    summary.issued_gross[currency] = summary.issued_gross.get(currency, Decimal(0)) + sign * document.gross_total
    # Credits and late fees apart, so the summary does not call a charge a negative credit.
    split = Issued.of([document])
    summary.credited_net[currency] = summary.credited_net.get(currency, Decimal(0)) + split.sla_credit
    summary.late_fees_net[currency] = (summary.late_fees_net.get(currency, Decimal(0)) + split.late_interest
                                       + split.late_compensation)


def _count_evaluation(summary: RunSummary, worked: Worked) -> None:
    """What every evaluated contract adds to the summary, whether or not anything new is recorded:
    breaches, caps and totals below the minimum describe the period, not only this run's news."""
    summary.breaches += worked.breach
    summary.below_minimum += worked.status == "below_minimum"
    summary.capped += worked.capped
    if worked.unchanged:
        summary.unchanged += 1
    else:
        summary.recorded += 1
        summary.corrections += worked.basis is not None


class WorkerDied(RuntimeError):
    """A worker process ended without returning its batch (killed, or crashed in native code), or
    the Dask cluster could not finish the run's batches."""


class ContractHead(NamedTuple):
    """What the run needs to know of a contract before a worker reads it whole."""

    id: str
    issuer_id: int
    ruleset: str
    start: date
    end: date | None

    def active_in(self, period: Period) -> bool:
        return self.start <= period.last_day and (self.end is None or self.end >= period.first_day)


def chosen_contracts(heads: list[ContractHead], period: Period, contract_id: str | None,
                     also: Container[str] = ()) -> list[ContractHead]:
    """The contracts active in the period (and those in ``also``, evaluated though the period is
    past their end), or the one asked for, which must be stored and one of them."""
    if contract_id is None:
        return [h for h in heads if h.active_in(period) or h.id in also]
    head = next((h for h in heads if h.id == contract_id), None)
    if head is None:
        raise InputError(f"no contract {contract_id!r} is stored; load it first (slabill load)", field="--contract")
    if not head.active_in(period) and head.id not in also:
        runs = f"from {head.start.isoformat()}" + (f" to {head.end.isoformat()}" if head.end else "")
        raise InputError(f"contract {contract_id} is not active in {period} (it runs {runs})", field="--contract")
    return [head]


def rule_set_versions(rules: RuleBook, heads: list[ContractHead],
                      period: Period) -> tuple[dict[str, RuleSet], list[Held]]:
    """Each contract's rule-set version for the period; a contract without one is held, with the reason."""
    chosen: dict[str, RuleSet] = {}
    held = []
    for head in heads:
        rule_set = rules.for_period(head.ruleset, period.first_day)
        if rule_set is not None:
            chosen[head.id] = rule_set
        elif head.ruleset not in rules.ids():
            known = ", ".join(rules.ids()) or "none"
            held.append(Held(head.id, str(InputError(f"no rule set {head.ruleset!r} is loaded (loaded: {known})",
                                                     field="ruleset"))))
        else:
            held.append(Held(head.id, str(InputError(
                f"no version of {head.ruleset} applies on {period.first_day.isoformat()}", field="ruleset"))))
    return chosen, held


@dataclass
class Plan:
    """The contracts a run evaluates, in id order, each with its rule-set version for the period."""

    ids: list[str]
    """the contracts active in the period (and those evaluated at their quarter's end), held ones included"""
    chosen: dict[str, RuleSet]
    """each contract's rule-set version; a held contract has none"""
    held: list[Held]
    issuers: set[int]
    """the issuers of the contracts in ``ids``"""


def plan_contracts(store: Store, rule_book: RuleBook, period: Period, contract_id: str | None = None,
                   chunk: int = 10_000) -> Plan:
    """Which contracts a run evaluates and under which rule-set version, from the store's
    contracts read a chunk at a time: the run keeps an id and a reference per contract,
    never every contract's head (a million of them would be most of a gigabyte)."""
    plan = Plan([], {}, [], set())
    for heads in _head_chunks(store, contract_id, chunk):
        # A contract that ended in the quarter a quarterly rule set measures is evaluated at its end.
        quarter_only = quarter_only_contracts(rule_book, heads, period)
        active = chosen_contracts(heads, period, contract_id, also=quarter_only)
        chosen, held = rule_set_versions(rule_book, [h for h in active if h.id not in quarter_only], period)
        chosen.update(quarter_only)
        plan.ids += [h.id for h in active]
        plan.issuers.update(h.issuer_id for h in active)
        plan.chosen.update(chosen)
        plan.held += held
    return plan


def _head_chunks(store: Store, contract_id: str | None, chunk: int) -> Iterator[list[ContractHead]]:
    """The stored contracts' heads, ``chunk`` at a time; with ``contract_id``, one chunk of that
    contract alone, empty when it is not stored (``chosen_contracts`` then says so)."""
    read = (ContractHead(h["id"], h["issuer_id"], h["ruleset"], date.fromisoformat(h["start"]),
                         date.fromisoformat(h["end"]) if h.get("end") else None)
            for h in store.contract_heads([contract_id] if contract_id is not None else None))
    if contract_id is not None:
        yield list(read)
        return
    while heads := list(islice(read, chunk)):
        yield heads


def interrupt_abandoned_runs(store: Store, now: Callable[[], datetime], by: int | None = None) -> list[int]:
    """Mark the runs left ``running`` by a process of this machine that is gone as ``interrupted``."""
    found = []
    for row in store.runs(status="running"):
        if row.id == by:
            continue
        runner = json.loads(row.summary_json or "{}").get("runner")
        if gone(runner) and store.mark_interrupted(row.id, now(), by):
            found.append(row.id)
    return found


def monthly_run(store: Store, period: Period, *, as_of: date, now: Callable[[], datetime], dry_run: bool = False,
                contract_id: str | None = None, progress: Callable[[int, int], None] = lambda done, total: None,
                batch_size: int = BATCH, workers: int = 1, timer: Timer = no_timer,
                checkpoints: Path | None = None,
                cluster: Cluster | None = None) -> RunSummary:
    """Evaluate every contract active in ``period``, issue what is owed and record it all.

    A contract that cannot be evaluated is held (``RunSummary.held``) and the others go on.
    A run (not a dry one) ends by signing a checkpoint of the chain into ``checkpoints`` (the
    command line always gives a folder), also when it stopped: what it recorded stands.
    ``timer`` names the stages (read, measure, match, price, late fees, record, issue,
    render, persist) for a benchmark; only a run with ``workers=1`` reports them all.
    With a ``cluster`` (``engine.distributed``), its Dask workers work the batches and this
    process records them, in the batches' order, as it does local workers' results.
    """
    plan = plan_contracts(store, store.rule_book(), period, contract_id)
    chosen, held = plan.chosen, plan.held
    issuers = store.issuers()
    rule_sets = {rule_set.sha256: rule_set for rule_set in chosen.values()}
    # A worker process times into its own copy of a clock, which nobody reads: only a run
    # in one process is timed.
    job = RunJob(period, as_of, margin_for(rule_sets.values()), rule_sets, store.rate_book(),
                 timer if workers <= 1 and cluster is None else no_timer)
    summary = RunSummary(period=str(period), dry_run=dry_run, contracts=len(plan.ids))
    checked: set = set()  # the number sequences found to agree with the documents issued
    run_id = None
    if not dry_run:
        # A sequence changed behind slabill's back, or a folder that cannot keep the checkpoint
        # (its key is created there on first use), is refused before the run is even recorded.
        store.check_sequences(plan.issuers, as_of.year, checked)
        if checkpoints is not None:
            signing_key(checkpoints)
        run_id = store.start_run(period, as_of, now(), this_process())
        summary.interrupted = interrupt_abandoned_runs(store, now, run_id)
    summary.run_id = run_id
    waiting = {h.contract_id: h for h in held}
    batches = chunked(plan.ids, batch_size)

    def planned_against(batch: list[str]) -> list[Planned]:
        # Read when the batch is handed to a worker, after the batches before it were recorded.
        batch = [c for c in batch if c not in waiting]
        with timer("read"):
            latest = store.latest(batch, period)
        return [Planned(c, chosen[c].sha256, Basis.of(latest.get(c))) for c in batch]

    def hold(item: Held) -> None:
        waiting[item.contract_id] = item

    try:
        for worked in in_order(job, batches, workers, store=store, prepare=planned_against, cluster=cluster):
            if dry_run:
                for item in worked:
                    if isinstance(item, Held):
                        hold(item)
                    else:
                        _tally(summary, item)
            else:
                with timer("persist"), store.ledger(checked) as ledger:
                    current = ledger.latest([w.contract_id for w in worked if not isinstance(w, Held)], period)
                    for item in worked:
                        if isinstance(item, Held):
                            hold(item)
                            continue
                        basis = Basis.of(current.get(item.contract_id))
                        if (basis.evaluation_id if basis else None) != item.basis:
                            # Another run recorded this contract since the worker looked.
                            item = job([Planned(item.contract_id, chosen[item.contract_id].sha256, basis)], store)[0]
                            if isinstance(item, Held):
                                hold(item)
                                continue
                        _count_evaluation(summary, item)
                        if not item.unchanged:
                            _record(ledger, run_id, item, basis, as_of, summary, issuers[item.issuer_id])
            progress(len(worked), len(plan.ids))
    except BaseException as stop:
        summary.held = sorted(waiting.values(), key=lambda h: h.contract_id)
        if run_id is not None:
            store.finish_run(run_id, summary.stored() | {"stopped_by": f"{type(stop).__name__}: {stop}"}, now(),
                             "stopped")
            if checkpoints is not None:
                try:
                    summary.checkpoint = write_checkpoint(store, checkpoints, now(), run=run_id, period=str(period))
                except Exception:  # noqa: BLE001 - the error that stopped the run is the one to report
                    pass
        if isinstance(stop, BrokenProcessPool):
            raise WorkerDied(f"a worker process of the run of {period} died; the batches recorded before it stand, "
                             "nothing of the lost batch was recorded, and running the period again finishes it"
                             ) from stop
        if isinstance(stop, ClusterLost):
            raise WorkerDied(f"the Dask cluster could not finish the run of {period}: {stop}; the batches recorded "
                             "before stand, nothing of the unfinished ones was recorded, and running the period "
                             "again finishes it") from stop
        raise
    summary.held = sorted(waiting.values(), key=lambda h: h.contract_id)
    if run_id is not None:
        store.finish_run(run_id, summary.stored(), now(), summary.status)
        if checkpoints is not None:
            summary.checkpoint = write_checkpoint(store, checkpoints, now(), run=run_id, period=str(period))
    return summary


def _tally(summary: RunSummary, worked: Worked) -> None:
    """A dry run counts what would be recorded and issued."""
    _count_evaluation(summary, worked)
    for prepared in worked.documents:
        _count_document(summary, prepared.document)

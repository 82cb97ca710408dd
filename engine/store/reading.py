"""Reading the store back into domain values: the book, rule sets, rates, measurements, documents.

Stored canonical JSON is validated again into the core's values (a table row never
serves as one).  Rows are asked for a few hundred ids at a time, so a batch of the
monthly run reads only its own; the audit's walks over records read them a chunk at a
time, so memory stays flat on large stores.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Iterator

from pydantic import ValidationError
from sqlalchemy import exists, func, text
from sqlmodel import select

from ..core.canonical import from_micros, latest_revisions, to_micros
from ..core.model import Contract, Incident, Invoice, Issuer, Measurements, Payment, RequestCount, Ticket, TicketPause
from ..core.period import Period
from ..core.rates import RateBook, RateTable
from ..core.rulesets import LoadedRuleSet, RuleBook
from ..core.schema import Cause, RuleSet
from ..loading.collector import paused_gc
from .loads import MEASURED
from .tables import (
    ChainHeadRow,
    ContractRow,
    ContractVersionRow,
    DocumentLineRow,
    DocumentRow,
    EvaluationRow,
    IncidentRow,
    InvoiceRow,
    IssuerRow,
    LoadRow,
    NumberSequenceRow,
    PaymentRow,
    RateTableRow,
    RenditionRow,
    RequestCountRow,
    RuleSetRow,
    TicketPauseRow,
    TicketRow,
)


@dataclass(frozen=True)
class StoredContract:
    contract: Contract
    issuer_id: int
    issuer: Issuer


def _chunks(values: list, size: int = 500):
    """Values a few hundred at a time: the most a query names with IN (...)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _ticket(row: TicketRow) -> Ticket:
    return Ticket(row.contract_id, row.ticket, row.priority, from_micros(row.created_us),
                  from_micros(row.first_response_us) if row.first_response_us is not None else None,
                  from_micros(row.resolved_us) if row.resolved_us is not None else None, _line_of(row.source))


# Each contract's issuer and terms in force, in id order.  Plain columns, not ORM entities:
# building 100,000 pairs of entities cost seconds.
_TERMS = select(ContractRow.issuer_id, ContractVersionRow.terms_json).join(
    ContractVersionRow, (ContractVersionRow.contract_id == ContractRow.id)
    & (ContractVersionRow.sha256 == ContractRow.current_sha256)).order_by(ContractRow.id)


def _head(issuer_id: int, terms: str) -> dict:
    contract = json.loads(terms)
    # The rule set's id is one of a few: one string for all, not one per contract.
    return {"id": contract["id"], "issuer_id": issuer_id, "ruleset": sys.intern(contract["ruleset"]),
            "start": contract["start"], "end": contract.get("end")}


def _line_of(source: str) -> int:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class Reading:
    """The store's reads (a part of ``Store``)."""

    # -- reading the book ----------------------------------------------------------------------------------------

    def issuers(self) -> dict[int, Issuer]:
        with self.reading() as session:
            return {row.id: Issuer.model_validate_json(row.terms_json) for row in session.exec(select(IssuerRow))}

    def contracts(self, ids: list[str] | None = None, refused: dict[str, str] | None = None) -> list[StoredContract]:
        """The terms in force (the last loaded) of every contract, or of those named, in id order.

        Terms are validated again as they are read.  Terms an earlier version of slabill
        stored and this one refuses (a fee beyond what an amount may be, say) raise, unless
        ``refused`` is given: each such contract's id is then put there with the reason.
        """
        issuers = self.issuers()
        stored = []
        for issuer_id, terms in self._terms(ids):
            try:
                contract = Contract.model_validate_json(terms)
            except ValidationError as exc:
                if refused is None:
                    raise
                problem = exc.errors(include_url=False)[0]
                where = ".".join(str(part) for part in problem["loc"])
                refused[json.loads(terms).get("id", "?")] = (f"its stored terms are refused: {where}: "
                                                             f"{problem['msg'].removeprefix('Value error, ')}")
                continue
            stored.append(StoredContract(contract, issuer_id, issuers[issuer_id]))
        return stored

    def contract_heads(self, ids: list[str] | None = None) -> Iterator[dict]:
        """Every contract's (or those named) id, issuer, rule set, start and end in force, in id
        order, without validating the terms into models: what the monthly run needs to choose
        the active contracts and their rule sets.

        Streamed a few thousand rows at a time and cut down to those five fields, so that
        the caller, not this reader, decides what to keep: the whole terms of 1,000,000
        contracts would be gigabytes.
        """
        if ids is not None:
            yield from (_head(issuer_id, terms) for issuer_id, terms in self._terms(ids))
            return
        with self.reading() as session:
            for partition in session.execute(_TERMS.execution_options(yield_per=5000)).partitions():
                yield from (_head(issuer_id, terms) for issuer_id, terms in partition)

    def _terms(self, ids: list[str] | None) -> list[tuple[int, str]]:
        with self.reading() as session, paused_gc():
            if ids is None:
                return session.execute(_TERMS).all()
            rows = []
            for chunk in _chunks(sorted(ids)):  # sorted chunks of sorted ids: the rows stay in id order
                rows += session.execute(_TERMS.where(ContractRow.id.in_(chunk))).all()
            return rows

    def rule_book(self) -> RuleBook:
        with self.reading() as session:
            rows = session.exec(select(RuleSetRow).order_by(RuleSetRow.ruleset, RuleSetRow.effective_from)).all()
        return RuleBook([LoadedRuleSet(RuleSet.model_validate_json(r.canonical_json), f"the store ({r.ruleset} {r.version})")
                         for r in rows])

    def rate_book(self) -> RateBook:
        """The newest loaded version of every rate table."""
        with self.reading() as session:
            rows = session.exec(select(RateTableRow).order_by(RateTableRow.id)).all()
        latest = {row.name: row for row in rows}
        return RateBook({name: RateTable.model_validate_json(row.canonical_json) for name, row in latest.items()},
                        "the store")

    def known_tickets(self) -> dict[str, Ticket]:
        """Every stored ticket, so that pauses loaded later can name it."""
        with self.reading() as session:
            return {row.ticket: _ticket(row) for row in session.exec(select(TicketRow).where(
                TicketRow.superseded_by.is_(None)))}

    def invoice_currencies(self) -> dict[str, str]:
        """Every stored invoice's number and currency (payments may name them in a later load)."""
        with self.reading() as session:
            return dict(session.execute(select(InvoiceRow.number, InvoiceRow.currency)).all())

    def rule_set(self, sha256: str) -> RuleSet | None:
        with self.reading() as session:
            row = session.get(RuleSetRow, sha256)
        return None if row is None else RuleSet.model_validate_json(row.canonical_json)

    def measurements(self, contracts: list[Contract], period: Period, margin: timedelta) -> Measurements:
        """The rows that can affect the period, for these contracts.

        ``margin`` reaches past the period so that an outage stretch crossing its edge is
        judged on its whole length (it must be at least the longest ``min_duration``).
        Rows are asked for by contract, a few hundred contracts a query, so a batch of
        the monthly run reads only its own rows.
        """
        if not contracts:
            return Measurements(folder="store")
        incidents: dict = {}
        requests: dict = {}
        invoices: dict = {}
        tickets: dict = {}
        pauses: dict = {}
        payments: dict = {}
        windows = [period.window(c.timezone) for c in contracts]
        low = to_micros(min(w.start for w in windows) - margin)
        high = to_micros(max(w.end for w in windows) + margin)
        ids = sorted({c.id for c in contracts})
        causes = {c.value: c for c in Cause}
        with self.reading() as session, paused_gc():
            for chunk in _chunks(ids):
                incident_rows = session.execute(select(
                    IncidentRow.contract_id, IncidentRow.service, IncidentRow.start_us, IncidentRow.end_us,
                    IncidentRow.cause, IncidentRow.announced_us, IncidentRow.source, IncidentRow.impact,
                ).where(IncidentRow.contract_id.in_(chunk), IncidentRow.start_us < high, IncidentRow.end_us > low,
                        IncidentRow.superseded_by.is_(None))  # a corrected row is kept for the audit only
                    .order_by(IncidentRow.id))
                for contract, service, start, end, cause, announced, source, impact in incident_rows:
                    incidents.setdefault((contract, service), []).append(Incident(
                        from_micros(start), from_micros(end), causes[cause],
                        from_micros(announced) if announced is not None else None, _line_of(source),
                        Decimal(impact) if impact is not None else None))
                counts = session.execute(select(
                    RequestCountRow.contract_id, RequestCountRow.service, RequestCountRow.interval_us,
                    RequestCountRow.requests, RequestCountRow.errors, RequestCountRow.source,
                ).where(RequestCountRow.contract_id.in_(chunk), RequestCountRow.interval_us < high,
                        RequestCountRow.interval_us >= low, RequestCountRow.superseded_by.is_(None))
                    .order_by(RequestCountRow.id))
                for contract, service, at, asked, failed, source in counts:
                    requests.setdefault((contract, service), []).append(
                        RequestCount(from_micros(at), asked, failed, _line_of(source)))
                # Invoices stay relevant until paid, so all of a contract's invoices are read.
                for row in session.exec(select(InvoiceRow).where(InvoiceRow.contract_id.in_(chunk))
                                        .order_by(InvoiceRow.id)):
                    invoices.setdefault(row.contract_id, []).append(Invoice(
                        row.contract_id, row.number, row.issued, row.due, Decimal(row.net), Decimal(row.tax),
                        Decimal(row.gross), row.currency, _line_of(row.source), row.period))
                # Tickets created before the period's end and not answered and resolved before
                # it began are the ones a period can judge.
                for row in session.exec(select(TicketRow).where(TicketRow.contract_id.in_(chunk),
                                                                TicketRow.created_us < high,
                                                                TicketRow.superseded_by.is_(None)).order_by(TicketRow.id)):
                    if not (row.first_response_us is not None and row.resolved_us is not None
                            and max(row.first_response_us, row.resolved_us) < low):
                        tickets.setdefault(row.contract_id, []).append(_ticket(row))
            ticket_ids = sorted({t.ticket for rows in tickets.values() for t in rows})
            for chunk in _chunks(ticket_ids):
                for row in session.exec(select(TicketPauseRow).where(TicketPauseRow.ticket.in_(chunk))
                                        .order_by(TicketPauseRow.id)):
                    pauses.setdefault(row.ticket, []).append(
                        TicketPause(row.ticket, from_micros(row.start_us), from_micros(row.end_us), _line_of(row.source)))
            numbers = sorted({i.number for rows in invoices.values() for i in rows})
            for chunk in _chunks(numbers):
                for row in session.exec(select(PaymentRow).where(PaymentRow.invoice_number.in_(chunk))
                                        .order_by(PaymentRow.id)):
                    payments.setdefault(row.invoice_number, []).append(
                        Payment(row.invoice_number, row.paid_on, Decimal(row.amount), _line_of(row.source)))
        return Measurements(folder="store", incidents=incidents, requests=requests, invoices=invoices,
                            payments=payments, tickets=tickets, pauses=pauses)

    # -- documents ----------------------------------------------------------------------------------------------------

    def documents(self, period: str | None = None, contract: str | None = None,
                  run_id: int | None = None) -> list[DocumentRow]:
        with self.reading() as session:
            query = _narrowed(select(DocumentRow).order_by(DocumentRow.id), DocumentRow, period, contract)
            if run_id is not None:
                query = query.join(EvaluationRow, EvaluationRow.id == DocumentRow.evaluation_id).where(
                    EvaluationRow.run_id == run_id)
            return list(session.exec(query))

    def document(self, number: str) -> DocumentRow | None:
        with self.reading() as session:
            return session.exec(select(DocumentRow).where(DocumentRow.number == number)).first()

    def rendition(self, document_id: int, format: str) -> RenditionRow | None:
        """The sha256 of a document's rendering handed out earlier (a PDF), if any."""
        with self.reading() as session:
            return session.exec(select(RenditionRow).where(RenditionRow.document_id == document_id,
                                                           RenditionRow.format == format)).first()

    def renditions(self) -> list[tuple[RenditionRow, str, str]]:
        """Every rendition kept, with its document's number and content hash, for verify."""
        with self.reading() as session:
            return [(row, number, content) for row, number, content in session.execute(
                select(RenditionRow, DocumentRow.number, DocumentRow.content_sha256)
                .join(DocumentRow, DocumentRow.id == RenditionRow.document_id).order_by(RenditionRow.id)).all()]

    def document_lines(self, document_id: int) -> list[DocumentLineRow]:
        with self.reading() as session:
            return list(session.exec(select(DocumentLineRow).where(DocumentLineRow.document_id == document_id)
                                     .order_by(DocumentLineRow.position)))

    def evaluations(self, period: str | None = None, contract: str | None = None,
                    run_id: int | None = None) -> list[EvaluationRow]:
        with self.reading() as session:
            query = _narrowed(select(EvaluationRow).order_by(EvaluationRow.id), EvaluationRow, period, contract)
            if run_id is not None:
                query = query.where(EvaluationRow.run_id == run_id)
            return list(session.exec(query))

    def latest_records(self, period: str, contract: str | None = None) -> dict[str, EvaluationRow]:
        """The latest record of each contract evaluated for ``period`` (or of one contract)."""
        return latest_revisions(self.evaluations(period=period, contract=contract),
                                lambda row: row.contract_id, lambda row: row.revision)

    # -- the audit's walks ----------------------------------------------------------------------------------------------

    def rule_set_rows(self) -> Iterator[RuleSetRow]:
        """Every stored rule set, in the order of its hash."""
        return self._stream(RuleSetRow, RuleSetRow.sha256)

    def record_rows(self) -> Iterator[EvaluationRow]:
        """Every evaluation record, in the order of the chain."""
        return self._stream(EvaluationRow, EvaluationRow.id)

    def _stream(self, model, order, chunk: int = 2000) -> Iterator:
        """Rows in order, a chunk at a time, so memory stays flat on large stores."""
        last = None
        with self.reading() as session:
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

    def chain(self) -> ChainHeadRow | None:
        """The head of the audit chain, as the store says: the last record's hash and the chain's length."""
        with self.reading() as session:
            return session.get(ChainHeadRow, 1)

    def load_rows(self) -> list[LoadRow]:
        """Every load recorded on the chain, in the order of their ids (few: one per load that changed rows)."""
        with self.reading() as session:
            return list(session.exec(select(LoadRow).order_by(LoadRow.id)))

    def measured_rows(self, table: str, chunk: int = 20000) -> Iterator[list[tuple]]:
        """Every row of a measurement table, current and superseded, in id order, a chunk at a time:
        (id, load_id, superseded_by, then the columns its text is made of (``engine.store.loads.MEASURED``),
        and an incident's row_key).  Plain SQL: verify reads every row, and the ORM's rows cost
        more than their hashing."""
        if table not in MEASURED:
            raise ValueError(table)
        columns = ["id", "load_id", "superseded_by", *MEASURED[table][1]] + (["row_key"] if table == "incidents" else [])
        query = text(f"SELECT {', '.join(columns)} FROM {table} WHERE id > :last ORDER BY id LIMIT {int(chunk)}")
        last = 0
        with self.reading() as session, paused_gc():
            connection = session.connection()
            while True:
                rows = [tuple(row) for row in connection.execute(query, {"last": last})]
                if not rows:
                    return
                yield rows
                last = rows[-1][0]

    def record_ids(self) -> list[int]:
        """Every record's id, in chain order."""
        with self.reading() as session:
            return list(session.execute(select(EvaluationRow.id).order_by(EvaluationRow.id)).scalars())

    def record_links(self, page: int = 10_000) -> Iterator:
        """Every record's id, the hash it says came before it and its own hash, its run, contract and
        period, in chain order: read a page at a time, each page in a short read of its own."""
        after = None
        while True:
            with self.reading() as session:
                query = select(EvaluationRow.id, EvaluationRow.previous_sha256, EvaluationRow.record_sha256,
                               EvaluationRow.run_id, EvaluationRow.contract_id, EvaluationRow.period)
                if after is not None:
                    query = query.where(EvaluationRow.id > after)
                rows = session.execute(query.order_by(EvaluationRow.id).limit(page)).all()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1].id

    def documents_by_run(self) -> list[tuple[int, str, int]]:
        """How many documents of each kind each run's records issued: (run, kind, count)."""
        with self.reading() as session:
            return [tuple(row) for row in session.execute(
                select(EvaluationRow.run_id, DocumentRow.kind, func.count())
                .join(EvaluationRow, EvaluationRow.id == DocumentRow.evaluation_id)
                .group_by(EvaluationRow.run_id, DocumentRow.kind))]

    def first_records_by_run(self) -> list[tuple[str, int, int]]:
        """Per period and run, how many contracts that run recorded first (their record of the period
        with the lowest id is the run's): (period, run, count)."""
        with self.reading() as session:
            first = (select(func.min(EvaluationRow.id).label("id"))
                     .group_by(EvaluationRow.contract_id, EvaluationRow.period).subquery())
            return [tuple(row) for row in session.execute(
                select(EvaluationRow.period, EvaluationRow.run_id, func.count())
                .join(first, first.c.id == EvaluationRow.id)
                .group_by(EvaluationRow.period, EvaluationRow.run_id))]

    def sequences(self) -> list[tuple[int, str, int, int]]:
        """Every number sequence: (issuer, kind, year, last number)."""
        with self.reading() as session:
            return [tuple(row) for row in session.execute(select(
                NumberSequenceRow.issuer_id, NumberSequenceRow.kind, NumberSequenceRow.year,
                NumberSequenceRow.last_number)).all()]

    def document_numbers(self, page: int = 50_000) -> Iterator:
        """Every document's issuer, kind, issue date and number, in the order they were issued, read a
        page at a time."""
        after = None
        while True:
            with self.reading() as session:
                query = select(DocumentRow.id, DocumentRow.issuer_id, DocumentRow.kind, DocumentRow.issue_date,
                               DocumentRow.number)
                if after is not None:
                    query = query.where(DocumentRow.id > after)
                rows = session.execute(query.order_by(DocumentRow.id).limit(page)).all()
            yield from (tuple(row)[1:] for row in rows)
            if len(rows) < page:
                return
            after = rows[-1].id

    def earlier_documents(self, contracts: list[str], periods: list[str], before: int) -> list:
        """The documents of these contracts and periods issued by records before ``before`` (by id):
        what the records of a chunk correct.  Filtered to the exact (contract, period) pairs by the caller."""
        if not contracts:
            return []
        with self.reading() as session:
            return session.execute(select(DocumentRow.id, DocumentRow.evaluation_id, DocumentRow.contract_id,
                                          DocumentRow.period, DocumentRow.content_json).where(
                DocumentRow.contract_id.in_(contracts), DocumentRow.period.in_(periods),
                DocumentRow.evaluation_id < before).order_by(DocumentRow.id)).all()

    def orphan_documents(self) -> list[str]:
        """The numbers of documents that belong to no record."""
        with self.reading() as session:
            return session.execute(ORPHANS).scalars().all()

    def records_with_documents(self, ids: list[int]) -> list[tuple[Any, list[tuple[Any, list]]]]:
        """Records by id, each with its documents and their lines: what verify checks against one another."""
        with self.reading() as session:
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
        return [(row, issued.get(row.id, [])) for row in rows]

    def record_ids(self, *, evaluation_id: int | None = None, run_id: int | None = None,
                   period: str | None = None) -> list[int]:
        """The ids of the records chosen by evaluation, run or period, in chain order."""
        query = select(EvaluationRow.id).order_by(EvaluationRow.id)
        if evaluation_id is not None:
            query = query.where(EvaluationRow.id == evaluation_id)
        if run_id is not None:
            query = query.where(EvaluationRow.run_id == run_id)
        if period is not None:
            query = query.where(EvaluationRow.period == period)
        with self.reading() as session:
            return session.execute(query).scalars().all()

    def record_texts(self, ids: list[int]) -> list:
        """(id, contract_id, period, record_json) of records by id, in chain order."""
        with self.reading() as session:
            return session.execute(select(EvaluationRow.id, EvaluationRow.contract_id, EvaluationRow.period,
                                          EvaluationRow.record_json).where(EvaluationRow.id.in_(ids))
                                   .order_by(EvaluationRow.id)).all()

    def documents_by_record(self) -> dict[int, list[DocumentRow]]:
        """Every document, grouped by the record that issued it."""
        by_evaluation: dict[int, list[DocumentRow]] = {}
        with self.reading() as session:
            for document in session.exec(select(DocumentRow).order_by(DocumentRow.id)):
                by_evaluation.setdefault(document.evaluation_id, []).append(document)
        return by_evaluation

    def stored_rule_set_row(self, sha256: str) -> RuleSetRow | None:
        with self.reading() as session:
            return session.get(RuleSetRow, sha256)


def _narrowed(query, table, period: str | None, contract: str | None):
    """A query of documents or records narrowed to a period and a contract, where given."""
    if period:
        query = query.where(table.period == period)
    if contract:
        query = query.where(table.contract_id == contract)
    return query


ORPHANS = select(DocumentRow.number).where(~exists().where(EvaluationRow.id == DocumentRow.evaluation_id)) \
    .order_by(DocumentRow.id)
"""documents whose record is gone.  NOT EXISTS, an anti-join, where NOT IN (subquery) was: once the
records' ids outgrow PostgreSQL's work_mem it cannot hash them, and scans them again for each
document (found at 1,000,000 records: audit verify had spent 15 minutes in it when stopped)."""

_RECORD_COLUMNS = (EvaluationRow.id, EvaluationRow.contract_id, EvaluationRow.period, EvaluationRow.revision,
                   EvaluationRow.input_digest, EvaluationRow.ruleset_sha256, EvaluationRow.credit_total,
                   EvaluationRow.credit_status, EvaluationRow.record_json, EvaluationRow.record_sha256,
                   EvaluationRow.previous_sha256)
_DOCUMENT_COLUMNS = (DocumentRow.id, DocumentRow.evaluation_id, DocumentRow.number, DocumentRow.kind,
                     DocumentRow.contract_id, DocumentRow.period,
                     DocumentRow.currency, DocumentRow.net_total, DocumentRow.tax_total, DocumentRow.gross_total,
                     DocumentRow.content_json, DocumentRow.content_sha256, DocumentRow.html_sha256,
                     DocumentRow.text_sha256, DocumentRow.e_invoice, DocumentRow.xml_sha256)
_LINE_COLUMNS = (DocumentLineRow.document_id, DocumentLineRow.position, DocumentLineRow.kind,
                 DocumentLineRow.objective, DocumentLineRow.net_amount, DocumentLineRow.vat_rate,
                 DocumentLineRow.detail_json)

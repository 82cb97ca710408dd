"""Loading validated files into the store, all or nothing.

``load`` brings rule sets, rate tables, the book and a data folder's measurements into
the store in one transaction: a row already there is not added again, and any conflict
(an invoice stored with other terms, a rule-set version stored with other content) rolls
the whole load back.

Rows are written a chunk at a time (``slabill load`` streams its files: see
``load_streamed``), so each ``_load_*`` function below takes one chunk of parsed rows and
decides, row by row, what is new, what is already stored and what conflicts.  A row that
repeats a row of the same file is found among the rows this load wrote before (their ids
are above the table's highest id when the load began), so no file is ever held whole.
New rows go in with one multi-row statement per chunk, and with COPY on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from typing import Callable, Iterable

from sqlalchemy import func, update
from sqlmodel import Session, select

from ..core.canonical import canonical, sha256_text, to_micros
from ..core.errors import InputError
from ..core.model import Contract, Incident, Invoice, Issuer, Key, Measurements, Payment, RequestCount, Ticket, TicketPause
from ..core.rates import RateBook
from ..core.rulesets import LoadedRuleSet, RuleBook, check_partial_impact_rows
from ..core.schema import RuleSet
from ..loading import measurements as csv_files
from ..loading.collector import collect_chunk, paused_gc
from ..loading.contracts import Book, ContractIndex, stream_book
from .reading import _line_of, _ticket
from .tables import (
    ContractRow,
    ContractVersionRow,
    IncidentRow,
    InvoiceRow,
    IssuerRow,
    PaymentRow,
    RateTableRow,
    RequestCountRow,
    RuleSetRow,
    TicketPauseRow,
    TicketRow,
)


@dataclass
class LoadReport:
    """Rows read from files, and how many of them were new to the store."""

    read: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, read: int, added: int) -> None:
        self.read[kind] = self.read.get(kind, 0) + read
        self.added[kind] = self.added.get(kind, 0) + added


def incident_key(contract: str, service: str, row: Incident) -> str:
    parts = (contract, service, str(to_micros(row.start)), str(to_micros(row.end)), row.cause.value,
             str(to_micros(row.announced_at)) if row.announced_at else "")
    if row.impact is not None:  # only then: rows stored before impacts existed keep their keys
        parts += (f"impact={row.impact}",)
    return sha256_text("|".join(parts))


class Loading:
    """The store's loading unit of work (a part of ``Store``)."""

    def load(self, *, book: Book | None = None, rule_sets: list[LoadedRuleSet] = (),
             measurements: Measurements | None = None, rates: RateBook | None = None) -> LoadReport:
        """Bring validated files into the store, all or nothing (each kind of row as one chunk)."""
        report = LoadReport()
        with self.atomic() as session, paused_gc():
            self._load_rules(session, rule_sets, rates, report)
            if book is not None:
                issuer_id = self._load_issuer(session, book.issuer, report)
                self._load_contracts(session, issuer_id, list(book.contracts), report)
            if measurements is not None:
                folder = Path(measurements.folder)
                fresh = _Fresh(session)
                self._load_incidents(session, str(folder / "incidents.csv"),
                                     [(key, i) for key, rows in measurements.incidents.items() for i in rows], report)
                self._load_requests(session, str(folder / "requests.csv"),
                                    [(key, r) for key, rows in measurements.requests.items() for r in rows], report, fresh)
                self._load_invoices(session, str(folder / "invoices.csv"),
                                    [i for rows in measurements.invoices.values() for i in rows], report, fresh)
                self._load_payments(session, str(folder / "payments.csv"),
                                    [p for rows in measurements.payments.values() for p in rows], report, fresh)
                self._load_tickets(session, str(folder / "tickets.csv"),
                                   [t for rows in measurements.tickets.values() for t in rows], report, fresh)
                self._load_pauses(session, str(folder / "ticket_pauses.csv"),
                                  [p for rows in measurements.pauses.values() for p in rows], report)
        return report

    def load_streamed(self, *, contracts: Path, data: Path | None = None, rule_sets: list[LoadedRuleSet] = (),
                      rates: RateBook | None = None, rules: RuleBook | None = None,
                      contract_read: Callable[[int, Contract], None] | None = None,
                      chunk: int = csv_files.CHUNK_ROWS) -> tuple[LoadReport, ContractIndex]:
        """Read the book's files and write them as they are read, in one transaction.

        What is held at any time is one chunk of rows (``chunk``, and 1,000 contracts) and the
        book's ``ContractIndex``, which measurement rows are checked against: the memory
        grows with the number of contracts, never with the number of measurement rows.
        ``rules`` (the stored and loaded rule sets) checks partial impacts as incidents are
        read; ``contract_read`` sees each contract as it is written.  Any error rolls the
        whole load back.
        """
        report = LoadReport()
        with self.atomic() as session, paused_gc():
            self._load_rules(session, rule_sets, rates, report)
            issuer: list[int] = []
            waiting: list[Contract] = []

            def issuer_read(value: Issuer) -> None:
                issuer.append(self._load_issuer(session, value, report))

            def each_contract(position: int, contract: Contract) -> None:
                if contract_read is not None:
                    contract_read(position, contract)
                waiting.append(contract)
                if len(waiting) >= 1000:
                    self._load_contracts(session, issuer[0], waiting, report)
                    waiting.clear()
                    collect_chunk()

            index = stream_book(contracts, issuer_read, each_contract)
            self._load_contracts(session, issuer[0], waiting, report)
            waiting.clear()
            if data is None:
                return report, index
            if not data.is_dir():
                raise InputError("the data folder does not exist", file=str(data))
            for kind in ("incidents", "request intervals", "invoices", "payments", "tickets", "ticket pauses"):
                report.count(kind, 0, 0)  # a kind without a file is said all the same, read 0
            fresh = _Fresh(session)
            path = data / "incidents.csv"
            if path.exists():
                for rows in csv_files.stream_incidents(path, index, chunk):
                    if rules is not None and any(i.impact is not None for _, i in rows):
                        check_partial_impact_rows(rules, index, rows, str(path))
                    self._load_incidents(session, str(path), rows, report)
                    collect_chunk()
            path = data / "requests.csv"
            if path.exists():
                for rows in csv_files.stream_requests(path, index, chunk):
                    self._load_requests(session, str(path), rows, report, fresh)
                    collect_chunk()
            path = data / "invoices.csv"
            if path.exists():
                for rows in csv_files.stream_invoices(path, index, chunk):
                    self._load_invoices(session, str(path), rows, report, fresh)
                    collect_chunk()
            path = data / "payments.csv"
            if path.exists():
                for rows in csv_files.stream_payments(path, lambda numbers: _invoice_currencies(session, numbers), chunk):
                    self._load_payments(session, str(path), rows, report, fresh)
                    collect_chunk()
            path = data / "tickets.csv"
            if path.exists():
                for rows in csv_files.stream_tickets(path, index, chunk):
                    self._load_tickets(session, str(path), rows, report, fresh)
                    collect_chunk()
            path = data / "ticket_pauses.csv"
            if path.exists():
                for rows in csv_files.stream_pauses(path, lambda ids: _tickets(session, ids), chunk):
                    self._load_pauses(session, str(path), rows, report)
                    collect_chunk()
        return report, index

    def _load_rules(self, session: Session, rule_sets: list[LoadedRuleSet], rates: RateBook | None,
                    report: LoadReport) -> None:
        for item in rule_sets:
            self._load_rule_set(session, item, report)
        self._check_rule_versions(session, rule_sets)
        if rates is not None:
            self._load_rates(session, rates, report)

    def _load_rates(self, session: Session, rates: RateBook, report: LoadReport) -> None:
        for name, table in sorted(rates.tables.items()):
            text = canonical(table.model_dump(mode="json", by_alias=True))
            digest = sha256_text(text)
            versions = session.exec(select(RateTableRow).where(RateTableRow.name == name)
                                    .order_by(RateTableRow.id)).all()
            if versions and versions[-1].sha256 == digest:
                report.count("rate tables", 1, 0)
                continue
            if any(v.sha256 == digest for v in versions):
                raise InputError(f"this content of the rate table {name} was loaded before and replaced since; "
                                 "extend the table instead of going back", file=f"{rates.where}/{name}.yaml")
            session.add(RateTableRow(name=name, sha256=digest, canonical_json=text))
            report.count("rate tables", 1, 1)

    def _load_invoices(self, session: Session, source: str, rows: list[Invoice], report: LoadReport,
                       fresh: "_Fresh") -> None:
        if not rows:
            return report.count("invoices", 0, 0)
        stored = {}
        numbers = [i.number for i in rows]
        for start in range(0, len(numbers), 2000):
            for row in session.exec(select(InvoiceRow).where(InvoiceRow.number.in_(numbers[start:start + 2000]))):
                stored[row.number] = row
        new = []
        for invoice in rows:
            known = stored.get(invoice.number)
            values = (invoice.contract, invoice.issued, invoice.due, str(invoice.net), str(invoice.tax),
                      str(invoice.gross), invoice.currency, invoice.period)
            if known is None:
                new.append({"number": invoice.number, "contract_id": invoice.contract, "issued": invoice.issued,
                            "due": invoice.due, "net": str(invoice.net), "tax": str(invoice.tax),
                            "gross": str(invoice.gross), "currency": invoice.currency, "period": invoice.period,
                            "source": f"{source}:{invoice.line}"})
            elif fresh.written_now(InvoiceRow, known.id):
                raise InputError(f"invoice {invoice.number} is already listed on line {_line_of(known.source)}",
                                 file=source, line=invoice.line, field="number")
            elif (known.contract_id, known.issued, known.due, known.net, known.tax, known.gross, known.currency,
                  known.period) != values:
                raise InputError(f"invoice {invoice.number} is already stored with other terms (from {known.source}); "
                                 "an issued invoice is never changed", file=source, line=invoice.line, field="number")
        _insert(session, InvoiceRow, new)
        report.count("invoices", len(rows), len(new))

    def _load_tickets(self, session: Session, source: str, rows: list[Ticket], report: LoadReport,
                      fresh: "_Fresh") -> None:
        if not rows:
            return report.count("tickets", 0, 0)
        stored: dict[str, TicketRow] = {}
        ids = [t.ticket for t in rows]
        for start in range(0, len(ids), 2000):
            for row in session.exec(select(TicketRow).where(TicketRow.ticket.in_(ids[start:start + 2000]))):
                stored[row.ticket] = row
        new, updated = [], 0
        for ticket in rows:
            values = {"contract_id": ticket.contract, "priority": ticket.priority, "created_us": to_micros(ticket.created),
                      "first_response_us": to_micros(ticket.first_response) if ticket.first_response else None,
                      "resolved_us": to_micros(ticket.resolved) if ticket.resolved else None}
            known = stored.get(ticket.ticket)
            if known is None:
                new.append({"ticket": ticket.ticket, **values, "source": f"{source}:{ticket.line}"})
                continue
            if fresh.written_now(TicketRow, known.id):
                raise InputError(f"ticket {ticket.ticket} is already listed on line {_line_of(known.source)}",
                                 file=source, line=ticket.line, field="ticket")
            for column in ("contract_id", "priority", "created_us", "first_response_us", "resolved_us"):
                before, after = getattr(known, column), values[column]
                if before == after:
                    continue
                # A ticket's life goes on after it is first loaded: a response or resolution may
                # arrive later.  Anything else changing is a conflict.
                if column in ("first_response_us", "resolved_us") and before is None:
                    continue
                raise InputError(f"ticket {ticket.ticket} is already stored with another {column.removesuffix('_us')} "
                                 f"(from {known.source})", file=source, line=ticket.line, field=column.removesuffix("_us"))
            if values != {c: getattr(known, c) for c in values}:
                session.execute(update(TicketRow).where(TicketRow.id == known.id).values(
                    first_response_us=values["first_response_us"], resolved_us=values["resolved_us"]))
                updated += 1
        _insert(session, TicketRow, new)
        report.count("tickets", len(rows), len(new) + updated)

    def _load_pauses(self, session: Session, source: str, rows: list[TicketPause], report: LoadReport) -> None:
        if not rows:
            return report.count("ticket pauses", 0, 0)
        added = _add_unknown(session, TicketPauseRow, {
            sha256_text(f"{p.ticket}|{to_micros(p.start)}|{to_micros(p.end)}"):
                {"ticket": p.ticket, "start_us": to_micros(p.start), "end_us": to_micros(p.end),
                 "source": f"{source}:{p.line}"} for p in rows})
        report.count("ticket pauses", len(rows), added)

    def _load_payments(self, session: Session, source: str, rows: list[Payment], report: LoadReport,
                       fresh: "_Fresh") -> None:
        if not rows:
            return report.count("payments", 0, 0)

        def repeated(row: dict, known) -> InputError | None:
            if not fresh.written_now(PaymentRow, known.id):
                return None  # the same payment, loaded before: not a second one
            return InputError(f"the same payment is already listed on line {_line_of(known.source)}; "
                              "write two payments of one day as one row",
                              file=source, line=_line_of(row["source"]), field="amount")

        added = _add_unknown(session, PaymentRow, {
            sha256_text(f"{p.invoice}|{p.paid_on.isoformat()}|{p.amount}"):
                {"invoice_number": p.invoice, "paid_on": p.paid_on, "amount": str(p.amount),
                 "source": f"{source}:{p.line}"} for p in rows}, repeated)
        report.count("payments", len(rows), added)

    def _load_rule_set(self, session: Session, item: LoadedRuleSet, report: LoadReport) -> None:
        rules = item.rules
        if session.get(RuleSetRow, rules.sha256) is not None:
            report.count("rule sets", 1, 0)
            return
        clash = session.exec(select(RuleSetRow).where(RuleSetRow.ruleset == rules.ruleset,
                                                      RuleSetRow.version == rules.version)).first()
        if clash is not None:
            raise item.error_at("version", f"version {rules.version} of {rules.ruleset} is already stored with "
                                "other content; give changed rules a new version")
        session.add(RuleSetRow(sha256=rules.sha256, ruleset=rules.ruleset, version=rules.version,
                               effective_from=rules.effective_from, effective_until=rules.effective_until,
                               canonical_json=rules.canonical_json))
        session.flush()
        report.count("rule sets", 1, 1)

    def _check_rule_versions(self, session: Session, loaded: list[LoadedRuleSet]) -> None:
        """Two versions of a rule set must not apply on one day, stored or loaded; a problem is
        said at the loaded file's line (the rows of this load are in the session already)."""
        if not loaded:
            return
        files = {item.rules.sha256 for item in loaded}
        stored = [LoadedRuleSet(RuleSet.model_validate_json(row.canonical_json), f"the store ({row.ruleset} {row.version})")
                  for row in session.exec(select(RuleSetRow)) if row.sha256 not in files]
        RuleBook(stored + list(loaded))

    def _load_issuer(self, session: Session, issuer: Issuer, report: LoadReport) -> int:
        """The issuer's row id, its row added or its terms brought up to date."""
        terms = canonical(issuer.model_dump(mode="json"))
        row = session.exec(select(IssuerRow).where(IssuerRow.key == issuer.key)).first()
        if row is None:
            row = IssuerRow(key=issuer.key, terms_json=terms, terms_sha256=sha256_text(terms))
            session.add(row)
            session.flush()
            report.count("issuers", 1, 1)
        else:
            if row.terms_sha256 != sha256_text(terms):
                # The issuer's address or contact can change; documents keep the one they were issued with.
                session.execute(update(IssuerRow).where(IssuerRow.id == row.id)
                                .values(terms_json=terms, terms_sha256=sha256_text(terms)))
            report.count("issuers", 1, 0)
        return row.id

    def _load_contracts(self, session: Session, issuer_id: int, contracts: list[Contract], report: LoadReport) -> None:
        """A chunk of contracts: each one's terms stored once per version, the last loaded in force."""
        if not contracts:
            return report.count("contract terms", 0, 0)
        ids = [c.id for c in contracts]
        existing: dict[str, ContractRow] = {}
        versions: set[tuple[str, str]] = set()
        for start in range(0, len(ids), 2000):
            part = ids[start:start + 2000]
            existing.update((c.id, c) for c in session.exec(select(ContractRow).where(ContractRow.id.in_(part))))
            versions.update(session.exec(select(ContractVersionRow.contract_id, ContractVersionRow.sha256)
                                         .where(ContractVersionRow.contract_id.in_(part))))
        new_contracts, new_versions = [], []
        for contract in contracts:
            terms = canonical(contract.model_dump(mode="json"))
            digest = sha256_text(terms)
            current = existing.get(contract.id)
            if current is None:
                new_contracts.append({"id": contract.id, "issuer_id": issuer_id, "current_sha256": digest})
            elif current.current_sha256 != digest or current.issuer_id != issuer_id:
                session.execute(update(ContractRow).where(ContractRow.id == contract.id)
                                .values(current_sha256=digest, issuer_id=issuer_id))
            if (contract.id, digest) not in versions:
                new_versions.append({"contract_id": contract.id, "sha256": digest, "terms_json": terms})
        _insert(session, ContractRow, new_contracts)
        _insert(session, ContractVersionRow, new_versions)
        report.count("contract terms", len(contracts), len(new_versions))

    def _load_incidents(self, session: Session, source: str, incidents: list[tuple[Key, Incident]],
                        report: LoadReport) -> None:
        if not incidents:
            return report.count("incidents", 0, 0)
        rows = []
        for (contract, service), incident in incidents:
            rows.append({"row_key": incident_key(contract, service, incident), "contract_id": contract,
                         "service": service, "start_us": to_micros(incident.start), "end_us": to_micros(incident.end),
                         "cause": incident.cause.value,
                         "announced_us": to_micros(incident.announced_at) if incident.announced_at else None,
                         "impact": str(incident.impact) if incident.impact is not None else None,
                         "source": f"{source}:{incident.line}"})
        known: set[str] = set()
        keys = [r["row_key"] for r in rows]
        for start in range(0, len(keys), 5000):
            chunk = keys[start:start + 5000]
            known.update(session.exec(select(IncidentRow.row_key).where(IncidentRow.row_key.in_(chunk))))
        seen: set[str] = set()
        new = []
        for row in rows:
            if row["row_key"] not in known and row["row_key"] not in seen:
                seen.add(row["row_key"])
                new.append(row)
        _insert(session, IncidentRow, new)
        report.count("incidents", len(rows), len(new))

    def _load_requests(self, session: Session, source: str, counts: list[tuple[Key, RequestCount]],
                       report: LoadReport, fresh: "_Fresh") -> None:
        if not counts:
            return report.count("request intervals", 0, 0)
        by_key: dict[tuple[str, str, int], RequestCount] = {}
        for (contract, service), count in counts:
            at = to_micros(count.interval_start)
            earlier = by_key.get((contract, service, at))
            if earlier is not None:
                raise InputError(f"this interval is already counted on line {earlier.line}",
                                 file=source, line=count.line, field="interval_start")
            by_key[(contract, service, at)] = count
        contracts = sorted({contract for contract, _, _ in by_key})
        low, high = min(at for _, _, at in by_key), max(at for _, _, at in by_key)
        stored: dict[tuple[str, str, int], RequestCountRow] = {}
        for start in range(0, len(contracts), 2000):
            for row in session.exec(select(RequestCountRow).where(
                    RequestCountRow.contract_id.in_(contracts[start:start + 2000]),
                    RequestCountRow.interval_us >= low, RequestCountRow.interval_us <= high)):
                stored[(row.contract_id, row.service, row.interval_us)] = row
        new = []
        for (contract, service, at), count in by_key.items():
            known = stored.get((contract, service, at))
            if known is None:
                new.append({"contract_id": contract, "service": service, "interval_us": at,
                            "requests": count.requests, "errors": count.errors,
                            "source": f"{source}:{count.line}"})
            elif fresh.written_now(RequestCountRow, known.id):
                raise InputError(f"this interval is already counted on line {_line_of(known.source)}",
                                 file=source, line=count.line, field="interval_start")
            elif (known.requests, known.errors) != (count.requests, count.errors):
                raise InputError(f"this interval is already stored with {known.requests} requests and "
                                 f"{known.errors} errors (from {known.source}); stored counts are never changed",
                                 file=source, line=count.line, field="interval_start")
        _insert(session, RequestCountRow, new)
        report.count("request intervals", len(counts), len(new))


class _Fresh:
    """Which stored rows this load wrote: those above each table's highest id when it began."""

    def __init__(self, session: Session) -> None:
        self.before = {table: session.execute(select(func.max(table.id))).scalar() or 0
                       for table in (RequestCountRow, InvoiceRow, PaymentRow, TicketRow)}

    def written_now(self, table, row_id: int) -> bool:
        return row_id > self.before[table]


def _invoice_currencies(session: Session, numbers: set[str]) -> dict[str, str]:
    """The currency of each of these invoices the store holds (this load's included)."""
    found: dict[str, str] = {}
    numbers = sorted(numbers)
    for start in range(0, len(numbers), 2000):
        found.update(session.execute(select(InvoiceRow.number, InvoiceRow.currency)
                                     .where(InvoiceRow.number.in_(numbers[start:start + 2000]))).all())
    return found


def _tickets(session: Session, ids: set[str]) -> dict[str, Ticket]:
    """Each of these tickets the store holds (this load's included, with what it brought)."""
    found: dict[str, Ticket] = {}
    ids = sorted(ids)
    for start in range(0, len(ids), 2000):
        found.update((row.ticket, _ticket(row))
                     for row in session.exec(select(TicketRow).where(TicketRow.ticket.in_(ids[start:start + 2000]))))
    return found


def _insert(session: Session, table, rows: list[dict]) -> None:
    """Add new rows in bulk: COPY on PostgreSQL, one multi-row statement elsewhere.

    COPY runs on the session's own connection, so it is part of the load's transaction.
    """
    if not rows:
        return
    session.flush()  # rows the session holds (an issuer, a rule set) go first: new rows may name them
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        # The table's plain INSERT, executemany'd: the ORM's bulk path costs more than SQLite's writing.
        statement = table.__table__.insert()
        for start in range(0, len(rows), 10_000):
            connection.execute(statement, rows[start:start + 10_000])
        return
    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table.__tablename__}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def _add_unknown(session: Session, table, rows: dict[str, dict],
                 repeated: Callable[[dict, object], InputError | None] | None = None) -> int:
    """Insert the rows whose key (a hash of their content, ``row_key``) the table does not hold yet.

    Returns how many were new: a row loaded again is the same row, never a second one.
    ``repeated(row, stored)`` may refuse a row whose key is stored already, with the error it returns.
    """
    known: dict[str, object] = {}
    keys = list(rows)
    for start in range(0, len(keys), 2000):
        for stored in session.exec(select(table).where(table.row_key.in_(keys[start:start + 2000]))):
            known[stored.row_key] = stored
    if repeated is not None:
        for key, stored in known.items():
            error = repeated(rows[key], stored)
            if error is not None:
                raise error
    new = [{"row_key": key, **row} for key, row in rows.items() if key not in known]
    _insert(session, table, new)
    return len(new)

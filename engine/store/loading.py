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

An incident or a request interval whose key is stored with other content is a correction,
and so is a ticket whose response or resolution arrived since: the loaded row is added and
the stored one is marked superseded by the load (kept for the audit; the run reads current
rows only).  A load that added or corrected measurements is
sealed onto the audit chain with the digests of what it did (``engine.store.loads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hashlib import sha256
from typing import Callable, Iterable

from sqlalchemy import func, insert, update
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
from .database import insert_rows
from .reading import _line_of, _ticket
from .loads import MEASURED, ids_digest, load_entry, rows_text
from .tables import (
    ChainHeadRow,
    ContractRow,
    ContractVersionRow,
    IncidentRow,
    InvoiceRow,
    IssuerRow,
    LoadRow,
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
    """new rows, corrections included"""
    corrected: dict[str, int] = field(default_factory=dict)
    """stored rows a loaded row of the same key and other content superseded"""
    load: int | None = None
    """the load's entry on the audit chain; None when it added and corrected no measurement"""

    def count(self, kind: str, read: int, added: int, corrected: int = 0) -> None:
        self.read[kind] = self.read.get(kind, 0) + read
        self.added[kind] = self.added.get(kind, 0) + added
        if corrected:
            self.corrected[kind] = self.corrected.get(kind, 0) + corrected


def incident_key(contract: str, service: str, row: Incident) -> str:
    """The sha256 of an incident's content (what ``row_key`` holds)."""
    parts = (contract, service, str(to_micros(row.start)), str(to_micros(row.end)), row.cause.value,
             str(to_micros(row.announced_at)) if row.announced_at else "")
    if row.impact is not None:  # only then: rows stored before impacts existed keep their keys
        parts += (f"impact={row.impact}",)
    if row.incident is not None:  # likewise, rows of files without ids
        parts += (f"id={row.incident}",)
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
                load = LoadUnderWay(session, self.dialect)
                self._load_incidents(session, str(folder / "incidents.csv"), [
                    (key, i) for key, rows in measurements.incidents.items() for i in rows], report, fresh, load)
                self._load_requests(session, str(folder / "requests.csv"), [
                    (key, r) for key, rows in measurements.requests.items() for r in rows], report, fresh, load)
                self._load_invoices(session, str(folder / "invoices.csv"), [
                    i for rows in measurements.invoices.values() for i in rows], report, fresh, load)
                self._load_payments(session, str(folder / "payments.csv"), [
                    p for rows in measurements.payments.values() for p in rows], report, fresh, load)
                self._load_tickets(session, str(folder / "tickets.csv"), [
                    t for rows in measurements.tickets.values() for t in rows], report, fresh, load)
                self._load_pauses(session, str(folder / "ticket_pauses.csv"), [
                    p for rows in measurements.pauses.values() for p in rows], report, load)
                report.load = load.seal()
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
        report, index = self._write_streamed(contracts, data, rule_sets, rates, rules, contract_read, chunk)
        self._refresh_statistics()
        return report, index

    def _write_streamed(self, contracts: Path, data: Path | None, rule_sets: list[LoadedRuleSet],
                        rates: RateBook | None, rules: RuleBook | None,
                        contract_read: Callable[[int, Contract], None] | None,
                        chunk: int) -> tuple[LoadReport, ContractIndex]:
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
            load = LoadUnderWay(session, self.dialect)
            path = data / "incidents.csv"
            if path.exists():
                for rows in csv_files.stream_incidents(path, index, chunk):
                    if rules is not None and any(i.impact is not None for _, i in rows):
                        check_partial_impact_rows(rules, index, rows, str(path))
                    self._load_incidents(session, str(path), rows, report, fresh, load)
                    collect_chunk()
            path = data / "requests.csv"
            if path.exists():
                for rows in csv_files.stream_requests(path, index, chunk):
                    self._load_requests(session, str(path), rows, report, fresh, load)
                    collect_chunk()
            path = data / "invoices.csv"
            if path.exists():
                for rows in csv_files.stream_invoices(path, index, chunk):
                    self._load_invoices(session, str(path), rows, report, fresh, load)
                    collect_chunk()
            path = data / "payments.csv"
            if path.exists():
                for rows in csv_files.stream_payments(path, lambda numbers: _invoice_currencies(session, numbers), chunk):
                    self._load_payments(session, str(path), rows, report, fresh, load)
                    collect_chunk()
            path = data / "tickets.csv"
            if path.exists():
                for rows in csv_files.stream_tickets(path, index, chunk):
                    self._load_tickets(session, str(path), rows, report, fresh, load)
                    collect_chunk()
            path = data / "ticket_pauses.csv"
            if path.exists():
                for rows in csv_files.stream_pauses(path, lambda ids: _tickets(session, ids), chunk):
                    self._load_pauses(session, str(path), rows, report, load)
                    collect_chunk()
            report.load = load.seal()
        return report, index

    def _refresh_statistics(self) -> None:
        """On PostgreSQL, have the planner count the rows a load wrote before anyone reads them.

        Rows written in bulk in one transaction leave the tables' statistics empty until
        autovacuum comes round, and the planner then scans all 10,000,000 incidents in
        parallel for each batch of a run (measured: 140 contracts a second on the
        1,000,000-contract book before ANALYZE, 250 after, with the machine shared).
        ANALYZE samples each table, so it takes seconds at that size.
        """
        self.analyze(*(table.__tablename__ for table in (
            ContractRow, ContractVersionRow, IncidentRow, RequestCountRow, InvoiceRow, PaymentRow, TicketRow,
            TicketPauseRow)))

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
                       fresh: "_Fresh", load: "LoadUnderWay") -> None:
        if not rows:
            return report.count("invoices", 0, 0)
        stored = {}
        numbers = [i.number for i in rows]
        for start in range(0, len(numbers), 2000):
            for row in session.exec(select(InvoiceRow).where(InvoiceRow.number.in_(numbers[start:start + 2000]),
                                                             InvoiceRow.superseded_by.is_(None))):
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
                            "source": f"{source}:{invoice.line}", "load_id": load.id})
            elif fresh.written_now(InvoiceRow, known.id):
                raise InputError(f"invoice {invoice.number} is already listed on line {_line_of(known.source)}",
                                 file=source, line=invoice.line, field="number")
            elif (known.contract_id, known.issued, known.due, known.net, known.tax, known.gross, known.currency,
                  known.period) != values:
                raise InputError(f"invoice {invoice.number} is already stored with other terms (from {known.source}); "
                                 "an issued invoice is never changed", file=source, line=invoice.line, field="number")
        insert_rows(session, InvoiceRow, new)
        load.added("invoices", new)
        report.count("invoices", len(rows), len(new))

    def _load_tickets(self, session: Session, source: str, rows: list[Ticket], report: LoadReport,
                      fresh: "_Fresh", load: "LoadUnderWay") -> None:
        if not rows:
            return report.count("tickets", 0, 0)
        stored: dict[str, TicketRow] = {}
        ids = [t.ticket for t in rows]
        for start in range(0, len(ids), 2000):
            for row in session.exec(select(TicketRow).where(TicketRow.ticket.in_(ids[start:start + 2000]),
                                                            TicketRow.superseded_by.is_(None))):
                stored[row.ticket] = row
        new, superseded = [], []
        for ticket in rows:
            values = {"contract_id": ticket.contract, "priority": ticket.priority, "created_us": to_micros(ticket.created),
                      "first_response_us": to_micros(ticket.first_response) if ticket.first_response else None,
                      "resolved_us": to_micros(ticket.resolved) if ticket.resolved else None}
            known = stored.get(ticket.ticket)
            row = {"ticket": ticket.ticket, **values, "source": f"{source}:{ticket.line}", "load_id": load.id}
            if known is None:
                new.append(row)
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
                # What arrived since is a new row that supersedes the stored one (kept for the audit).
                superseded.append(known.id)
                new.append(row)
        load.supersede(session, TicketRow, superseded)
        insert_rows(session, TicketRow, new)
        load.added("tickets", new)
        report.count("tickets", len(rows), len(new), len(superseded))

    def _load_pauses(self, session: Session, source: str, rows: list[TicketPause], report: LoadReport,
                     load: "LoadUnderWay") -> None:
        if not rows:
            return report.count("ticket pauses", 0, 0)
        new = _add_unknown(session, TicketPauseRow, {
            sha256_text(f"{p.ticket}|{to_micros(p.start)}|{to_micros(p.end)}"):
                {"ticket": p.ticket, "start_us": to_micros(p.start), "end_us": to_micros(p.end),
                 "source": f"{source}:{p.line}", "load_id": load.id} for p in rows})
        load.added("ticket_pauses", new)
        report.count("ticket pauses", len(rows), len(new))

    def _load_payments(self, session: Session, source: str, rows: list[Payment], report: LoadReport,
                       fresh: "_Fresh", load: "LoadUnderWay") -> None:
        if not rows:
            return report.count("payments", 0, 0)

        def repeated(row: dict, known) -> InputError | None:
            if not fresh.written_now(PaymentRow, known.id):
                return None  # the same payment, loaded before: not a second one
            return InputError(f"the same payment is already listed on line {_line_of(known.source)}; "
                              "write two payments of one day as one row",
                              file=source, line=_line_of(row["source"]), field="amount")

        new = _add_unknown(session, PaymentRow, {
            sha256_text(f"{p.invoice}|{p.paid_on.isoformat()}|{p.amount}"):
                {"invoice_number": p.invoice, "paid_on": p.paid_on, "amount": str(p.amount),
                 "source": f"{source}:{p.line}", "load_id": load.id} for p in rows}, repeated)
        load.added("payments", new)
        report.count("payments", len(rows), len(new))

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
        insert_rows(session, ContractRow, new_contracts)
        insert_rows(session, ContractVersionRow, new_versions)
        report.count("contract terms", len(contracts), len(new_versions))

    def _load_incidents(self, session: Session, source: str, incidents: list[tuple[Key, Incident]],
                        report: LoadReport, fresh: "_Fresh", load: "LoadUnderWay") -> None:
        """New incidents are added; one whose key is stored with other content supersedes the stored row.

        An incident's key is (contract, service, id) when incidents.csv gives an id, else
        (contract, service, start).  Only current rows are compared: a row loaded again
        as it is stored is the same row, never a second one.  Two rows of one file under one
        key with other content are bad input, found in the chunk and among the rows this load
        wrote before (``fresh``).
        """
        if not incidents:
            return report.count("incidents", 0, 0)
        rows = []
        for (contract, service), incident in incidents:
            rows.append({"row_key": incident_key(contract, service, incident), "contract_id": contract,
                         "service": service, "incident": incident.incident,
                         "start_us": to_micros(incident.start), "end_us": to_micros(incident.end),
                         "cause": incident.cause.value,
                         "announced_us": to_micros(incident.announced_at) if incident.announced_at else None,
                         "impact": str(incident.impact) if incident.impact is not None else None,
                         "source": f"{source}:{incident.line}", "load_id": load.id})
        stored = self._current_incidents(session, rows)
        seen: dict[tuple, tuple[tuple, str]] = {}
        new, superseded = [], []
        for row in rows:
            key = _incident_natural_key(row)
            content = tuple(row[c] for c in _INCIDENT_CONTENT)
            earlier = seen.get(key)
            if earlier is not None:
                if earlier[0] != content:
                    raise _incident_listed_twice(source, row, _line_of(earlier[1]))
                continue  # the same row twice in the file is one row
            seen[key] = (content, row["source"])
            known = stored.get(key, ())
            for row_id, stored_content in known:
                if fresh.written_now(IncidentRow, row_id):  # an earlier chunk of this file
                    if stored_content != content:
                        raise _incident_listed_twice(source, row, _line_of(session.get(IncidentRow, row_id).source))
                    break
            else:
                same = [row_id for row_id, stored_content in known if stored_content == content]
                # (A store written before keys held rows stored twice under one key: loading the
                # file again keeps the row it holds and supersedes the others.)
                superseded += [row_id for row_id, _ in known if row_id not in same[:1]]
                if not same:
                    new.append(row)
        if superseded:
            # An earlier content may come back (a correction corrected): its key is then the row's
            # content and the load that brings it back, since the row it had is kept, superseded.
            again = _existing_keys(session, IncidentRow, [row["row_key"] for row in new])
            for row in new:
                if row["row_key"] in again:
                    row["row_key"] = sha256_text(f"{row['row_key']}|load={load.id}")
        insert_rows(session, IncidentRow, new)
        load.supersede(session, IncidentRow, superseded)
        load.added("incidents", new)
        report.count("incidents", len(rows), len(new), len(superseded))


    def _current_incidents(self, session: Session, rows: list[dict]) -> dict[tuple, list[tuple[int, tuple]]]:
        """The current stored rows that share a key with the loaded ones: key -> [(id, content)]."""
        stored: dict[tuple, list[tuple[int, tuple]]] = {}
        by_start = [row for row in rows if row["incident"] is None]
        by_id = [row for row in rows if row["incident"] is not None]
        columns = (IncidentRow.id, *(getattr(IncidentRow, c) for c in _INCIDENT_CONTENT))
        if by_start:
            # One range of starts, a few thousand contracts a query: a month's rows, not the whole history.
            low, high = min(r["start_us"] for r in by_start), max(r["start_us"] for r in by_start)
            contracts = sorted({r["contract_id"] for r in by_start})
            for start in range(0, len(contracts), 2000):
                for found in session.execute(select(*columns).where(
                        IncidentRow.contract_id.in_(contracts[start:start + 2000]), IncidentRow.incident.is_(None),
                        IncidentRow.superseded_by.is_(None), IncidentRow.start_us >= low,
                        IncidentRow.start_us <= high).order_by(IncidentRow.id)):
                    stored.setdefault((found.contract_id, found.service, None, found.start_us), []).append(
                        (found.id, tuple(found[1:])))
        if by_id:
            ids = sorted({r["incident"] for r in by_id})
            for start in range(0, len(ids), 2000):
                for found in session.execute(select(*columns).where(
                        IncidentRow.incident.in_(ids[start:start + 2000]), IncidentRow.superseded_by.is_(None))
                        .order_by(IncidentRow.id)):
                    stored.setdefault((found.contract_id, found.service, found.incident, None), []).append(
                        (found.id, tuple(found[1:])))
        return stored


    def _load_requests(self, session: Session, source: str, counts: list[tuple[Key, RequestCount]],
                       report: LoadReport, fresh: "_Fresh", load: "LoadUnderWay") -> None:
        """New intervals are added; an interval stored with other counts is corrected (the old row superseded).

        An interval counted twice in the file is bad input, found among this chunk's rows and
        among the rows this load wrote before (``fresh``)."""
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
                    RequestCountRow.superseded_by.is_(None),
                    RequestCountRow.interval_us >= low, RequestCountRow.interval_us <= high)):
                stored[(row.contract_id, row.service, row.interval_us)] = row
        new, superseded = [], []
        for (contract, service, at), count in by_key.items():
            known = stored.get((contract, service, at))
            if known is not None:
                if fresh.written_now(RequestCountRow, known.id):
                    raise InputError(f"this interval is already counted on line {_line_of(known.source)}",
                                     file=source, line=count.line, field="interval_start")
                if (known.requests, known.errors) == (count.requests, count.errors):
                    continue
                superseded.append(known.id)
            new.append({"contract_id": contract, "service": service, "interval_us": at,
                        "requests": count.requests, "errors": count.errors,
                        "source": f"{source}:{count.line}", "load_id": load.id})
        # The stored rows are marked first: only one row of an interval may be current.
        load.supersede(session, RequestCountRow, superseded)
        insert_rows(session, RequestCountRow, new)
        load.added("request_counts", new)
        report.count("request intervals", len(counts), len(new), len(superseded))


_INCIDENT_CONTENT = ("contract_id", "service", "incident", "start_us", "end_us", "cause", "announced_us", "impact")
"""what makes two incidents of one key the same (the file and line they came from do not)"""


def _incident_listed_twice(source: str, row: dict, line: int | None) -> InputError:
    """Two rows of one file under one incident key, with other content (``engine.loading.measurements``'
    check of a whole file, for a file read a chunk at a time)."""
    what, field = (f"the id {row['incident']}", "id") if row["incident"] is not None else ("this start", "start")
    return InputError(f"an incident of {row['contract_id']} {row['service']} with {what} is already listed on line "
                      f"{line} with other content; an incident's key (contract, service and id, else start) names one "
                      "incident", file=source, line=_line_of(row["source"]), field=field)


def _incident_natural_key(row: dict) -> tuple:
    if row["incident"] is not None:
        return (row["contract_id"], row["service"], row["incident"], None)
    return (row["contract_id"], row["service"], None, row["start_us"])


def _existing_keys(session: Session, table, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 2000):
        found.update(session.exec(select(table.row_key).where(table.row_key.in_(keys[start:start + 2000]))))
    return found


class LoadUnderWay:
    """A load's rows as it writes them: what it added and superseded, per table, then its entry on the chain.

    The chain's head is locked before anything is written (as the ledger locks it), so a
    load and a run append to the chain one after the other; the load's id is taken then.
    """

    def __init__(self, session: Session, dialect: str) -> None:
        query = select(ChainHeadRow).where(ChainHeadRow.id == 1)
        if dialect == "postgresql":
            query = query.with_for_update()
        self.session = session
        self.head = session.exec(query).one()
        self.id = (session.execute(select(func.max(LoadRow.id))).scalar_one() or 0) + 1
        self.files: dict[str, dict] = {}

    def supersede(self, session: Session, table, ids: list[int]) -> None:
        """Mark stored rows as replaced by this load's corrections (the one change the triggers allow)."""
        for start in range(0, len(ids), 2000):
            session.execute(update(table).where(table.id.in_(ids[start:start + 2000]), table.superseded_by.is_(None))
                            .values(superseded_by=self.id))
        self._file(table.__tablename__)["superseded"].extend(ids)

    def added(self, table: str, rows: list[dict]) -> None:
        """Count rows just inserted and hash their text, a chunk at a time: a streamed load keeps
        no row once its chunk is written, only each table's running digest."""
        if not rows:
            return
        columns = MEASURED[table][1]
        part = self._file(table)
        part["added"] += len(rows)
        part["digest"].update(rows_text([tuple(row[c] for c in columns) for row in rows]))

    def _file(self, table: str) -> dict:
        return self.files.setdefault(table, {"added": 0, "digest": sha256(), "superseded": []})

    def seal(self) -> int | None:
        """Record the load on the chain, if it added or superseded anything; returns its id."""
        changed = {MEASURED[table][0]: {"table": table, "added": parts["added"],
                                        "added_sha256": parts["digest"].hexdigest(),
                                        "superseded": len(parts["superseded"]),
                                        "superseded_sha256": ids_digest(parts["superseded"])}
                   for table, parts in sorted(self.files.items()) if parts["added"] or parts["superseded"]}
        if not changed:
            return None
        text, digest = load_entry(self.id, changed, self.head.last_sha256)
        self.session.execute(insert(LoadRow), [{"id": self.id, "entry_json": text, "entry_sha256": digest,
                                                "previous_sha256": self.head.last_sha256}])
        self.session.execute(update(ChainHeadRow).where(ChainHeadRow.id == 1).values(
            last_sha256=digest, length=self.head.length + 1))
        return self.id


class _Fresh:
    """Which stored rows this load wrote: those above each table's highest id when it began."""

    def __init__(self, session: Session) -> None:
        self.before = {table: session.execute(select(func.max(table.id))).scalar() or 0
                       for table in (IncidentRow, RequestCountRow, InvoiceRow, PaymentRow, TicketRow)}

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


def _add_unknown(session: Session, table, rows: dict[str, dict],
                 repeated: Callable[[dict, object], InputError | None] | None = None) -> list[dict]:
    """Insert the rows whose key (a hash of their content, ``row_key``) the table does not hold yet.

    Returns the new rows, in the order inserted: a row loaded again is the same row, never a second one.
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
    insert_rows(session, table, new)
    return new

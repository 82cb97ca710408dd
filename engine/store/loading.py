"""Loading validated files into the store, all or nothing.

``load`` brings rule sets, rate tables, the book and a data folder's measurements into
the store in one transaction: a row already there is not added again, and any conflict
(an invoice stored with other terms, a rule-set version stored with other content) rolls
the whole load back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, update
from sqlmodel import Session, select

from ..core.canonical import canonical, sha256_text, to_micros
from ..core.errors import InputError
from ..core.model import Incident, Measurements
from ..core.rates import RateBook
from ..core.rulesets import LoadedRuleSet, RuleBook
from ..core.schema import RuleSet
from ..loading.collector import paused_gc
from ..loading.contracts import Book
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
        """Bring validated files into the store, all or nothing."""
        report = LoadReport()
        with self.atomic() as session, paused_gc():
            for item in rule_sets:
                self._load_rule_set(session, item, report)
            self._check_rule_versions(session, rule_sets)
            if rates is not None:
                self._load_rates(session, rates, report)
            if book is not None:
                self._load_book(session, book, report)
            if measurements is not None:
                self._load_incidents(session, measurements, report)
                self._load_requests(session, measurements, report)
                self._load_invoices(session, measurements, report)
                self._load_payments(session, measurements, report)
                self._load_tickets(session, measurements, report)
                self._load_pauses(session, measurements, report)
        return report

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

    def _load_invoices(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "invoices.csv")
        rows = [i for invoices in measurements.invoices.values() for i in invoices]
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
            elif (known.contract_id, known.issued, known.due, known.net, known.tax, known.gross, known.currency,
                  known.period) != values:
                raise InputError(f"invoice {invoice.number} is already stored with other terms (from {known.source}); "
                                 "an issued invoice is never changed", file=source, line=invoice.line, field="number")
        if new:
            session.execute(insert(InvoiceRow), new)
        report.count("invoices", len(rows), len(new))

    def _load_tickets(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "tickets.csv")
        rows = [t for tickets in measurements.tickets.values() for t in tickets]
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
        if new:
            session.execute(insert(TicketRow), new)
        report.count("tickets", len(rows), len(new) + updated)

    def _load_pauses(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "ticket_pauses.csv")
        rows = [p for pauses in measurements.pauses.values() for p in pauses]
        added = _add_unknown(session, TicketPauseRow, {
            sha256_text(f"{p.ticket}|{to_micros(p.start)}|{to_micros(p.end)}"):
                {"ticket": p.ticket, "start_us": to_micros(p.start), "end_us": to_micros(p.end),
                 "source": f"{source}:{p.line}"} for p in rows})
        report.count("ticket pauses", len(rows), added)

    def _load_payments(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "payments.csv")
        rows = [p for payments in measurements.payments.values() for p in payments]
        added = _add_unknown(session, PaymentRow, {
            sha256_text(f"{p.invoice}|{p.paid_on.isoformat()}|{p.amount}"):
                {"invoice_number": p.invoice, "paid_on": p.paid_on, "amount": str(p.amount),
                 "source": f"{source}:{p.line}"} for p in rows})
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

    def _load_book(self, session: Session, book: Book, report: LoadReport) -> None:
        issuer = book.issuer
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
        issuer_id = row.id
        existing = {c.id: c for c in session.exec(select(ContractRow))}
        versions = {(v.contract_id, v.sha256) for v in session.exec(
            select(ContractVersionRow.contract_id, ContractVersionRow.sha256))}
        added = 0
        for contract in book.contracts:
            terms = canonical(contract.model_dump(mode="json"))
            digest = sha256_text(terms)
            current = existing.get(contract.id)
            if current is None:
                session.add(ContractRow(id=contract.id, issuer_id=issuer_id, current_sha256=digest))
                session.flush()
            elif current.current_sha256 != digest or current.issuer_id != issuer_id:
                session.execute(update(ContractRow).where(ContractRow.id == contract.id)
                                .values(current_sha256=digest, issuer_id=issuer_id))
            if (contract.id, digest) not in versions:
                session.add(ContractVersionRow(contract_id=contract.id, sha256=digest, terms_json=terms))
                added += 1
        session.flush()
        report.count("contract terms", len(book.contracts), added)

    def _load_incidents(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "incidents.csv")
        rows = []
        for (contract, service), incidents in measurements.incidents.items():
            for incident in incidents:
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
        for start in range(0, len(new), 10000):
            session.execute(insert(IncidentRow), new[start:start + 10000])
        report.count("incidents", len(rows), len(new))

    def _load_requests(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "requests.csv")
        read = added = 0
        for (contract, service), counts in measurements.requests.items():
            stored = {r.interval_us: r for r in session.exec(select(RequestCountRow).where(
                RequestCountRow.contract_id == contract, RequestCountRow.service == service))}
            new = []
            for count in counts:
                read += 1
                at = to_micros(count.interval_start)
                known = stored.get(at)
                if known is None:
                    new.append({"contract_id": contract, "service": service, "interval_us": at,
                                "requests": count.requests, "errors": count.errors,
                                "source": f"{source}:{count.line}"})
                elif (known.requests, known.errors) != (count.requests, count.errors):
                    raise InputError(f"this interval is already stored with {known.requests} requests and "
                                     f"{known.errors} errors (from {known.source}); stored counts are never changed",
                                     file=source, line=count.line, field="interval_start")
            if new:
                session.execute(insert(RequestCountRow), new)
                added += len(new)
        report.count("request intervals", read, added)


def _add_unknown(session: Session, table, rows: dict[str, dict]) -> int:
    """Insert the rows whose key (a hash of their content, ``row_key``) the table does not hold yet.

    Returns how many were new: a row loaded again is the same row, never a second one.
    """
    known: set[str] = set()
    keys = list(rows)
    for start in range(0, len(keys), 2000):
        known.update(session.exec(select(table.row_key).where(table.row_key.in_(keys[start:start + 2000]))))
    new = [{"row_key": key, **row} for key, row in rows.items() if key not in known]
    if new:
        session.execute(insert(table), new)
    return len(new)

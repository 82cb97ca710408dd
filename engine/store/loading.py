"""Loading validated files into the store, all or nothing.

``load`` brings rule sets, rate tables, the book and a data folder's measurements into
the store in one transaction: a row already there is not added again, and any conflict
(an invoice stored with other terms, a rule-set version stored with other content) rolls
the whole load back.

An incident or a request interval whose key is stored with other content is a correction,
and so is a ticket whose response or resolution arrived since: the loaded row is added and
the stored one is marked superseded by the load (kept for the audit; the run reads current
rows only).  A load that added or corrected measurements is
sealed onto the audit chain with the digests of what it did (``engine.store.loads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, update
from sqlmodel import Session, select

from ..core.canonical import canonical, sha256_text, to_micros
from ..core.errors import InputError
from ..core.model import Incident, Measurements
from ..core.rates import RateBook
from ..core.rulesets import LoadedRuleSet, RuleBook
from ..core.schema import RuleSet
from ..loading.collector import paused_gc
from ..loading.contracts import Book
from .loads import MEASURED, file_entry, load_entry
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
                load = LoadUnderWay(session, self.dialect)
                self._load_incidents(session, measurements, report, load)
                self._load_requests(session, measurements, report, load)
                self._load_invoices(session, measurements, report, load)
                self._load_payments(session, measurements, report, load)
                self._load_tickets(session, measurements, report, load)
                self._load_pauses(session, measurements, report, load)
                report.load = load.seal()
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

    def _load_invoices(self, session: Session, measurements: Measurements, report: LoadReport,
                       load: "LoadUnderWay") -> None:
        source = str(Path(measurements.folder) / "invoices.csv")
        rows = [i for invoices in measurements.invoices.values() for i in invoices]
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
            elif (known.contract_id, known.issued, known.due, known.net, known.tax, known.gross, known.currency,
                  known.period) != values:
                raise InputError(f"invoice {invoice.number} is already stored with other terms (from {known.source}); "
                                 "an issued invoice is never changed", file=source, line=invoice.line, field="number")
        if new:
            session.execute(insert(InvoiceRow), new)
        load.added("invoices", new)
        report.count("invoices", len(rows), len(new))

    def _load_tickets(self, session: Session, measurements: Measurements, report: LoadReport,
                      load: "LoadUnderWay") -> None:
        source = str(Path(measurements.folder) / "tickets.csv")
        rows = [t for tickets in measurements.tickets.values() for t in tickets]
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
        if new:
            session.execute(insert(TicketRow), new)
        load.added("tickets", new)
        report.count("tickets", len(rows), len(new), len(superseded))

    def _load_pauses(self, session: Session, measurements: Measurements, report: LoadReport,
                     load: "LoadUnderWay") -> None:
        source = str(Path(measurements.folder) / "ticket_pauses.csv")
        rows = [p for pauses in measurements.pauses.values() for p in pauses]
        new = _add_unknown(session, TicketPauseRow, {
            sha256_text(f"{p.ticket}|{to_micros(p.start)}|{to_micros(p.end)}"):
                {"ticket": p.ticket, "start_us": to_micros(p.start), "end_us": to_micros(p.end),
                 "source": f"{source}:{p.line}", "load_id": load.id} for p in rows})
        load.added("ticket_pauses", new)
        report.count("ticket pauses", len(rows), len(new))

    def _load_payments(self, session: Session, measurements: Measurements, report: LoadReport,
                       load: "LoadUnderWay") -> None:
        source = str(Path(measurements.folder) / "payments.csv")
        rows = [p for payments in measurements.payments.values() for p in payments]
        new = _add_unknown(session, PaymentRow, {
            sha256_text(f"{p.invoice}|{p.paid_on.isoformat()}|{p.amount}"):
                {"invoice_number": p.invoice, "paid_on": p.paid_on, "amount": str(p.amount),
                 "source": f"{source}:{p.line}", "load_id": load.id} for p in rows})
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

    def _load_incidents(self, session: Session, measurements: Measurements, report: LoadReport,
                        load: "LoadUnderWay") -> None:
        """New incidents are added; one whose key is stored with other content supersedes the stored row.

        An incident's key is (contract, service, id) when incidents.csv gives an id, else
        (contract, service, start).  Only current rows are compared: a row loaded again
        as it is stored is the same row, never a second one.
        """
        source = str(Path(measurements.folder) / "incidents.csv")
        rows = []
        for (contract, service), incidents in measurements.incidents.items():
            for incident in incidents:
                rows.append({"row_key": incident_key(contract, service, incident), "contract_id": contract,
                             "service": service, "incident": incident.incident,
                             "start_us": to_micros(incident.start), "end_us": to_micros(incident.end),
                             "cause": incident.cause.value,
                             "announced_us": to_micros(incident.announced_at) if incident.announced_at else None,
                             "impact": str(incident.impact) if incident.impact is not None else None,
                             "source": f"{source}:{incident.line}", "load_id": load.id})
        stored = self._current_incidents(session, rows)
        seen: set[tuple] = set()
        new, superseded = [], []
        for row in rows:
            key = _incident_natural_key(row)
            if key in seen:  # the same row twice in the file (other content under one key is refused when read)
                continue
            seen.add(key)
            known = stored.get(key, ())
            content = tuple(row[c] for c in _INCIDENT_CONTENT)
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
        for start in range(0, len(new), 10000):
            session.execute(insert(IncidentRow), new[start:start + 10000])
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

    def _load_requests(self, session: Session, measurements: Measurements, report: LoadReport,
                       load: "LoadUnderWay") -> None:
        """New intervals are added; an interval stored with other counts is corrected (the old row superseded)."""
        source = str(Path(measurements.folder) / "requests.csv")
        read = 0
        new, superseded = [], []
        for (contract, service), counts in measurements.requests.items():
            stored = {r.interval_us: r for r in session.execute(select(
                RequestCountRow.id, RequestCountRow.interval_us, RequestCountRow.requests, RequestCountRow.errors)
                .where(RequestCountRow.contract_id == contract, RequestCountRow.service == service,
                       RequestCountRow.superseded_by.is_(None)))}
            for count in counts:
                read += 1
                at = to_micros(count.interval_start)
                known = stored.get(at)
                if known is not None:
                    if (known.requests, known.errors) == (count.requests, count.errors):
                        continue
                    superseded.append(known.id)
                new.append({"contract_id": contract, "service": service, "interval_us": at,
                            "requests": count.requests, "errors": count.errors,
                            "source": f"{source}:{count.line}", "load_id": load.id})
        # The stored rows are marked first: only one row of an interval may be current.
        load.supersede(session, RequestCountRow, superseded)
        for start in range(0, len(new), 10000):
            session.execute(insert(RequestCountRow), new[start:start + 10000])
        load.added("request_counts", new)
        report.count("request intervals", read, len(new), len(superseded))


_INCIDENT_CONTENT = ("contract_id", "service", "incident", "start_us", "end_us", "cause", "announced_us", "impact")
"""what makes two incidents of one key the same (the file and line they came from do not)"""


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
        name = table.__tablename__
        for start in range(0, len(ids), 2000):
            session.execute(update(table).where(table.id.in_(ids[start:start + 2000]), table.superseded_by.is_(None))
                            .values(superseded_by=self.id))
        self._file(name)["superseded"] = list(ids)

    def added(self, table: str, rows: list[dict]) -> None:
        columns = MEASURED[table][1]
        self._file(table)["added"] = [tuple(row[c] for c in columns) for row in rows]

    def _file(self, table: str) -> dict:
        return self.files.setdefault(table, {"added": [], "superseded": []})

    def seal(self) -> int | None:
        """Record the load on the chain, if it added or superseded anything; returns its id."""
        changed = {MEASURED[table][0]: file_entry(table, parts["added"], parts["superseded"])
                   for table, parts in sorted(self.files.items()) if parts["added"] or parts["superseded"]}
        if not changed:
            return None
        text, digest = load_entry(self.id, changed, self.head.last_sha256)
        self.session.execute(insert(LoadRow), [{"id": self.id, "entry_json": text, "entry_sha256": digest,
                                                "previous_sha256": self.head.last_sha256}])
        self.session.execute(update(ChainHeadRow).where(ChainHeadRow.id == 1).values(
            last_sha256=digest, length=self.head.length + 1))
        return self.id


def _add_unknown(session: Session, table, rows: dict[str, dict]) -> list[dict]:
    """Insert the rows whose key (a hash of their content, ``row_key``) the table does not hold yet.

    Returns the new rows, in the order inserted: a row loaded again is the same row, never a second one.
    """
    known: set[str] = set()
    keys = list(rows)
    for start in range(0, len(keys), 2000):
        known.update(session.exec(select(table.row_key).where(table.row_key.in_(keys[start:start + 2000]))))
    new = [{"row_key": key, **row} for key, row in rows.items() if key not in known]
    if new:
        session.execute(insert(table), new)
    return new

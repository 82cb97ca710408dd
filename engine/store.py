"""The store: the book of business, measurements, runs, evaluation records and documents.

SQLite file by default, PostgreSQL through the same code (``postgresql+psycopg://``).
Alembic migrations create and upgrade the schema when a store is opened.

Three kinds of work, each one unit of work:

* ``load`` brings files into the store in one transaction: a row already there is not
  added again, and any conflict rolls the whole load back.
* ``ledger`` is the issuing transaction of the monthly run.  It first locks the head of
  the audit chain (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on
  SQLite), so writers append one after the other, then reads what was already
  evaluated and issued, allocates document numbers from gap-free sequences, and writes
  records and documents.  A crash rolls everything back: no number is burned.
* Reads (contracts, rule sets, measurements of a period, documents) validate stored
  canonical JSON back into domain values.

Issued documents and evaluation records are never updated or deleted: the session
refuses it (``ImmutableRecordError``), and database triggers refuse it too.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from .book import Book, Contract, Incident, Invoice, Issuer, Measurements, Payment, RequestCount, Ticket, TicketPause
from .errors import InputError, SlabillError
from .period import Period
from .rates import RateBook, RateTable
from .rulesets import LoadedRuleSet, RuleBook
from .schema import Cause, RuleSet
from .yamlsource import paused_gc
from .tables import (IMMUTABLE_TABLES, ChainHeadRow, ContractRow, ContractVersionRow, DocumentLineRow, DocumentRow,
                     EvaluationRow, IncidentRow, InvoiceRow, IssuerRow, NumberSequenceRow, PaymentRow, RateTableRow,
                     RequestCountRow, RuleSetRow, RunRow, TicketPauseRow, TicketRow)

URL_VARIABLE = "SLABILL_DATABASE_URL"
DEFAULT_URL = "sqlite:///slabill.db"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class StoreError(SlabillError):
    """The store cannot do what was asked (a conflict, a missing row, a refused change)."""


class ImmutableRecordError(StoreError):
    """An issued document or an evaluation record cannot be changed or deleted."""


def database_url(url: str | None = None) -> str:
    """``--db``, else ``SLABILL_DATABASE_URL``, else a SQLite file in the working directory.

    >>> database_url("postgresql://u@localhost/db")
    'postgresql+psycopg://u@localhost/db'
    """
    url = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain):]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None for other databases and SQLite in memory.

    >>> sqlite_file("sqlite:///out/slabill-demo.db"), sqlite_file("sqlite://"), sqlite_file("postgresql+psycopg://h/d")
    (PosixPath('out/slabill-demo.db'), None, None)
    """
    if not url.startswith("sqlite:///"):
        return None
    name = url[len("sqlite:///"):].split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def from_us(value: int) -> datetime:
    return EPOCH + value * _MICROSECOND


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _line_of(source: str) -> int:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# --- the engine and its sessions ---------------------------------------------------------------------

def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 120})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 120000")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            # A writer takes the write lock when its transaction starts, so two writers
            # queue instead of failing half-way; a reader takes none (WAL lets it read
            # while a writer writes).
            writes = connection.get_execution_options().get("slabill_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    # The ledger relies on row locks serialising writers; under REPEATABLE READ the second
    # of two concurrent runs would fail instead of waiting, whatever the server defaults to.
    return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED")


class GuardedSession(Session):
    """A session that refuses to update or delete issued records."""


@event.listens_for(GuardedSession, "before_flush")
def _refuse_edits(session, _context, _instances) -> None:
    for row in list(session.dirty) + list(session.deleted):
        table = getattr(row, "__tablename__", None)
        if table in IMMUTABLE_TABLES and (row in session.deleted or session.is_modified(row)):
            raise ImmutableRecordError(f"{table} are never edited or deleted; issue a correcting document instead")


@event.listens_for(GuardedSession, "do_orm_execute")
def _refuse_bulk_edits(state) -> None:
    if state.is_update or state.is_delete:
        for mapper in state.all_mappers:
            if mapper.local_table.name in IMMUTABLE_TABLES:
                raise ImmutableRecordError(
                    f"{mapper.local_table.name} are never edited or deleted; issue a correcting document instead")


# --- what loading reports -----------------------------------------------------------------------------------

@dataclass
class LoadReport:
    """Rows read from files, and how many of them were new to the store."""

    read: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, read: int, added: int) -> None:
        self.read[kind] = self.read.get(kind, 0) + read
        self.added[kind] = self.added.get(kind, 0) + added


@dataclass(frozen=True)
class StoredContract:
    contract: Contract
    issuer_id: int
    issuer: Issuer


@dataclass(frozen=True)
class Latest:
    """The latest evaluation of a contract for a period, and what its documents gave."""

    evaluation_id: int
    revision: int
    input_digest: str
    ruleset_sha256: str
    record_sha256: str
    documents: tuple[DocumentRow, ...]


def incident_key(contract: str, service: str, row: Incident) -> str:
    parts = (contract, service, str(to_us(row.start)), str(to_us(row.end)), row.cause.value,
             str(to_us(row.announced_at)) if row.announced_at else "")
    return _sha256("|".join(parts))


def _chunks(values: list, size: int = 500):
    """Values a few hundred at a time: the most a query names with IN (...)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _ticket(row: TicketRow) -> Ticket:
    return Ticket(row.contract_id, row.ticket, row.priority, from_us(row.created_us),
                  from_us(row.first_response_us) if row.first_response_us is not None else None,
                  from_us(row.resolved_us) if row.resolved_us is not None else None, _line_of(row.source))


class Store:
    """A slabill database."""

    def __init__(self, url: str | None = None, *, upgrade: bool = True) -> None:
        self.url = database_url(url)
        try:
            self.engine = _make_engine(self.url)
        except Exception as exc:  # a malformed URL
            raise InputError(f"cannot open the database {self.url!r}: {exc}", field="--db") from None
        self._writer = self.engine.execution_options(slabill_write=True)
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------------------------

    def _alembic(self):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (the newest by default)."""
        from alembic import command

        config = self._alembic()
        try:
            if self.dialect == "sqlite":
                self._upgrade_sqlite(config, revision)
                return
            with self._writer.begin() as connection:
                # Two processes opening a new database must not both create it.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7301955)")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise InputError(f"cannot open the database {self.url}: {exc.orig}", field="--db") from None

    def _upgrade_sqlite(self, config, revision: str) -> None:
        """SQLite's way of changing a table: foreign keys off, rebuild, check, foreign keys on.

        SQLite alters most columns only by copying the table into a new one (Alembic's
        batch mode), and dropping the old table with foreign keys on fails as soon as
        another table refers to its rows, as document lines do to documents.  The switch
        works only outside a transaction, so it is made on the raw connection first; the
        references are checked before the transaction commits.
        """
        from alembic import command

        with self._writer.connect() as connection:
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the upgrade to {revision} would break references: {broken[:5]}")
            finally:
                raw.execute("PRAGMA foreign_keys = ON")

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # -- units of work -----------------------------------------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with GuardedSession(self._writer, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with GuardedSession(self.engine) as session:
            yield session

    # -- loading ----------------------------------------------------------------------------------------------

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
            text = _canonical(table.model_dump(mode="json", by_alias=True))
            digest = _sha256(text)
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
                      str(invoice.gross), invoice.currency)
            if known is None:
                new.append({"number": invoice.number, "contract_id": invoice.contract, "issued": invoice.issued,
                            "due": invoice.due, "net": str(invoice.net), "tax": str(invoice.tax),
                            "gross": str(invoice.gross), "currency": invoice.currency,
                            "source": f"{source}:{invoice.line}"})
            elif (known.contract_id, known.issued, known.due, known.net, known.tax, known.gross, known.currency) != values:
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
            values = {"contract_id": ticket.contract, "priority": ticket.priority, "created_us": to_us(ticket.created),
                      "first_response_us": to_us(ticket.first_response) if ticket.first_response else None,
                      "resolved_us": to_us(ticket.resolved) if ticket.resolved else None}
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
        keyed = {_sha256(f"{p.ticket}|{to_us(p.start)}|{to_us(p.end)}"): p for p in rows}
        known: set[str] = set()
        keys = list(keyed)
        for start in range(0, len(keys), 2000):
            known.update(session.exec(select(TicketPauseRow.row_key).where(TicketPauseRow.row_key.in_(keys[start:start + 2000]))))
        new = [{"row_key": key, "ticket": p.ticket, "start_us": to_us(p.start), "end_us": to_us(p.end),
                "source": f"{source}:{p.line}"} for key, p in keyed.items() if key not in known]
        if new:
            session.execute(insert(TicketPauseRow), new)
        report.count("ticket pauses", len(rows), len(new))

    def _load_payments(self, session: Session, measurements: Measurements, report: LoadReport) -> None:
        source = str(Path(measurements.folder) / "payments.csv")
        rows = [p for payments in measurements.payments.values() for p in payments]
        keyed = {_sha256(f"{p.invoice}|{p.paid_on.isoformat()}|{p.amount}"): p for p in rows}
        known: set[str] = set()
        keys = list(keyed)
        for start in range(0, len(keys), 2000):
            known.update(session.exec(select(PaymentRow.row_key).where(PaymentRow.row_key.in_(keys[start:start + 2000]))))
        new = [{"row_key": key, "invoice_number": p.invoice, "paid_on": p.paid_on, "amount": str(p.amount),
                "source": f"{source}:{p.line}"} for key, p in keyed.items() if key not in known]
        if new:
            session.execute(insert(PaymentRow), new)
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
        if not loaded:
            return
        stored = [LoadedRuleSet(RuleSet.model_validate_json(row.canonical_json), f"the store ({row.ruleset} {row.version})")
                  for row in session.exec(select(RuleSetRow))]
        RuleBook(stored + [item for item in loaded if not any(s.rules.sha256 == item.rules.sha256 for s in stored)])

    def _load_book(self, session: Session, book: Book, report: LoadReport) -> None:
        issuer = book.issuer
        terms = _canonical(issuer.model_dump(mode="json"))
        row = session.exec(select(IssuerRow).where(IssuerRow.key == issuer.key)).first()
        if row is None:
            row = IssuerRow(key=issuer.key, terms_json=terms, terms_sha256=_sha256(terms))
            session.add(row)
            session.flush()
            report.count("issuers", 1, 1)
        else:
            if row.terms_sha256 != _sha256(terms):
                # The issuer's address or contact can change; documents keep the one they were issued with.
                session.execute(update(IssuerRow).where(IssuerRow.id == row.id)
                                .values(terms_json=terms, terms_sha256=_sha256(terms)))
            report.count("issuers", 1, 0)
        issuer_id = row.id
        existing = {c.id: c for c in session.exec(select(ContractRow))}
        versions = {(v.contract_id, v.sha256) for v in session.exec(
            select(ContractVersionRow.contract_id, ContractVersionRow.sha256))}
        added = 0
        for contract in book.contracts:
            terms = _canonical(contract.model_dump(mode="json"))
            digest = _sha256(terms)
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
                             "service": service, "start_us": to_us(incident.start), "end_us": to_us(incident.end),
                             "cause": incident.cause.value,
                             "announced_us": to_us(incident.announced_at) if incident.announced_at else None,
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
                at = to_us(count.interval_start)
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

    # -- reading the book ----------------------------------------------------------------------------------------

    def issuers(self) -> dict[int, Issuer]:
        with self.reading() as session:
            return {row.id: Issuer.model_validate_json(row.terms_json) for row in session.exec(select(IssuerRow))}

    def contracts(self, ids: list[str] | None = None) -> list[StoredContract]:
        """The terms in force (the last loaded) of every contract, or of those named, in id order."""
        issuers = self.issuers()
        return [StoredContract(Contract.model_validate_json(terms), issuer_id, issuers[issuer_id])
                for issuer_id, terms in self._terms(ids)]

    def contract_heads(self) -> list[dict]:
        """Every contract's terms in force as plain data, without validating them all into models:
        enough for the monthly run to choose the active contracts and their rule sets."""
        return [{**json.loads(terms), "issuer_id": issuer_id} for issuer_id, terms in self._terms(None)]

    def _terms(self, ids: list[str] | None) -> list[tuple[int, str]]:
        # Plain columns, not ORM entities: building 100,000 pairs of entities cost seconds.
        query = select(ContractRow.issuer_id, ContractVersionRow.terms_json).join(
            ContractVersionRow, (ContractVersionRow.contract_id == ContractRow.id)
            & (ContractVersionRow.sha256 == ContractRow.current_sha256)).order_by(ContractRow.id)
        with self.reading() as session, paused_gc():
            if ids is None:
                return session.execute(query).all()
            rows = []
            for chunk in _chunks(sorted(ids)):  # sorted chunks of sorted ids: the rows stay in id order
                rows += session.execute(query.where(ContractRow.id.in_(chunk))).all()
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
            return {row.ticket: _ticket(row) for row in session.exec(select(TicketRow))}

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
        result = Measurements(folder="store")
        if not contracts:
            return result
        windows = [period.window(c.timezone) for c in contracts]
        low = to_us(min(w.start for w in windows) - margin)
        high = to_us(max(w.end for w in windows) + margin)
        ids = sorted({c.id for c in contracts})
        causes = {c.value: c for c in Cause}
        with self.reading() as session, paused_gc():
            for chunk in _chunks(ids):
                incidents = session.execute(select(
                    IncidentRow.contract_id, IncidentRow.service, IncidentRow.start_us, IncidentRow.end_us,
                    IncidentRow.cause, IncidentRow.announced_us, IncidentRow.source,
                ).where(IncidentRow.contract_id.in_(chunk), IncidentRow.start_us < high, IncidentRow.end_us > low)
                    .order_by(IncidentRow.id))
                for contract, service, start, end, cause, announced, source in incidents:
                    result.incidents.setdefault((contract, service), []).append(Incident(
                        from_us(start), from_us(end), causes[cause],
                        from_us(announced) if announced is not None else None, _line_of(source)))
                counts = session.execute(select(
                    RequestCountRow.contract_id, RequestCountRow.service, RequestCountRow.interval_us,
                    RequestCountRow.requests, RequestCountRow.errors, RequestCountRow.source,
                ).where(RequestCountRow.contract_id.in_(chunk), RequestCountRow.interval_us < high,
                        RequestCountRow.interval_us >= low).order_by(RequestCountRow.id))
                for contract, service, at, requests, errors, source in counts:
                    result.requests.setdefault((contract, service), []).append(
                        RequestCount(from_us(at), requests, errors, _line_of(source)))
                # Invoices stay relevant until paid, so all of a contract's invoices are read.
                for row in session.exec(select(InvoiceRow).where(InvoiceRow.contract_id.in_(chunk))
                                        .order_by(InvoiceRow.id)):
                    result.invoices.setdefault(row.contract_id, []).append(Invoice(
                        row.contract_id, row.number, row.issued, row.due, Decimal(row.net), Decimal(row.tax),
                        Decimal(row.gross), row.currency, _line_of(row.source)))
                # Tickets created before the period's end and not answered and resolved before
                # it began are the ones a period can judge.
                for row in session.exec(select(TicketRow).where(TicketRow.contract_id.in_(chunk),
                                                                TicketRow.created_us < high).order_by(TicketRow.id)):
                    if not (row.first_response_us is not None and row.resolved_us is not None
                            and max(row.first_response_us, row.resolved_us) < low):
                        result.tickets.setdefault(row.contract_id, []).append(_ticket(row))
            tickets = sorted({t.ticket for rows in result.tickets.values() for t in rows})
            for chunk in _chunks(tickets):
                for row in session.exec(select(TicketPauseRow).where(TicketPauseRow.ticket.in_(chunk))
                                        .order_by(TicketPauseRow.id)):
                    result.pauses.setdefault(row.ticket, []).append(
                        TicketPause(row.ticket, from_us(row.start_us), from_us(row.end_us), _line_of(row.source)))
            numbers = sorted({i.number for rows in result.invoices.values() for i in rows})
            for chunk in _chunks(numbers):
                for row in session.exec(select(PaymentRow).where(PaymentRow.invoice_number.in_(chunk))
                                        .order_by(PaymentRow.id)):
                    result.payments.setdefault(row.invoice_number, []).append(
                        Payment(row.invoice_number, row.paid_on, Decimal(row.amount), _line_of(row.source)))
        return result

    # -- runs -------------------------------------------------------------------------------------------------------

    def start_run(self, period: Period, as_of: date, started_at: datetime) -> int:
        with self.atomic() as session:
            row = RunRow(period=str(period), as_of=as_of, started_at=started_at.isoformat(timespec="seconds"))
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, summary: dict, finished_at: datetime) -> None:
        with self.atomic() as session:
            session.execute(update(RunRow).where(RunRow.id == run_id).values(
                status="done", finished_at=finished_at.isoformat(timespec="seconds"), summary_json=_canonical(summary)))

    @contextmanager
    def ledger(self) -> Iterator["Ledger"]:
        """The issuing transaction, with the audit chain's head locked."""
        with self.atomic() as session:
            query = select(ChainHeadRow).where(ChainHeadRow.id == 1)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            head = session.exec(query).one()
            ledger = Ledger(session, head.last_sha256, head.length)
            yield ledger
            ledger.write()
            if ledger.length != head.length:
                session.execute(update(ChainHeadRow).where(ChainHeadRow.id == 1).values(
                    last_sha256=ledger.head, length=ledger.length))
            ledger.flush_numbers()

    def latest(self, contract_ids: list[str], period: Period) -> dict[str, Latest]:
        """Outside a ledger: the latest evaluation per contract (for dry runs and summaries)."""
        with self.reading() as session:
            return Ledger(session, "", 0).latest(contract_ids, period)

    # -- documents ----------------------------------------------------------------------------------------------------

    def documents(self, period: str | None = None, contract: str | None = None,
                  run_id: int | None = None) -> list[DocumentRow]:
        with self.reading() as session:
            query = select(DocumentRow).order_by(DocumentRow.id)
            if period:
                query = query.where(DocumentRow.period == period)
            if contract:
                query = query.where(DocumentRow.contract_id == contract)
            if run_id is not None:
                query = query.join(EvaluationRow, EvaluationRow.id == DocumentRow.evaluation_id).where(
                    EvaluationRow.run_id == run_id)
            return list(session.exec(query))

    def document(self, number: str) -> DocumentRow | None:
        with self.reading() as session:
            return session.exec(select(DocumentRow).where(DocumentRow.number == number)).first()

    def document_lines(self, document_id: int) -> list[DocumentLineRow]:
        with self.reading() as session:
            return list(session.exec(select(DocumentLineRow).where(DocumentLineRow.document_id == document_id)
                                     .order_by(DocumentLineRow.position)))

    def evaluations(self, period: str | None = None, contract: str | None = None,
                    run_id: int | None = None) -> list[EvaluationRow]:
        with self.reading() as session:
            query = select(EvaluationRow).order_by(EvaluationRow.id)
            if period:
                query = query.where(EvaluationRow.period == period)
            if contract:
                query = query.where(EvaluationRow.contract_id == contract)
            if run_id is not None:
                query = query.where(EvaluationRow.run_id == run_id)
            return list(session.exec(query))


class Ledger:
    """The issuing transaction: numbers, records and documents, appended to the chain in order."""

    def __init__(self, session: Session, head: str, length: int) -> None:
        self.session = session
        self.head = head
        self.length = length
        self._sequences: dict[tuple[int, str, int], list[int]] = {}
        self._pending: list[tuple[dict, list[dict], int]] = []

    def latest(self, contract_ids: list[str], period: Period) -> dict[str, Latest]:
        result: dict[str, Latest] = {}
        rows: list[EvaluationRow] = []
        for start in range(0, len(contract_ids), 2000):
            chunk = contract_ids[start:start + 2000]
            rows += self.session.exec(select(EvaluationRow).where(
                EvaluationRow.period == str(period), EvaluationRow.contract_id.in_(chunk))).all()
        newest: dict[str, EvaluationRow] = {}
        for row in rows:
            if row.contract_id not in newest or row.revision > newest[row.contract_id].revision:
                newest[row.contract_id] = row
        documents: dict[str, list[DocumentRow]] = {}
        ids = list(newest)
        for start in range(0, len(ids), 2000):
            for doc in self.session.exec(select(DocumentRow).where(
                    DocumentRow.period == str(period), DocumentRow.contract_id.in_(ids[start:start + 2000]))
                    .order_by(DocumentRow.id)):
                documents.setdefault(doc.contract_id, []).append(doc)
        for contract_id, row in newest.items():
            result[contract_id] = Latest(row.id, row.revision, row.input_digest, row.ruleset_sha256,
                                         row.record_sha256, tuple(documents.get(contract_id, ())))
        return result

    def next_number(self, issuer_id: int, kind: str, year: int) -> int:
        """The next number of a gap-free sequence; the sequence row stays locked until commit."""
        key = (issuer_id, kind, year)
        if key not in self._sequences:
            query = select(NumberSequenceRow).where(NumberSequenceRow.issuer_id == issuer_id,
                                                    NumberSequenceRow.kind == kind, NumberSequenceRow.year == year)
            if self.session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            row = self.session.exec(query).first()
            if row is None:
                self.session.add(NumberSequenceRow(issuer_id=issuer_id, kind=kind, year=year, last_number=0))
                self.session.flush()
                self._sequences[key] = [0, 0]
            else:
                self._sequences[key] = [row.last_number, row.last_number]
        self._sequences[key][1] += 1
        return self._sequences[key][1]

    def flush_numbers(self) -> None:
        for (issuer_id, kind, year), (first, last) in self._sequences.items():
            if last != first:
                self.session.execute(update(NumberSequenceRow).where(
                    NumberSequenceRow.issuer_id == issuer_id, NumberSequenceRow.kind == kind,
                    NumberSequenceRow.year == year).values(last_number=last))
        self._sequences = {key: [last, last] for key, (_, last) in self._sequences.items()}

    def append(self, *, run_id: int, record_text: str, record_sha256: str, contract_id: str, period: str,
               revision: int, supersedes_id: int | None, input_digest: str, ruleset_sha256: str, credit_total: str,
               credit_status: str, documents: list[dict], issuer_id: int) -> None:
        """Queue one sealed record and its documents; ``write`` inserts the batch in order."""
        self._pending.append(({
            "run_id": run_id, "contract_id": contract_id, "period": period, "revision": revision,
            "supersedes_id": supersedes_id, "input_digest": input_digest, "ruleset_sha256": ruleset_sha256,
            "credit_total": credit_total, "credit_status": credit_status, "record_json": record_text,
            "record_sha256": record_sha256, "previous_sha256": self.head}, documents, issuer_id))
        self.head = record_sha256
        self.length += 1

    def write(self) -> None:
        """Insert the queued records, documents and lines: a few multi-row statements per batch
        instead of one statement per row (ids come back in the order of the rows)."""
        if not self._pending:
            return
        ids = self.session.execute(insert(EvaluationRow).returning(EvaluationRow.id, sort_by_parameter_order=True),
                                   [row for row, _, _ in self._pending]).scalars().all()
        documents, lines = [], []
        for evaluation_id, (_, issued, issuer_id) in zip(ids, self._pending):
            for document in issued:
                lines.append(document["lines"])
                documents.append({key: value for key, value in document.items() if key != "lines"}
                                 | {"evaluation_id": evaluation_id, "issuer_id": issuer_id})
        if documents:
            document_ids = self.session.execute(
                insert(DocumentRow).returning(DocumentRow.id, sort_by_parameter_order=True), documents).scalars().all()
            rows = [{"document_id": document_id, **line}
                    for document_id, document_lines in zip(document_ids, lines) for line in document_lines]
            if rows:
                self.session.execute(insert(DocumentLineRow), rows)
        self._pending = []


__all__ = ["Store", "Ledger", "LoadReport", "StoreError", "ImmutableRecordError", "database_url", "IntegrityError"]

"""Opening a store: the database engine, its sessions, and the schema's migrations.

SQLite file by default, PostgreSQL through the same code (``postgresql+psycopg://``).
Alembic migrations create and upgrade the schema when a store is opened.  Every unit of
work is one transaction (``atomic``); reads take none of the writers' locks (``reading``).
Issued documents and evaluation records are never updated or deleted: the session
refuses it (``ImmutableRecordError``), and database triggers (migration 0002) refuse it too.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from ..core.errors import InputError, SlabillError
from .tables import IMMUTABLE_TABLES

URL_VARIABLE = "SLABILL_DATABASE_URL"
DEFAULT_URL = "sqlite:///slabill.db"


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


def schema_head() -> str:
    """The schema revision this version of slabill creates and upgrades stores to (its newest migration)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).parent / "migrations")).get_current_head()


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


class Database:
    """A slabill database: its engine, schema and units of work."""

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

    @property
    def shareable(self) -> bool:
        """Whether other processes can open this database too (a SQLite database in memory cannot)."""
        return self.url not in ("sqlite://", "sqlite:///:memory:")

    def release_connections(self) -> None:
        """Close the pooled connections; the next unit of work opens a new one.

        Called before worker processes are forked, so that no connection is shared by two.
        """
        self.engine.dispose()

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
        from alembic.runtime.migration import MigrationContext

        with self._writer.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            connection.rollback()  # reading the revision began a transaction; the switch below needs none
            if revision == "head" and current == schema_head():
                # Nothing to upgrade, so nothing to check: a store whose references someone broke
                # by hand still opens, and audit verify says what was broken.
                return
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with connection.begin():
                    broken_before = set(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    # Only what the upgrade itself would break stops it.
                    broken = [row for row in connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                              if row not in broken_before]
                    if broken:
                        raise RuntimeError(f"the upgrade to {revision} would break references: {broken[:5]}")
            finally:
                raw.execute("PRAGMA foreign_keys = ON")

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def analyze(self, *tables: str) -> None:
        """On PostgreSQL, have the planner count these tables' rows now (ANALYZE samples them);
        SQLite's planner needs no statistics to use the indexes slabill's reads name."""
        if self.dialect != "postgresql":
            return
        with self.atomic() as session:
            session.execute(text("ANALYZE " + ", ".join(f'"{table}"' for table in tables)))

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


# --- writing many rows at once ------------------------------------------------------------------------------------

def insert_rows(session: Session, table, rows: list[dict]) -> None:
    """Add new rows in bulk, inside the session's transaction: COPY on PostgreSQL, a plain
    multi-row INSERT elsewhere.  Every row names the same columns.

    COPY takes a fifth of the time of the INSERTs it replaces on PostgreSQL, where psycopg
    spent a quarter of the run's writing composing many-row statements; on SQLite the
    table's plain INSERT, executemany'd, costs less than the ORM's bulk path.
    """
    if not rows:
        return
    session.flush()  # rows the session holds (an issuer, a rule set) go first: new rows may name them
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement = table.__table__.insert()
        for start in range(0, len(rows), 10_000):
            connection.execute(statement, rows[start:start + 10_000])
        return
    import psycopg

    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    statement = f'COPY "{table.__tablename__}" ({names}) FROM STDIN'
    raw = connection.connection.driver_connection
    try:
        with raw.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([row[column] for column in columns])
    except psycopg.Error as exc:
        # Said as SQLAlchemy says a failed INSERT (IntegrityError for a clash, and so on), so
        # that callers handle both paths alike.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def new_ids(session: Session, table, count: int) -> list[int] | None:
    """``count`` fresh ids for ``table``'s rows, in increasing order, taken from its PostgreSQL
    sequence so that rows can be COPYed with their ids known beforehand; None elsewhere."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or count == 0:
        return None
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       (table.__tablename__, count))
        return sorted(row[0] for row in cursor.fetchall())


"""Measurements are evidence: loads on the audit chain, corrections that supersede, rows that never change.

* ``loads``: each load that adds or corrects measurement rows, sealed onto the audit chain
  with the digests of what it did (``engine.store.loads``).
* Every measurement table (incidents, request counts, tickets, ticket pauses, invoices,
  payments) gets ``load_id`` (the load that added the row) and ``superseded_by`` (the load
  whose correction replaced it; NULL while current); ``incidents`` also gets ``incident``,
  the id column incidents.csv may give.
* A request interval or a ticket may now be stored more than once (a corrected row beside
  the row it replaced), but only once current: their unique constraints become partial
  unique indexes, and a pause no longer refers to its ticket by foreign key.  SQLite
  cannot drop a constraint, so those three tables are rebuilt.
* The rows a store already holds are vouched for by one load recorded now, sealed onto
  the chain after the last record ("rows stored before loads were recorded").
* Triggers refuse DELETE on both tables and every UPDATE but the superseding mark
  (``superseded_by`` from NULL to a load), and refuse any change to ``loads``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

* The chain's head (guarded by 0009 to move only to the newest record) may also move to a
  load appended after it: one entry, linked to the head it follows.  Evaluations get an
  index on the hash they follow, which the guard uses to count the records a run added.
* On SQLite, REPLACE and INSERT OR REPLACE over a stored measurement row or load are
  refused, as 0009 refuses them over records (a REPLACE deletes without firing DELETE
  triggers); on PostgreSQL, TRUNCATE of loads is refused.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GUARDED = {
    # table: every column but superseded_by, which alone may change (once, from NULL)
    "incidents": ("id", "row_key", "contract_id", "service", "start_us", "end_us", "cause", "announced_us", "source",
                  "impact", "incident", "load_id"),
    "request_counts": ("id", "contract_id", "service", "interval_us", "requests", "errors", "source", "load_id"),
    "tickets": ("id", "ticket", "contract_id", "priority", "created_us", "first_response_us", "resolved_us", "source",
                "load_id"),
    "ticket_pauses": ("id", "row_key", "ticket", "start_us", "end_us", "source", "load_id"),
    "invoices": ("id", "number", "contract_id", "issued", "due", "net", "tax", "gross", "currency", "source", "period",
                 "load_id"),
    "payments": ("id", "row_key", "invoice_number", "paid_on", "amount", "source", "load_id"),
}

REBUILT = {
    # SQLite: tables whose constraints change, rebuilt (columns as 0001-0007 made them, plus the two of 0010)
    "request_counts": """id INTEGER NOT NULL, contract_id VARCHAR(100) NOT NULL, service VARCHAR(100) NOT NULL,
        interval_us BIGINT NOT NULL, requests BIGINT NOT NULL, errors BIGINT NOT NULL, source VARCHAR(500) NOT NULL,
        load_id INTEGER, superseded_by INTEGER, PRIMARY KEY (id)""",
    "tickets": """id INTEGER NOT NULL, ticket VARCHAR(100) NOT NULL, contract_id VARCHAR(100) NOT NULL,
        priority VARCHAR(50) NOT NULL, created_us BIGINT NOT NULL, first_response_us BIGINT, resolved_us BIGINT,
        source VARCHAR(500) NOT NULL, load_id INTEGER, superseded_by INTEGER, PRIMARY KEY (id)""",
    "ticket_pauses": """id INTEGER NOT NULL, row_key VARCHAR(64) NOT NULL, ticket VARCHAR(100) NOT NULL,
        start_us BIGINT NOT NULL, end_us BIGINT NOT NULL, source VARCHAR(500) NOT NULL, load_id INTEGER,
        superseded_by INTEGER, PRIMARY KEY (id), UNIQUE (row_key)""",
}


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_json", sa.Text(), nullable=False),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.Column("previous_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_sha256"),
    )
    op.add_column("incidents", sa.Column("incident", sa.String(length=100), nullable=True))
    for table in ("incidents", "invoices", "payments"):
        op.add_column(table, sa.Column("load_id", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("superseded_by", sa.Integer(), nullable=True))
    if postgres:
        # A pause names its ticket by id, which is no longer unique (a ticket's earlier rows are kept).
        for key in sa.inspect(bind).get_foreign_keys("ticket_pauses"):
            op.drop_constraint(key["name"], "ticket_pauses", type_="foreignkey")
        for table in REBUILT:
            op.add_column(table, sa.Column("load_id", sa.Integer(), nullable=True))
            op.add_column(table, sa.Column("superseded_by", sa.Integer(), nullable=True))
        for table in ("request_counts", "tickets"):
            for constraint in sa.inspect(bind).get_unique_constraints(table):
                op.drop_constraint(constraint["name"], table, type_="unique")
    else:
        for table, columns in REBUILT.items():
            kept = ", ".join(c for c in GUARDED[table] if c != "load_id")
            op.execute(f"CREATE TABLE {table}_0010 ({columns})")
            op.execute(f"INSERT INTO {table}_0010 ({kept}) SELECT {kept} FROM {table}")
            op.execute(f"DROP TABLE {table}")
            op.execute(f"ALTER TABLE {table}_0010 RENAME TO {table}")
        op.create_index("ix_tickets_contract", "tickets", ["contract_id", "created_us"])
    for table in GUARDED:
        op.create_index(f"ix_{table}_load_id", table, ["load_id"])
    op.create_index("ux_request_counts_current", "request_counts", ["contract_id", "service", "interval_us"],
                    unique=True, sqlite_where=sa.text("superseded_by IS NULL"),
                    postgresql_where=sa.text("superseded_by IS NULL"))
    op.create_index("ux_tickets_current", "tickets", ["ticket"], unique=True,
                    sqlite_where=sa.text("superseded_by IS NULL"), postgresql_where=sa.text("superseded_by IS NULL"))
    op.create_index("ix_evaluations_previous", "evaluations", ["previous_sha256"])
    _chain_guard(postgres, CHAIN_MOVES)
    _vouch_for_stored_rows(bind)
    _guard(postgres)


# The head moves to the newest record by the records added since it (a run's batch), or by
# one load that follows it (a load).  0009's rule knew records only.
_RECORDS_ADDED = ("(SELECT count(*) FROM evaluations WHERE id >= coalesce((SELECT min(id) FROM evaluations "
                  "WHERE previous_sha256 = OLD.last_sha256), 9223372036854775807))")
_NEWEST_RECORD = "(SELECT record_sha256 FROM evaluations ORDER BY id DESC LIMIT 1)"
CHAIN_MOVES = (f"(NEW.last_sha256 = {_NEWEST_RECORD} AND NEW.length = OLD.length + {_RECORDS_ADDED}) "
               "OR (NEW.length = OLD.length + 1 AND EXISTS (SELECT 1 FROM loads WHERE "
               "loads.entry_sha256 = NEW.last_sha256 AND loads.previous_sha256 = OLD.last_sha256))")
CHAIN_MOVES_0009 = (f"NEW.last_sha256 = {_NEWEST_RECORD} AND NEW.length = OLD.length + (SELECT count(*) FROM "
                    "evaluations WHERE id > coalesce((SELECT id FROM evaluations WHERE record_sha256 = "
                    "OLD.last_sha256), 0))")
MESSAGE = "slabill: audit_chain move refused: its head only moves to the newest record, by the records added"
_SQLITE_KEYS = {
    # table: what a REPLACE would clash on (its id and its unique keys)
    "incidents": ("id", "row_key"),
    "request_counts": ("id", "contract_id = NEW.contract_id AND service = NEW.service AND interval_us = NEW.interval_us "
                             "AND superseded_by IS NULL AND NEW.superseded_by IS NULL"),
    "tickets": ("id", "ticket = NEW.ticket AND superseded_by IS NULL AND NEW.superseded_by IS NULL"),
    "ticket_pauses": ("id", "row_key"),
    "invoices": ("id", "number"), "payments": ("id", "row_key"), "loads": ("id", "entry_sha256"),
}


def _chain_guard(postgres: bool, moves: str) -> None:
    if postgres:
        op.execute(f"""
            CREATE OR REPLACE FUNCTION slabill_chain_guard() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'slabill: DELETE on audit_chain refused: the chain''s head is never removed'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF NEW.id <> OLD.id OR NEW.length < OLD.length OR NOT coalesce({moves}, false) THEN
                    RAISE EXCEPTION 'slabill: audit_chain moved to % records refused: its head only moves to the '
                        'newest record, by the records added', NEW.length
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql
        """)
        return
    op.execute("DROP TRIGGER audit_chain_forward")
    op.execute(f"CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain WHEN NEW.id <> OLD.id "
               f"OR NEW.length < OLD.length OR NOT coalesce({moves}, 0) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _vouch_for_stored_rows(bind) -> None:
    """One load, sealed onto the chain, for the rows stored before loads were recorded."""
    from engine.store.loads import MEASURED, file_entry, load_entry

    files = {}
    for table, (name, columns) in MEASURED.items():
        rows = bind.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")).all()
        if rows:
            files[name] = {**file_entry(table, rows, []), "stored_before_loads_were_recorded": True}
    if not files:
        return
    head = bind.execute(sa.text("SELECT last_sha256, length FROM audit_chain WHERE id = 1")).one()
    text, digest = load_entry(1, files, head.last_sha256)
    bind.execute(sa.text("INSERT INTO loads (id, entry_json, entry_sha256, previous_sha256) "
                         "VALUES (1, :text, :digest, :previous)"),
                 {"text": text, "digest": digest, "previous": head.last_sha256})
    bind.execute(sa.text("UPDATE audit_chain SET last_sha256 = :digest, length = :length WHERE id = 1"),
                 {"digest": digest, "length": head.length + 1})
    for table in MEASURED:
        bind.execute(sa.text(f"UPDATE {table} SET load_id = 1"))


def _guard(postgres: bool) -> None:
    if postgres:
        op.execute("""
            CREATE FUNCTION slabill_guard_measurement() RETURNS trigger AS $$
            DECLARE
                mark integer;
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL THEN
                    mark := NEW.superseded_by;
                    NEW.superseded_by := NULL;
                    IF NEW IS NOT DISTINCT FROM OLD THEN
                        NEW.superseded_by := mark;
                        RETURN NEW;
                    END IF;
                END IF;
                RAISE EXCEPTION 'slabill: % on % refused: measurements are corrected by loading, never edited',
                    TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
            END
            $$ LANGUAGE plpgsql
        """)
        for table in GUARDED:
            op.execute(f"CREATE TRIGGER {table}_guarded BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION slabill_guard_measurement()")
        op.execute("CREATE TRIGGER loads_immutable BEFORE UPDATE OR DELETE ON loads "
                   "FOR EACH ROW EXECUTE FUNCTION slabill_refuse_change()")
        op.execute("CREATE TRIGGER loads_no_truncate BEFORE TRUNCATE ON loads "
                   "FOR EACH STATEMENT EXECUTE FUNCTION slabill_refuse_truncate()")
        return
    for table, keys in _SQLITE_KEYS.items():
        clash = " OR ".join(f"({key})" if " " in key else f"{key} = NEW.{key}" for key in keys)
        op.execute(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) BEGIN SELECT RAISE(ABORT, "
                   f"'slabill: INSERT over a stored row of {table} refused: evidence is never replaced'); END")
    for table, columns in GUARDED.items():
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"WHEN NOT (OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL AND {unchanged}) "
                   f"BEGIN SELECT RAISE(ABORT, 'slabill: UPDATE on {table} refused: "
                   "measurements are corrected by loading, never edited'); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, 'slabill: DELETE on {table} refused: "
                   "measurements are corrected by loading, never edited'); END")
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER loads_no_{action.lower()} BEFORE {action} ON loads "
                   f"BEGIN SELECT RAISE(ABORT, 'slabill: {action} on loads refused: "
                   "issued records are never edited or deleted'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER {table}_guarded ON {table}")
        op.execute("DROP TRIGGER loads_immutable ON loads")
        op.execute("DROP FUNCTION slabill_guard_measurement()")
    else:
        for table in GUARDED:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER loads_no_{action}")
        for table in _SQLITE_KEYS:
            op.execute(f"DROP TRIGGER {table}_no_replace")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER loads_no_truncate ON loads")
    _chain_guard(bind.dialect.name == "postgresql", CHAIN_MOVES_0009)
    op.drop_index("ix_evaluations_previous", table_name="evaluations")
    # Superseded rows go with the columns that say so; the current ones are what the store held.
    # (The chain keeps the loads' entries' hashes: a store downgraded past 0010 no longer verifies.)
    for table in GUARDED:
        op.execute(f"DELETE FROM {table} WHERE superseded_by IS NOT NULL")
        op.drop_index(f"ix_{table}_load_id", table_name=table)
    op.drop_index("ux_request_counts_current", table_name="request_counts")
    op.drop_index("ux_tickets_current", table_name="tickets")
    for table in GUARDED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("superseded_by")
            batch.drop_column("load_id")
            if table == "incidents":
                batch.drop_column("incident")
            if table == "request_counts":
                batch.create_unique_constraint("uq_request_counts_interval", ["contract_id", "service", "interval_us"])
            if table == "tickets":
                batch.create_unique_constraint("uq_tickets_ticket", ["ticket"])
    op.drop_table("loads")

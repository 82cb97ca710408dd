"""Measurements are evidence: loads on the audit chain, corrections that supersede, rows that never change.

* ``loads``: each load that adds or corrects measurement rows, sealed onto the audit chain
  with the digests of what it did (``engine.store.loads``).
* ``incidents`` and ``request_counts`` get ``load_id`` (the load that added the row) and
  ``superseded_by`` (the load whose correction replaced it; NULL while current);
  ``incidents`` also gets ``incident``, the id column incidents.csv may give.
* A request interval may now be stored more than once (a corrected count beside the row
  it replaced), but only once current: the unique constraint becomes a partial unique
  index.  SQLite cannot drop a constraint, so the table is rebuilt.
* The rows a store already holds are vouched for by one load recorded now, sealed onto
  the chain after the last record ("rows stored before loads were recorded").
* Triggers refuse DELETE on both tables and every UPDATE but the superseding mark
  (``superseded_by`` from NULL to a load), and refuse any change to ``loads``.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06

Numbered 0010 and chained after 0008 on its branch; the lead re-chains it after 0009 (the
evidence branch's migration) at merge.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

GUARDED = {
    # table: every column but superseded_by, which alone may change (once, from NULL)
    "incidents": ("id", "row_key", "contract_id", "service", "start_us", "end_us", "cause", "announced_us", "source",
                  "impact", "incident", "load_id"),
    "request_counts": ("id", "contract_id", "service", "interval_us", "requests", "errors", "source", "load_id"),
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
    op.add_column("incidents", sa.Column("load_id", sa.Integer(), nullable=True))
    op.add_column("incidents", sa.Column("superseded_by", sa.Integer(), nullable=True))
    op.create_index("ix_incidents_load_id", "incidents", ["load_id"])
    if postgres:
        op.add_column("request_counts", sa.Column("load_id", sa.Integer(), nullable=True))
        op.add_column("request_counts", sa.Column("superseded_by", sa.Integer(), nullable=True))
        for constraint in sa.inspect(bind).get_unique_constraints("request_counts"):
            op.drop_constraint(constraint["name"], "request_counts", type_="unique")
    else:
        op.execute("""
            CREATE TABLE request_counts_0010 (
                id INTEGER NOT NULL, contract_id VARCHAR(100) NOT NULL, service VARCHAR(100) NOT NULL,
                interval_us BIGINT NOT NULL, requests BIGINT NOT NULL, errors BIGINT NOT NULL,
                source VARCHAR(500) NOT NULL, load_id INTEGER, superseded_by INTEGER, PRIMARY KEY (id))
        """)
        op.execute("INSERT INTO request_counts_0010 (id, contract_id, service, interval_us, requests, errors, source) "
                   "SELECT id, contract_id, service, interval_us, requests, errors, source FROM request_counts")
        op.execute("DROP TABLE request_counts")
        op.execute("ALTER TABLE request_counts_0010 RENAME TO request_counts")
    op.create_index("ix_request_counts_load_id", "request_counts", ["load_id"])
    op.create_index("ux_request_counts_current", "request_counts", ["contract_id", "service", "interval_us"],
                    unique=True, sqlite_where=sa.text("superseded_by IS NULL"),
                    postgresql_where=sa.text("superseded_by IS NULL"))
    _vouch_for_stored_rows(bind)
    _guard(postgres)


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
        return
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
    # Superseded rows go with the columns that say so; the current ones are what the store held.
    op.execute("DELETE FROM incidents WHERE superseded_by IS NOT NULL")
    op.execute("DELETE FROM request_counts WHERE superseded_by IS NOT NULL")
    op.drop_index("ux_request_counts_current", table_name="request_counts")
    op.drop_index("ix_request_counts_load_id", table_name="request_counts")
    op.drop_index("ix_incidents_load_id", table_name="incidents")
    with op.batch_alter_table("request_counts") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("load_id")
        batch.create_unique_constraint("uq_request_counts_interval", ["contract_id", "service", "interval_us"])
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("load_id")
        batch.drop_column("incident")
    op.drop_table("loads")

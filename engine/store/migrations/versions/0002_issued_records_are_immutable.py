"""Issued records are immutable: triggers refuse UPDATE and DELETE on them.

Evaluation records, documents and document lines are written once.  The store's
session already refuses to change them; these triggers make the database refuse it
too, whoever connects (PostgreSQL through a PL/pgSQL function, SQLite with RAISE).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("evaluations", "documents", "document_lines")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION slabill_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'slabill: % on % refused: issued records are never edited or deleted',
                    TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
            END
            $$ LANGUAGE plpgsql
        """)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION slabill_refuse_change()")
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'slabill: {action} on {table} refused: "
                           f"issued records are never edited or deleted'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
        op.execute("DROP FUNCTION slabill_refuse_change()")
    else:
        for table in TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")

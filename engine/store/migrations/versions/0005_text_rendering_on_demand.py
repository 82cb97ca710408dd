"""The plain-text rendering of a document is a view made on demand: its hash may be absent.

At issue slabill renders the HTML, the document the customer receives, and stores its
sha256; rendering the text too doubled the cost of issuing without adding a document.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # documents is guarded by triggers against UPDATE and DELETE; altering a column's
    # nullability changes no row.  SQLite rebuilds the table in batch mode, which would
    # copy rows, so its triggers are dropped and recreated around the rebuild.
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER documents_no_{action}")
        with op.batch_alter_table("documents") as batch:
            batch.alter_column("text_sha256", existing_type=sa.String(length=64), nullable=True)
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER documents_no_{action.lower()} BEFORE {action} ON documents "
                       f"BEGIN SELECT RAISE(ABORT, 'slabill: {action} on documents refused: "
                       f"issued records are never edited or deleted'); END")
    else:
        op.alter_column("documents", "text_sha256", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    pass  # making the column required again would refuse documents issued since

"""E-documents: the invoice a document credits, the XML issued with it, and PDF renditions.

* ``invoices.period``: the service period an invoice bills (invoices.csv's new optional
  column), so that a credit note names the invoice it credits (EN 16931 BT-25/BT-26).
* ``documents.e_invoice`` and ``documents.xml_sha256``: the structured channel of the
  customer (facturx, ubl, peppol, fr_ctc) and the sha256 of the XML rendered at issue.
  Documents issued before have neither: they were issued as HTML (and text) only.
* ``document_renditions``: a PDF is rendered on demand, deterministically; the sha256 of
  the bytes first handed out is kept here, sealed to the document's content, so that a
  PDF can be checked against what was issued.  Like documents, never changed.

Adding nullable columns changes no row, so documents' triggers stay as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("period", sa.String(length=7), nullable=True))
    op.add_column("documents", sa.Column("e_invoice", sa.String(length=20), nullable=True))
    op.add_column("documents", sa.Column("xml_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "document_renditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("producer", sa.String(length=200), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "format"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER document_renditions_immutable BEFORE UPDATE OR DELETE ON document_renditions "
                   "FOR EACH ROW EXECUTE FUNCTION slabill_refuse_change()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER document_renditions_no_{action.lower()} BEFORE {action} ON "
                       f"document_renditions BEGIN SELECT RAISE(ABORT, 'slabill: {action} on document_renditions "
                       f"refused: issued records are never edited or deleted'); END")


def downgrade() -> None:
    op.drop_table("document_renditions")
    op.drop_column("documents", "xml_sha256")
    op.drop_column("documents", "e_invoice")
    op.drop_column("invoices", "period")

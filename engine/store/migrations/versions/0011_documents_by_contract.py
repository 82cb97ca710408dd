"""Documents found by contract and period: an index the monthly run's reads need at scale.

Each batch of a run reads the documents already issued to its contracts for the period
(``Ledger.latest``), and so do ``audit verify`` (what a correcting record corrects) and
``replay``.  Without an index on (contract_id, period) each of those reads scanned every
document: harmless at a few thousand, but a run of a period already partly recorded on a
store of 1,000,000 contracts spent minutes per batch in PostgreSQL's parallel scans.  An
index only: no stored row changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_contract_period", "documents", ["contract_id", "period"])


def downgrade() -> None:
    op.drop_index("ix_documents_contract_period", table_name="documents")

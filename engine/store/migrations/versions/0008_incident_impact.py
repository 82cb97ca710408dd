"""Incidents may affect part of a service: the ``impact`` column of incidents.csv (INTERFACE.md 6.1).

NULL means the whole service (100 %), which every incident stored before was.  The column
is added, never filled in: no stored row changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08

(Numbered 0008 and chained after the head of its branch, 0009; the migrations are re-chained
when branches are merged.)
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("impact", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("incidents", "impact")

"""Support tickets and the pauses in which they waited on the customer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=50), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("first_response_us", sa.BigInteger(), nullable=True),
        sa.Column("resolved_us", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket"),
    )
    op.create_index("ix_tickets_contract", "tickets", ["contract_id", "created_us"])
    op.create_table(
        "ticket_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=100), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["ticket"], ["tickets.ticket"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("row_key"),
    )


def downgrade() -> None:
    op.drop_table("ticket_pauses")
    op.drop_index("ix_tickets_contract", table_name="tickets")
    op.drop_table("tickets")

"""Pending registrations: a sign-up becomes an account only once its address is confirmed.

Revision ID: e2a7c9d1f5b8
Revises: d8f4a2c6e1b3
Create Date: 2026-12-03 09:15:00
"""

import sqlalchemy as sa
from alembic import op

from discuss.models import UTCDateTime

revision = "e2a7c9d1f5b8"
down_revision = "d8f4a2c6e1b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_registrations")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_pending_registrations_created_at"), "pending_registrations",
                    ["created_at"])
    op.create_index(op.f("ix_pending_registrations_email_key"), "pending_registrations",
                    ["email_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_registrations_email_key"), table_name="pending_registrations")
    op.drop_index(op.f("ix_pending_registrations_created_at"),
                  table_name="pending_registrations")
    op.drop_table("pending_registrations")

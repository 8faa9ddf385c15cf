"""Index the admins alone: a guest's post compares its name with the staff's without reading
every account.

Revision ID: a3e5c7f9b1d2
Revises: c4d20a7e9f31
Create Date: 2026-12-03 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a3e5c7f9b1d2"
down_revision = "c4d20a7e9f31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_admins", "users", ["id"], sqlite_where=sa.text("is_admin = 1"),
                    postgresql_where=sa.text("is_admin"))


def downgrade() -> None:
    op.drop_index("ix_users_admins", table_name="users")

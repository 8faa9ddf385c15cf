"""A site's default language: its pages' language for readers whose browser names none.

Revision ID: b7e1f0c4a2d9
Revises: b18e4a7c2d51
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7e1f0c4a2d9"
down_revision = "b18e4a7c2d51"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=False,
                                   server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("language")

"""Index a guest's comments by their browser key and thread (the personal part of a page).

Revision ID: c4d20a7e9f31
Revises: d6a1c3e5f7b9
Create Date: 2026-12-03 12:50:00
"""

from alembic import op

revision = "c4d20a7e9f31"
down_revision = "d6a1c3e5f7b9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_comments_guest_key", "comments", ["guest_key_hash", "thread_id"])


def downgrade() -> None:
    op.drop_index("ix_comments_guest_key", table_name="comments")

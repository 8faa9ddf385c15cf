"""Index comments by (site, body hash) for the duplicate-post guard.

Without it the guard read every comment of the site on each post.

Revision ID: 7d41c2b9e0a5
Revises: 2c8af6c66c82
Create Date: 2026-11-30 23:30:00
"""

from alembic import op

revision = "7d41c2b9e0a5"
down_revision = "2c8af6c66c82"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_comments_site_body_hash", "comments", ["site_id", "body_hash"])


def downgrade() -> None:
    op.drop_index("ix_comments_site_body_hash", table_name="comments")

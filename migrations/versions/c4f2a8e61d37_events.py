"""Events: what happened to each comment (created, approved, deleted), for mail, live updates
and webhooks; ids never reused (a live stream resumes after the last id it saw).

Revision ID: c4f2a8e61d37
Revises: b3e91f4a2c10
Create Date: 2026-12-03 12:45:00
"""

import sqlalchemy as sa
from alembic import op

from discuss.models import UTCDateTime

revision = "c4f2a8e61d37"
down_revision = "b3e91f4a2c10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"],
                                name=op.f("fk_events_comment_id_comments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_events_site_id_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"],
                                name=op.f("fk_events_thread_id_threads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_thread_id", "events", ["thread_id", "id"], unique=False)
    op.create_index(op.f("ix_events_comment_id"), "events", ["comment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_events_comment_id"), table_name="events")
    op.drop_index("ix_events_thread_id", table_name="events")
    op.drop_table("events")

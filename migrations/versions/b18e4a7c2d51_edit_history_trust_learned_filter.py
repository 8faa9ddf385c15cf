"""Edit history, earned trust and the learned spam filter.

Every edit keeps the text it replaced (comment_edits); sites say after how many approved
comments an author is trusted (trust_after) and how their learned filter acts (spam_filter,
spam_threshold); moderators' decisions and imported statuses become the filter's examples
(spam_examples), and each site's trained filter is kept, versioned, in spam_filters.

Revision ID: b18e4a7c2d51
Revises: 7d41c2b9e0a5
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import discuss.models

revision = "b18e4a7c2d51"
down_revision = "7d41c2b9e0a5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trust_after", sa.Integer(), nullable=False,
                                      server_default="1"))
        batch_op.add_column(sa.Column("spam_filter", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column("spam_threshold", sa.Float(), nullable=False,
                                      server_default="0.9"))

    op.create_table(
        "comment_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("written_at", discuss.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", discuss.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_moderator", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"],
                                name=op.f("fk_comment_edits_comment_id_comments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_edits")),
    )
    with op.batch_alter_table("comment_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comment_edits_comment_id"), ["comment_id"],
                              unique=False)

    op.create_table(
        "spam_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("is_spam", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", discuss.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"],
                                name=op.f("fk_spam_examples_comment_id_comments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_spam_examples_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spam_examples")),
    )
    with op.batch_alter_table("spam_examples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spam_examples_comment_id"), ["comment_id"],
                              unique=False)
        batch_op.create_index("ix_spam_examples_site", ["site_id", "id"], unique=False)

    op.create_table(
        "spam_filters",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_example_id", sa.Integer(), nullable=False),
        sa.Column("ham_count", sa.Integer(), nullable=False),
        sa.Column("spam_count", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", discuss.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_spam_filters_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_spam_filters")),
    )


def downgrade() -> None:
    op.drop_table("spam_filters")
    with op.batch_alter_table("spam_examples", schema=None) as batch_op:
        batch_op.drop_index("ix_spam_examples_site")
        batch_op.drop_index(batch_op.f("ix_spam_examples_comment_id"))
    op.drop_table("spam_examples")
    with op.batch_alter_table("comment_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_edits_comment_id"))
    op.drop_table("comment_edits")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("spam_threshold")
        batch_op.drop_column("spam_filter")
        batch_op.drop_column("trust_after")

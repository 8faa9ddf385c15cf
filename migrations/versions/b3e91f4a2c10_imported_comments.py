"""Remember which comment an import made of another service's comment (imports are idempotent).

Revision ID: b3e91f4a2c10
Revises: e2a7c9d1f5b8
Create Date: 2026-12-03 09:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b3e91f4a2c10"
down_revision = "e2a7c9d1f5b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_comments",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=300), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"],
                                name=op.f("fk_imported_comments_comment_id_comments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_imported_comments_site_id_sites"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "source", "source_id",
                                name=op.f("pk_imported_comments")),
    )
    op.create_index(op.f("ix_imported_comments_comment_id"), "imported_comments",
                    ["comment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_imported_comments_comment_id"), table_name="imported_comments")
    op.drop_table("imported_comments")

"""Single sign-on: a site's SSO secret, per-site users (site, external id), used token ids.

Revision ID: b3e9d4a17c20
Revises: b7e1f0c4a2d9
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from discuss.models import UTCDateTime

revision = "b3e9d4a17c20"
down_revision = "b7e1f0c4a2d9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("sso_secret", sa.String(200), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(255), nullable=True))
        batch.create_foreign_key("fk_users_site_id_sites", "sites", ["site_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_unique_constraint("uq_users_site_external_id", ["site_id", "external_id"])
    op.create_table(
        "used_sso_tokens",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("jti_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_used_sso_tokens_site_id_sites",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "jti_hash", name="pk_used_sso_tokens"),
    )
    op.create_index("ix_used_sso_tokens_expires_at", "used_sso_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_sso_tokens_expires_at", table_name="used_sso_tokens")
    op.drop_table("used_sso_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_site_external_id", type_="unique")
        batch.drop_constraint("fk_users_site_id_sites", type_="foreignkey")
        batch.drop_column("external_id")
        batch.drop_column("site_id")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("sso_secret")

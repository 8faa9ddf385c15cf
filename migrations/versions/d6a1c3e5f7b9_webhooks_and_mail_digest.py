"""Webhooks (a site's URL and secret, the deliveries' outbox), one-click unsubscribe of
notification mail, and the moderators' daily queue digest.

Revision ID: d6a1c3e5f7b9
Revises: c4f2a8e61d37
Create Date: 2026-12-03 12:40:00
"""

import sqlalchemy as sa
from alembic import op

from discuss.models import UTCDateTime

revision = "d6a1c3e5f7b9"
down_revision = "c4f2a8e61d37"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(2048), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("webhook_secret", sa.String(200), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("queue_digest", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("queue_digest_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("list_unsubscribe", sa.String(2048), nullable=False,
                                   server_default=""))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.String(36), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.Enum("pending", "delivered", "failed", name="delivery_state",
                                   native_enum=False, create_constraint=True, length=16),
                  nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_webhook_deliveries_site_id_sites"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("delivery", name=op.f("uq_webhook_deliveries_delivery")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries",
                    ["state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_site", "webhook_deliveries", ["site_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_site", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("list_unsubscribe")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("queue_digest_at")
        batch.drop_column("queue_digest")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_url")

"""Never reuse ids on SQLite: every table with a surrogate id gets AUTOINCREMENT.

Without it SQLite hands the largest id out again once its row is deleted, so a new account
inherited a deleted one's id, and with it the bans and mailed links naming that id. SQLite
cannot add AUTOINCREMENT to a table, so each is rebuilt (batch mode: copy, drop, rename);
migrations/env.py turns foreign-key enforcement off while it runs, so dropping the old table
cascades nowhere, and checks every reference afterwards. PostgreSQL's sequences never go back:
nothing to do there.

Revision ID: b5e3f1a9c2d4
Revises: b3e9d4a17c20
Create Date: 2026-12-03 09:00:00
"""

from alembic import op

revision = "b5e3f1a9c2d4"
down_revision = "b3e9d4a17c20"
branch_labels = None
depends_on = None

TABLES = ("sites", "users", "threads", "comments", "reports", "auth_tokens", "bans",
          "audit_log", "outbox")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)

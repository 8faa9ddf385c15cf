"""Site origins are scheme://host[:port] only: drop stored ones that are not.

Origins were accepted with '*', spaces and quotes, and they go into the Content-Security-
Policy header (frame-ancestors). Such a value never named one embedding page; it is removed
and reported here (a site left with no origin may be embedded anywhere, as before it had any).
The pattern is the one of discuss.sites.ORIGIN_RE at the time of this revision.

Revision ID: d8f4a2c6e1b3
Revises: b5e3f1a9c2d4
Create Date: 2026-12-03 09:30:00
"""

import json
import logging
import re

import sqlalchemy as sa
from alembic import op

revision = "d8f4a2c6e1b3"
down_revision = "b5e3f1a9c2d4"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
ORIGIN_RE = re.compile(
    rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]{{2,45}}\])(?::[0-9]{{1,5}})?")
sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("slug", sa.String),
                 sa.column("origins", sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    for site_id, slug, origins in connection.execute(
            sa.select(sites.c.id, sites.c.slug, sites.c.origins)).all():
        if isinstance(origins, str):
            origins = json.loads(origins)
        kept = [o for o in origins or [] if isinstance(o, str) and ORIGIN_RE.fullmatch(o)]
        if kept != (origins or []):
            dropped = [o for o in origins or [] if o not in kept]
            log.warning("site %s: removed origins that are not scheme://host[:port]: %r",
                        slug, dropped)
            connection.execute(sa.update(sites).where(sites.c.id == site_id)
                               .values(origins=kept))


def downgrade() -> None:
    pass  # the removed values were never usable origins

"""What the Atom feeds list: a site's or a thread's latest published comments.

Published means approved and not shadowed (what every reader sees); never a pending, spam,
rejected or deleted comment. One query, with each comment's author and thread. Reads only;
the XML is built at the web edge (``discuss.web.feeds``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from discuss.extensions import db
from discuss.models import Comment, Site, Status, Thread

FEED_SIZE = 50


def latest_comments(site: Site, thread: Thread | None = None,
                    limit: int = FEED_SIZE) -> list[Comment]:
    """The newest published comments of the site (or of one of its threads), newest first."""
    query = (select(Comment)
             .options(joinedload(Comment.author), joinedload(Comment.thread))
             .where(Comment.site_id == site.id, Comment.status == Status.APPROVED,
                    Comment.shadowed.is_(False)))
    if thread is not None:
        query = query.where(Comment.thread_id == thread.id)
    return list(db.session.scalars(
        query.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)))

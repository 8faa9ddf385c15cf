"""Deep links: which page of a thread holds a comment (``#comment-N`` past the first page).

A link to a comment names only its id. ``page_cursor_for`` answers with the keyset cursor of the
page that begins with the comment's top-level ancestor, or None when that ancestor is on the
first page (or the comment is not one the viewer may see in this thread): the thread page then
opens there, with a link back to the first comments.
"""

from __future__ import annotations

from sqlalchemy import and_, not_, select

from discuss.comments import (
    _ORDERS,
    SORTS,
    _after,
    _encode_cursor,
    _is_visible,
    listed_roots,
)
from discuss.extensions import db
from discuss.models import Comment, Thread
from discuss.permissions import Actor


def page_cursor_for(thread: Thread, actor: Actor, comment_id: int, *, sort: str,
                    page_size: int, secret: str) -> str | None:
    """The cursor of the page that starts at the comment's thread root, if not the first."""
    if sort not in SORTS:
        return None
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.thread_id != thread.id or not _is_visible(comment, actor):
        return None
    root = comment if comment.root_id in (None, comment.id) else db.session.get(
        Comment, comment.root_id)
    if root is None:
        return None
    columns = _ORDERS[sort]
    values = [getattr(root, column.key) for column, _ in columns]
    # The roots listed before this one, nearest first; fewer than a page: it is on the first.
    before = list(db.session.scalars(
        select(Comment).where(*listed_roots(thread, actor),
                              and_(not_(_after(columns, values)), Comment.id != root.id))
        .order_by(*[c.asc() if desc else c.desc() for c, desc in columns])
        .limit(page_size)
    ))
    if len(before) < page_size:
        return None
    return _encode_cursor(secret, sort, thread.id, before[0])

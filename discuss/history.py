"""Edit history: every edit keeps the text it replaced, and moderators can see what changed.

Owns ``record_edit`` (called by the edit itself, in the same transaction), reading a comment's
versions (``versions_of``, ``versions_by_comment`` for a queue page in one query) and the word
diff between two versions as plain (kind, text) pieces that a template escapes like any text.
Who may read a history is decided here too: the site's moderators, and the comment's author.
Flushes, never commits; never reads the request.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from discuss.errors import Forbidden, NotSignedIn
from discuss.extensions import db
from discuss.models import Comment, CommentEdit
from discuss.permissions import Actor

# Words and the spaces between them: a diff in words reads better than one in characters and
# keeps line breaks where the author put them.
_TOKENS = re.compile(r"\s+|\S+")


@dataclass(frozen=True)
class Version:
    """One text a comment had: the body, when it was written, whether a moderator wrote it,
    and when an edit replaced it (the current text is the last version)."""

    body: str
    written_at: datetime
    by_moderator: bool
    replaced_at: datetime | None = None  # None: the current text


def record_edit(comment: Comment, *, now: datetime) -> CommentEdit:
    """Keep the text an edit is about to replace, with when and by whom it was written (call
    before the new body is set; who makes this edit shows on the new current version)."""
    edit = CommentEdit(comment_id=comment.id, body=comment.body,
                       written_at=comment.edited_at or comment.created_at, replaced_at=now,
                       by_moderator=comment.edited_by_moderator if comment.edited_at else False)
    db.session.add(edit)
    return edit


def forget_versions(comment: Comment) -> None:
    """Drop the texts a comment had before (its author's account went, and its text with it)."""
    db.session.execute(delete(CommentEdit).where(CommentEdit.comment_id == comment.id))


def _versions(comment: Comment, edits: Iterable[CommentEdit]) -> list[Version]:
    versions = [Version(e.body, e.written_at, e.by_moderator, e.replaced_at) for e in edits]
    versions.append(Version(comment.body, comment.edited_at or comment.created_at,
                            comment.edited_by_moderator if comment.edited_at else False))
    return versions


def versions_of(comment: Comment) -> list[Version]:
    """Every text the comment had, oldest first, ending with the current one."""
    edits = db.session.scalars(select(CommentEdit).where(CommentEdit.comment_id == comment.id)
                               .order_by(CommentEdit.id))
    return _versions(comment, edits)


def versions_by_comment(comments: list[Comment]) -> dict[int, list[Version]]:
    """The versions of each edited comment among ``comments``, in one query (a queue page)."""
    edited = {c.id: c for c in comments if c.edited_at is not None}
    if not edited:
        return {}
    by_id: dict[int, list[CommentEdit]] = {}
    for edit in db.session.scalars(select(CommentEdit)
                                   .where(CommentEdit.comment_id.in_(list(edited)))
                                   .order_by(CommentEdit.id)):
        by_id.setdefault(edit.comment_id, []).append(edit)
    return {cid: _versions(edited[cid], by_id[cid]) for cid in by_id}


def check_can_read(comment: Comment, actor: Actor) -> None:
    """The site's moderators read any comment's history; its author reads their own (they
    wrote every version but a moderator's, and should see what a moderator changed)."""
    if actor.moderates(comment.site_id) or actor.owns(comment):
        return
    if actor.user is None:
        raise NotSignedIn("Sign in as a moderator of this site to see a comment's history.")
    raise Forbidden("Only the site's moderators and the comment's author see its history.")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """What changed from ``before`` to ``after`` as (kind, text) pieces, kind being ``same``,
    ``removed`` or ``added``; plain text, for a template to escape."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(new[j1:j2])))
    return pieces


def last_change(versions: list[Version]) -> list[tuple[str, str]]:
    """The word diff of the latest edit (empty when the comment was never edited)."""
    if len(versions) < 2:
        return []
    return word_diff(versions[-2].body, versions[-1].body)

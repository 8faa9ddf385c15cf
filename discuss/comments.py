"""Writing comments: post, edit, delete, status changes and admin imports.

Every way in (HTML form, JSON API, CLI import) ends in these functions. They take an Actor,
flush but never commit, and know nothing of requests, forms or JSON. Threads live in
discuss.threads, reading (trees, pages, counts) in discuss.reading, moderators' actions in
discuss.moderation.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from discuss import (
    bans,
    events,
    filter_training,
    formtokens,
    history,
    learning,
    names,
    policy,
    spam,
    trust,
)
from discuss.emails import normalize_email
from discuss.errors import Conflict, Forbidden, InvalidInput, NotFound
from discuss.extensions import FastRead, as_written, begin_writes, db, write_rows
from discuss.ids import parse_id
from discuss.models import Comment, EventKind, Status, Thread, User, utcnow
from discuss.permissions import Actor, edit_window, require
from discuss.rendering import MAX_BODY_LENGTH, MAX_HTML_BYTES, render_markdown
from discuss.text import CONTROL, check_text
from discuss.threads import (
    COUNT_IN_THREAD,
    count_in_thread,
    counted_in_thread,
    thread_of,
    thread_to_post_in,
)

MAX_NAME_LENGTH = 64


def check_body(body: object) -> str:
    """The body as stored: a string of 1–10,000 characters after trimming."""
    if not isinstance(body, str):
        raise InvalidInput("The comment must be text.", {"body": "required"})
    body = unicodedata.normalize("NFC", CONTROL.sub("", body.replace("\r\n", "\n"))).strip()
    if not body:
        raise InvalidInput("The comment is empty.", {"body": "required"})
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput("The comment is %(length)s characters long; the limit is %(max)s. "
                           "Please shorten it.", {"body": "too_long"},
                           params={"length": f"{len(body):,}", "max": f"{MAX_BODY_LENGTH:,}"})
    return body


@dataclass(frozen=True)
class Body:
    """A checked comment body with its rendered HTML and fingerprint (render on write).

    Built before the write transaction begins, so that rendering and sanitising never hold
    the database's write lock."""

    text: str
    html: str
    fingerprint: str

    @classmethod
    def of(cls, raw: object) -> Body:
        if isinstance(raw, Body):
            return raw
        text = check_body(raw)
        html = render_markdown(text)
        size = len(html.encode())
        if size > MAX_HTML_BYTES:
            raise InvalidInput(
                f"This comment would become {size:,} bytes of formatted text; at most "
                f"{MAX_HTML_BYTES:,} are allowed. Use fewer links or less formatting.",
                {"body": "too_large"}, code="too_large")
        return cls(text, html, spam.body_fingerprint(text))


def set_body(comment: Comment, body: Body | str) -> None:
    """Set the Markdown source and its rendered HTML together (render on write). A checked
    ``Body`` keeps its rendering; a plain string (a rerender, a removed text) is rendered."""
    if isinstance(body, Body):
        comment.body, comment.html, comment.body_hash = body.text, body.html, body.fingerprint
        return
    comment.body = body
    comment.html = render_markdown(body)
    comment.body_hash = spam.body_fingerprint(body)


@dataclass
class _NewComment:
    """A comment checked against the thread, the author's bans, the site's policy and its spam
    rules, with the status it gets: ready for ``_add_comment``."""

    thread: Thread
    parent: Comment | None
    body: Body
    user: User | None
    guest_name: str
    guest_email: str
    email_key: str
    guest_key_hash: str
    ip_hash: str
    notify: bool
    status: Status
    reasons: list[dict[str, str]]
    shadowed: bool
    created_at: datetime
    # The comment form's token (discuss.formtokens), spent when the comment is written.
    form_token: str = ""


def post_comment(site_slug: object, key: object, actor: Actor, body: object,
                 parent_id: object = None, *, url: object = None, title: object = None,
                 name: object = None, email: object = None, notify: object = False,
                 form: dict | None = None, now: datetime | None = None) -> Comment:
    """Post a comment or reply to the thread (site, key), made on its first comment: the one
    way in for the JSON API and the plain form. Its status follows the site's policy and the
    spam rules; a guest gets the key that will own it.

    The body is rendered before the reads, the reads and checks come before the writes (on
    SQLite the write lock is held for the writes alone, see ``extensions.begin_writes``)."""
    body = Body.of(body)
    thread = thread_to_post_in(site_slug, key, url, title)
    actor.claim_guest_key()
    new = _check_new_comment(thread, actor, body, parent_id, name=name, email=email,
                             notify=notify, form=form, now=now)
    begin_writes()
    return _add_comment(new)


def _check_new_comment(thread: Thread, actor: Actor, body: Body, parent_id: object = None, *,
                       name: object = None, email: object = None, notify: object = False,
                       form: dict | None = None, now: datetime | None = None) -> _NewComment:
    """Everything posting decides, from reads alone (raises what the reader must be told)."""
    now = now or utcnow()
    site = thread.site
    if thread.closed:
        raise Forbidden("This discussion is closed.", code="thread_closed")
    if not isinstance(notify, bool):
        raise InvalidInput("notify must be true or false.", {"notify": "invalid"})

    guest_name = guest_email = email_key = ""
    if actor.user is None:
        if not site.allow_guests:
            raise Forbidden("Sign in to comment on this site.", code="guests_not_allowed")
        guest_name = names.clean_name(check_text(name, MAX_NAME_LENGTH, "name", one_line=True))
        if not guest_name:
            if site.require_guest_name:
                raise InvalidInput("Please give a name.", {"name": "required"})
            guest_name = "Anonymous"
        names.check_not_staff_lookalike(guest_name, site_id=site.id, field="name")
        guest_email, email_key = normalize_email(email)
    else:
        require(actor, "write_on_site", site)
    # Signed-in readers post under their account; stray guest fields are ignored.

    parent = None
    if parent_id is not None:
        if isinstance(parent_id, bool) or not isinstance(parent_id, int):
            raise InvalidInput("parent_id must be a comment id.", {"parent_id": "invalid"})
        parent = db.session.get(Comment, parent_id) if parse_id(parent_id) else None
        if parent is None or parent.thread_id != thread.id:
            raise InvalidInput("The comment you reply to is not in this thread.",
                               {"parent_id": "not_in_thread"})
        if parent.status in (Status.SPAM, Status.REJECTED, Status.DELETED) or (
            parent.status == Status.PENDING and not actor.owns(parent)
            and not actor.moderates(site)
        ):
            raise InvalidInput("You cannot reply to that comment.",
                               {"parent_id": "not_visible"})

    bans.check_not_banned(site, actor, email_key, now=now)
    verdict = spam.check_comment(
        site, actor, body.text, html=body.html, form=form or {}, email_key=email_key, now=now,
        fingerprint=body.fingerprint,
        trusted=(lambda: trust.is_trusted(site, actor, "", now=now)) if actor.user else None)
    learning.judge(site, actor, body.text, verdict, email_key=email_key, now=now)
    return _NewComment(
        thread=thread, parent=parent, body=body, user=actor.user, guest_name=guest_name,
        guest_email=guest_email, email_key=email_key,
        guest_key_hash=actor.guest_key_hash if actor.user is None else "",
        ip_hash=actor.ip_hash, notify=notify,
        status=policy.initial_status(site, actor, verdict, email_key=email_key, now=now),
        reasons=verdict.reasons,
        shadowed=bans.is_shadow_banned(site, actor, email_key, now=now),
        created_at=now, form_token=str((form or {}).get("form_token") or ""),
    )


def _add_comment(new: _NewComment) -> Comment:
    """Write a checked comment: the row, its place in the tree, the thread's count, the note for
    the moderators' queue mail and its ``comment.created`` event (reply and address
    confirmation mail, live updates and webhooks follow from the event at commit)."""
    try:
        comment = _insert_comment(
            new.thread, new.parent, new.body, user=new.user, guest_name=new.guest_name,
            guest_email=new.guest_email, guest_key_hash=new.guest_key_hash,
            created_at=new.created_at, status=new.status, notify=new.notify,
            ip_hash=new.ip_hash, held_reasons=new.reasons, shadowed=new.shadowed,
        )
    except IntegrityError as exc:
        # The thread or the parent went away between the checks and the write.
        raise Conflict("The discussion changed while you were writing. Please try again.",
                       code="thread_changed") from exc
    if new.form_token:
        formtokens.spend(new.form_token, now=new.created_at)
    if new.status == Status.PENDING:
        policy.note_queued(new.thread.site_id)
    events.record(EventKind.CREATED, comment)
    return comment


_COMMENTS = Comment.__table__


# What a new comment's row is given (its id comes from the database).
_GIVEN = tuple(c.key for c in _COMMENTS.c if c.key != "id")


# On SQLite a top-level comment goes in as its own root in one statement, with the id SQLite
# would give it: comments is an AUTOINCREMENT table, so one past the largest id it ever handed
# out (sqlite_sequence; never an id freed by a delete).
_SQLITE_SEQUENCE = sql_table("sqlite_sequence", sql_column("name"), sql_column("seq"))


_NEXT_ID = select(func.max(
    func.coalesce(select(_SQLITE_SEQUENCE.c.seq)
                  .where(_SQLITE_SEQUENCE.c.name == "comments").scalar_subquery(), 0),
    func.coalesce(select(func.max(_COMMENTS.c.id)).scalar_subquery(), 0)) + 1
).scalar_subquery()


def _insert_sqlite(top_level: bool) -> FastRead:
    """The INSERT of a new comment on SQLite, returning its id; ``top_level``: it is its own
    root."""
    values: dict[str, object] = {name: bindparam(name, type_=_COMMENTS.c[name].type)
                                 for name in _GIVEN}
    if top_level:
        values["id"] = values["root_id"] = _NEXT_ID
    return FastRead(_COMMENTS.insert().values(values).returning(_COMMENTS.c.id))


def _insert_and_count_postgres(top_level: bool) -> FastRead:
    """On PostgreSQL a comment goes in with its place in the tree and its thread's count in one
    statement (one round trip): the id from the table's sequence, the INSERT and the thread's
    UPDATE as CTEs. ``top_level``: the comment is its own root."""
    next_id = select(func.nextval(func.pg_get_serial_sequence("comments", "id")).label("id")
                     ).cte("next_id")
    names = [name for name in _GIVEN if name != "root_id"]
    # Parameters named new_<column>: a parameter named like a column of threads would be
    # taken as one more SET of the UPDATE.
    root = (next_id.c.id if top_level
            else bindparam("new_root_id", type_=_COMMENTS.c.root_id.type))
    added = (_COMMENTS.insert()
             .from_select(["id", "root_id", *names],
                          select(next_id.c.id, root,
                                 *[bindparam(f"new_{name}", type_=_COMMENTS.c[name].type)
                                   for name in names]))
             .returning(_COMMENTS.c.id, _COMMENTS.c.root_id).cte("added"))
    counted = COUNT_IN_THREAD.returning(Thread.__table__.c.id).cte("counted")
    return FastRead(select(added.c.id, added.c.root_id).add_cte(counted))


# Prebuilt, by whether the comment is top-level.
_INSERT_SQLITE = {top_level: _insert_sqlite(top_level) for top_level in (True, False)}


_INSERT_POSTGRES = {top_level: _insert_and_count_postgres(top_level) for top_level in (True, False)}


class CommentPlace(NamedTuple):
    """Where a comment sits in its tree: all a reply needs of its parent (an import keeps these
    for every comment it wrote instead of the comments themselves)."""

    id: int
    thread_id: int
    root_id: int
    depth: int


def _insert_comment(thread: Thread, parent: Comment | CommentPlace | None, body: Body | str, *,
                    user: User | None, guest_name: str, guest_email: str, guest_key_hash: str,
                    created_at: datetime, status: Status, notify: bool = False,
                    ip_hash: str = "", held_reasons: list | None = None, shadowed: bool = False,
                    parent_notified: bool = False) -> Comment:
    """Insert a checked comment with its status, place it in the tree and count it in its
    thread; the one place a comment row is built.

    The row goes in with one Core INSERT (and, for a top-level comment, the UPDATE that makes it
    its own root); the Comment returned is the same row as a persistent ORM object, without the
    unit of work's flushes. Records no event: the caller does (posting does, an import tells
    nobody)."""
    body = Body.of(body)
    _, email_key = normalize_email(guest_email)
    values = {
        "site_id": thread.site_id, "thread_id": thread.id,
        "parent_id": parent.id if parent else None,
        "root_id": parent.root_id if parent else None,
        "depth": parent.depth + 1 if parent else 0,
        "user_id": user.id if user else None,
        "guest_name": guest_name, "guest_email": guest_email, "guest_email_key": email_key,
        "guest_key_hash": guest_key_hash, "body": body.text, "html": body.html,
        "body_hash": body.fingerprint, "status": status, "created_at": created_at,
        "edited_at": None, "edited_by_moderator": False, "upvotes": 0, "downvotes": 0,
        "score": 0, "rank": 0.0, "pinned": False, "shadowed": shadowed, "notify": notify,
        "report_count": 0, "held_reasons": held_reasons or [], "ip_hash": ip_hash,
        "parent_notified": parent_notified,
    }
    db.session.flush()  # anything pending (a new thread, a user) is in the database first
    delta = int(status == Status.APPROVED)
    if db.session.connection().dialect.name == "postgresql":
        [(values["id"], values["root_id"])] = write_rows(
            _INSERT_POSTGRES[parent is None],
            {**{f"new_{k}": v for k, v in values.items()}, "thread_id": thread.id,
             "delta": delta})
        counted_in_thread(thread)
    else:
        [(values["id"],)] = write_rows(_INSERT_SQLITE[parent is None], values)
        if parent is None:
            values["root_id"] = values["id"]
        count_in_thread(thread, delta)
    # The author and the thread are known without a query; the thread (and its site) stay
    # loaded until the commit, whose event consumers (webhooks) read the site's settings.
    return as_written(Comment, {**values, "author": user, "thread": thread})


def import_comment(thread: Thread, body: object, *, parent: Comment | CommentPlace | None,
                   name: object, email: object, status: Status, created_at: datetime,
                   edited_at: datetime | None = None, pinned: bool = False) -> Comment:
    """A comment as it stood in another service (admin import): its time and status are kept,
    and neither the site's policy nor the spam rules apply; it is checked like any other."""
    if parent is not None and parent.thread_id != thread.id:
        raise InvalidInput("The parent is not in this thread.", {"parent_id": "not_in_thread"})
    guest_email, _ = normalize_email(email)
    comment = _insert_comment(
        thread, parent, Body.of(body), user=None,
        guest_name=names.clean_name(check_text(name, MAX_NAME_LENGTH, "name", one_line=True))
        or "Anonymous",
        guest_email=guest_email, guest_key_hash="", created_at=created_at, status=status,
        # An import tells nobody, now or when approved later (and records no event).
        parent_notified=True,
    )
    filter_training.note_import(comment, status)
    if edited_at is not None or pinned:
        comment.edited_at = edited_at
        comment.pinned = pinned
        db.session.flush()
    return comment


def get_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.author)]) \
        if parse_id(comment_id) else None
    if comment is None:
        raise NotFound("No such comment.", code="unknown_comment")
    return comment


def edit_comment(comment: Comment, actor: Actor, body: object, *, default_window: int = 900,
                 now: datetime | None = None) -> Comment:
    """Change a comment's text: its author within the edit window, or a moderator."""
    now = now or utcnow()
    thread = thread_of(comment)
    site = thread.site
    window = edit_window(site, default_window)
    require(actor, "edit_comment", comment, now=now, window=window)
    body = Body.of(body)
    by_moderator = actor.moderates(site) and not actor.owns(comment)
    if thread.closed and not by_moderator:
        raise Forbidden("This discussion is closed.", code="thread_closed")
    if body.text == comment.body:
        return comment
    if not by_moderator:
        # Spammers post something harmless and edit the links in later: the same rules as
        # for a new comment (spam rules and the site's policy) decide again.
        verdict = spam.check_comment(site, actor, body.text, html=body.html, form=None,
                                     now=now, editing=comment, fingerprint=body.fingerprint,
                                     email_key=comment.guest_email_key)
        learning.judge(site, actor, body.text, verdict, email_key=comment.guest_email_key, now=now)
        if verdict.reasons:
            comment.held_reasons = verdict.reasons
        new_status = policy.status_after_edit(site, comment, verdict, actor, now=now)
        if new_status != comment.status:
            set_status(comment, new_status, thread=thread)
    history.record_edit(comment, now=now)
    set_body(comment, body)
    comment.edited_at = now
    comment.edited_by_moderator = by_moderator
    thread.version += 1
    db.session.flush()
    return comment


def delete_comment(comment: Comment, actor: Actor, *, default_window: int = 900,
                   now: datetime | None = None) -> None:
    """Delete by its author (within the edit window) or a moderator; replies keep their place."""
    now = now or utcnow()
    thread = thread_of(comment)
    window = edit_window(thread.site, default_window)
    require(actor, "delete_comment", comment, now=now, window=window)
    set_status(comment, Status.DELETED, thread=thread)
    db.session.flush()


_EVENT_OF_STATUS = {Status.APPROVED: EventKind.APPROVED, Status.DELETED: EventKind.DELETED}


def set_status(comment: Comment, status: Status, *, thread: Thread | None = None,
               record: bool = True) -> Status:
    """Change a comment's status, keeping the thread's approved count exact. Returns the old.

    Becoming approved or deleted records a ``comment.approved`` / ``comment.deleted`` event
    (reply mail, live updates and webhooks follow at commit) unless ``record`` is false."""
    old = comment.status
    thread = thread or thread_of(comment)
    if old == status:
        return old
    comment.status = status
    if record and status in _EVENT_OF_STATUS:
        events.record(_EVENT_OF_STATUS[status], comment)
    count_in_thread(thread, (status == Status.APPROVED) - (old == Status.APPROVED))
    return old

"""Threads and comments: post, edit, delete, status changes, visibility, trees, sorting, paging.

Every way in (HTML form, JSON API, CLI import) ends in these functions. They take an Actor,
flush but never commit, and know nothing of requests, forms or JSON.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Dialect, and_, bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from discuss import moderation, notifications, spam
from discuss.errors import Conflict, Forbidden, InvalidInput, NotFound
from discuss.extensions import begin_writes, db, driver_rows
from discuss.models import Comment, Site, Status, Thread, User, utcnow
from discuss.permissions import Actor, can, edit_window
from discuss.rendering import MAX_BODY_LENGTH, render_markdown

MAX_KEY_LENGTH = 512
MAX_NAME_LENGTH = 64
MAX_TITLE_LENGTH = 300
MAX_URL_LENGTH = 2048
SORTS = ("oldest", "newest", "top")
SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,189}\.[^@\s<>\".]{2,63}$")
# Control characters other than tab/newline never belong in a comment, a name or a title.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


# ---------------------------------------------------------------- sites and threads


# Prebuilt: the writes' hot path runs these on every post.
_SITE_BY_SLUG = select(Site).where(Site.slug == bindparam("slug"))
_THREAD_BY_KEY = select(Thread).where(Thread.site_id == bindparam("site_id"),
                                      Thread.key == bindparam("key"))


def get_site(slug: str) -> Site:
    """The site named by ``slug``, or NotFound."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise NotFound("No such site.", code="unknown_site")
    site = db.session.scalar(_SITE_BY_SLUG, {"slug": slug})
    if site is None:
        raise NotFound("No such site.", code="unknown_site")
    return site


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput("The thread key is missing.", {"key": "required"})
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"The thread key is longer than {MAX_KEY_LENGTH} characters.",
                           {"key": "too_long"})
    if _CONTROL.search(key):
        raise InvalidInput("The thread key has control characters.", {"key": "invalid"})
    return key


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_url(site: Site, url: object, *, any_origin: bool = False) -> str:
    """An article URL: http(s), and on one of the site's origins when it lists any (unless
    ``any_origin``: an admin's import keeps the URL the export gives)."""
    if url is None or url == "":
        return ""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise InvalidInput("The article URL is not valid.", {"url": "invalid"})
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput("The article URL is not valid.", {"url": "invalid"}) from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or _CONTROL.search(url):
        raise InvalidInput("The article URL must be an http(s) URL.", {"url": "invalid"})
    allowed = {o.lower().rstrip("/") for o in site.origins}
    if site.origins and not any_origin and origin_of(url) not in allowed:
        raise Forbidden("This article's URL is not on an origin the site allows.",
                        {"url": "wrong_origin"}, code="wrong_origin")
    return url


def clean_line(value: object, limit: int, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field_name} must be text.", {field_name: "invalid"})
    value = " ".join(_CONTROL.sub("", value).split())
    if len(value) > limit:
        raise InvalidInput(f"{field_name} is longer than {limit} characters.",
                           {field_name: "too_long"})
    return value


def find_thread(site: Site, key: str) -> Thread | None:
    return db.session.scalar(_THREAD_BY_KEY, {"site_id": site.id, "key": key})


_SITE_AND_THREAD = (select(Site, Thread)
                    .outerjoin(Thread, and_(Thread.site_id == Site.id,
                                            Thread.key == bindparam("key")))
                    .where(Site.slug == bindparam("slug"))
                    # The site is in the same row: no eager join of Thread.site.
                    .options(lazyload(Thread.site)))


def thread_to_post_in(slug: object, key: object, url: object = None,
                      title: object = None) -> Thread:
    """The thread a new comment goes to, with its site, in one query (created on first use,
    like ``get_or_create_thread``); an unknown site is reported before a bad key."""
    try:
        key = check_key(key)
    except InvalidInput:
        get_site(slug)  # type: ignore[arg-type]
        raise
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise NotFound("No such site.", code="unknown_site")
    row = db.session.execute(_SITE_AND_THREAD, {"slug": slug, "key": key}).first()
    if row is None:
        raise NotFound("No such site.", code="unknown_site")
    site, thread = row
    if thread is None:
        begin_writes()  # the first comment of an article creates its thread
        thread = get_or_create_thread(site, key, url, title)
    set_committed_value(thread, "site", site)  # thread.site without another query
    return thread


def get_thread(site: Site, key: object) -> Thread:
    thread = find_thread(site, check_key(key))
    if thread is None:
        raise NotFound("No such thread.", code="unknown_thread")
    return thread


def get_thread_by_id(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound("No such thread.", code="unknown_thread")
    return thread


def get_or_create_thread(site: Site, key: object, url: object = None,
                         title: object = None, *, any_origin: bool = False) -> Thread:
    """The thread of an article, created on first use from an allowed URL."""
    key = check_key(key)
    thread = find_thread(site, key)
    if thread is not None:
        return thread
    url = check_url(site, url, any_origin=any_origin)
    title = clean_line(title, MAX_TITLE_LENGTH, "title")
    thread = Thread(site_id=site.id, key=key, url=url, title=title, comment_count=0, version=0)
    try:
        with db.session.begin_nested():
            db.session.add(thread)
    except IntegrityError:
        # Another request created it between our look-up and insert.
        existing = find_thread(site, key)
        if existing is None:
            raise
        return existing
    return thread


# ---------------------------------------------------------------- writing


def check_body(body: object) -> str:
    """The body as stored: a string of 1–10,000 characters after trimming."""
    if not isinstance(body, str):
        raise InvalidInput("The comment must be text.", {"body": "required"})
    body = unicodedata.normalize("NFC", _CONTROL.sub("", body.replace("\r\n", "\n"))).strip()
    if not body:
        raise InvalidInput("The comment is empty.", {"body": "required"})
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput(f"The comment is longer than {MAX_BODY_LENGTH:,} characters.",
                           {"body": "too_long"})
    return body


def normalize_email(email: object) -> tuple[str, str]:
    """(email as typed, lower-cased key); empty strings when none was given."""
    if email is None or email == "":
        return "", ""
    if not isinstance(email, str):
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    email = email.strip()
    if not email:
        return "", ""
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    return email, email.lower()


def body_fingerprint(body: str) -> str:
    flat = " ".join(body.casefold().split())
    return hashlib.sha256(flat.encode()).hexdigest()


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
        return cls(text, render_markdown(text), body_fingerprint(text))


def set_body(comment: Comment, body: str) -> None:
    """Set the Markdown source and its rendered HTML together (render on write)."""
    comment.body = body
    comment.html = render_markdown(body)
    comment.body_hash = body_fingerprint(body)


@dataclass
class NewComment:
    """A comment checked against the thread, the author's bans, the site's policy and its spam
    rules, with the status it gets: ready for ``add_comment``."""

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


def post_comment(thread: Thread, actor: Actor, body: object, parent_id: object = None, *,
                 name: object = None, email: object = None, notify: object = False,
                 form: dict | None = None, now: datetime | None = None) -> Comment:
    """Add a comment or reply; its status follows the site's policy and the spam rules."""
    return add_comment(check_new_comment(thread, actor, body, parent_id, name=name,
                                         email=email, notify=notify, form=form, now=now))


def check_new_comment(thread: Thread, actor: Actor, body: object, parent_id: object = None, *,
                      name: object = None, email: object = None, notify: object = False,
                      form: dict | None = None, now: datetime | None = None) -> NewComment:
    """Everything posting decides, from reads alone (raises what the reader must be told).

    ``body`` is the text as sent or a ``Body`` prepared before the transaction began."""
    now = now or utcnow()
    site = thread.site
    body = Body.of(body)
    if thread.closed:
        raise Forbidden("This discussion is closed.", code="thread_closed")
    if not isinstance(notify, bool):
        raise InvalidInput("notify must be true or false.", {"notify": "invalid"})

    guest_name = guest_email = email_key = ""
    if actor.user is None:
        if not site.allow_guests:
            raise Forbidden("Sign in to comment on this site.", code="guests_not_allowed")
        guest_name = clean_line(name, MAX_NAME_LENGTH, "name")
        if not guest_name:
            if site.require_guest_name:
                raise InvalidInput("Please give a name.", {"name": "required"})
            guest_name = "Anonymous"
        guest_email, email_key = normalize_email(email)
    # Signed-in readers post under their account; stray guest fields are ignored.

    parent = None
    if parent_id is not None:
        if isinstance(parent_id, bool) or not isinstance(parent_id, int):
            raise InvalidInput("parent_id must be a comment id.", {"parent_id": "invalid"})
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.thread_id != thread.id:
            raise InvalidInput("The comment you reply to is not in this thread.",
                               {"parent_id": "not_in_thread"})
        if parent.status in (Status.SPAM, Status.REJECTED, Status.DELETED) or (
            parent.status == Status.PENDING and not actor.owns(parent)
            and not actor.moderates(site)
        ):
            raise InvalidInput("You cannot reply to that comment.",
                               {"parent_id": "not_visible"})

    moderation.check_not_banned(site, actor, email_key, now=now)
    verdict = spam.check_comment(site, actor, body.text, form=form or {}, email_key=email_key,
                                 now=now, fingerprint=body.fingerprint)
    return NewComment(
        thread=thread, parent=parent, body=body, user=actor.user, guest_name=guest_name,
        guest_email=guest_email, email_key=email_key,
        guest_key_hash=actor.guest_key_hash if actor.user is None else "",
        ip_hash=actor.ip_hash, notify=notify,
        status=moderation.initial_status(site, actor, verdict, email_key=email_key, now=now),
        reasons=verdict.reasons,
        shadowed=moderation.is_shadow_banned(site, actor, email_key, now=now),
        created_at=now,
    )


def add_comment(new: NewComment) -> Comment:
    """Write a checked comment: the row, its place in the tree, the thread's count, and the
    notes for the mail sent at commit (queue, reply and address confirmation)."""
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
    if new.status == Status.PENDING:
        moderation.note_queued(new.thread.site_id)
    if new.email_key:
        notifications.note_guest_email(comment.id)
    return comment


_COMMENTS = Comment.__table__
_INSERT_COMMENT = _COMMENTS.insert()
_SET_ROOT = (_COMMENTS.update().where(_COMMENTS.c.id == bindparam("comment_id"))
             .values(root_id=_COMMENTS.c.id))
# SQLite gives a new row the largest id + 1 (comments.id is the rowid, without AUTOINCREMENT), so
# a top-level comment goes in as its own root in one statement; PostgreSQL takes _SET_ROOT.
_NEXT_ID = select(func.coalesce(func.max(_COMMENTS.c.id), 0) + 1).scalar_subquery()
_INSERT_ROOT_SQLITE = _COMMENTS.insert().values(id=_NEXT_ID, root_id=_NEXT_ID)


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
                    record: bool = True, parent_notified: bool = False) -> Comment:
    """Insert a checked comment with its status, place it in the tree and count it in its
    thread; the one place a comment row is built.

    The row goes in with one Core INSERT (and, for a top-level comment, the UPDATE that makes it
    its own root); the Comment returned is the same row as a persistent ORM object, without the
    unit of work's flushes. A reply approved here is noted for notifications unless ``record``
    is false (admin imports tell nobody)."""
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
    connection = db.session.connection()
    if parent is None and connection.dialect.name == "sqlite":
        del values["root_id"]
        comment_id = values["root_id"] = (
            connection.execute(_INSERT_ROOT_SQLITE, values).inserted_primary_key[0])
    else:
        comment_id = connection.execute(_INSERT_COMMENT, values).inserted_primary_key[0]
        if parent is None:
            connection.execute(_SET_ROOT, {"comment_id": comment_id})
            values["root_id"] = comment_id
    comment = Comment(id=comment_id, **values)
    comment.author = user
    make_transient_to_detached(comment)
    db.session.add(comment)
    if status == Status.APPROVED and record and parent is not None:
        notifications.note_approved(comment_id)
    _count_in_thread(thread, int(status == Status.APPROVED))
    return comment


_THREADS = Thread.__table__
_COUNT_IN_THREAD = (_THREADS.update().where(_THREADS.c.id == bindparam("thread_id"))
                    .values(comment_count=_THREADS.c.comment_count + bindparam("delta"),
                            version=_THREADS.c.version + 1))


def author_changed(user: User) -> None:
    """The author's name or avatar changed: every thread they wrote in shows it, so each gets a
    new version (its ETag and the cached bodies and lists keyed by it change too)."""
    wrote_in = select(Comment.thread_id).where(Comment.user_id == user.id).distinct()
    db.session.execute(update(Thread).where(Thread.id.in_(wrote_in))
                       .values(version=Thread.version + 1)
                       .execution_options(synchronize_session=False))


def _count_in_thread(thread: Thread, delta: int) -> None:
    """Bump the thread's version (its ETag) and its approved count by ``delta``, in one
    UPDATE … SET n = n + delta that stays exact when two requests change the same thread."""
    db.session.flush()
    db.session.connection().execute(_COUNT_IN_THREAD, {"thread_id": thread.id, "delta": delta})
    db.session.expire(thread, ["comment_count", "version"])


def import_comment(thread: Thread, body: object, *, parent: Comment | CommentPlace | None,
                   name: object, email: object, status: Status, created_at: datetime,
                   edited_at: datetime | None = None, pinned: bool = False,
                   votes: tuple[int, int] = (0, 0)) -> Comment:
    """A comment as it stood in another service (admin import): its time, status and votes
    (up, down) are kept, and neither the site's policy nor the spam rules apply; it is checked
    like any other."""
    if parent is not None and parent.thread_id != thread.id:
        raise InvalidInput("The parent is not in this thread.", {"parent_id": "not_in_thread"})
    guest_email, _ = normalize_email(email)
    comment = _insert_comment(
        thread, parent, Body.of(body), user=None,
        guest_name=clean_line(name, MAX_NAME_LENGTH, "name") or "Anonymous",
        guest_email=guest_email, guest_key_hash="", created_at=created_at, status=status,
        # An import tells nobody, now or when approved later.
        record=False, parent_notified=True,
    )
    if edited_at is not None or pinned or any(votes):
        from discuss.votes import wilson_lower_bound  # votes builds on this module

        comment.edited_at = edited_at
        comment.pinned = pinned
        comment.upvotes, comment.downvotes = votes
        comment.score = votes[0] - votes[1]
        comment.rank = wilson_lower_bound(*votes)
        db.session.flush()
    return comment


def get_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.author)])
    if comment is None:
        raise NotFound("No such comment.", code="unknown_comment")
    return comment


def thread_of(comment: Comment) -> Thread:
    """The comment's thread (from the session's identity map when already loaded)."""
    thread = db.session.get(Thread, comment.thread_id)
    if thread is None:
        raise NotFound("No such thread.", code="unknown_thread")
    return thread


def edit_comment(comment: Comment, actor: Actor, body: object, *, default_window: int = 900,
                 now: datetime | None = None) -> Comment:
    """Change a comment's text: its author within the edit window, or a moderator."""
    now = now or utcnow()
    thread = thread_of(comment)
    site = thread.site
    window = edit_window(site, default_window)
    if not can(actor, "edit_comment", comment, now=now, window=window):
        if actor.owns(comment):
            raise Forbidden("The time to edit this comment has passed.",
                            code="edit_window_passed")
        raise Forbidden("You cannot edit this comment.")
    body = check_body(body)
    by_moderator = actor.moderates(site) and not actor.owns(comment)
    if thread.closed and not by_moderator:
        raise Forbidden("This discussion is closed.", code="thread_closed")
    if body == comment.body:
        return comment
    if not by_moderator:
        # Spammers post something harmless and edit the links in later: check again.
        verdict = spam.check_comment(site, actor, body, form=None, now=now, editing=comment,
                                     email_key=comment.guest_email_key)
        if verdict.reasons:
            comment.held_reasons = verdict.reasons
        new_status = moderation.status_after_edit(site, comment, verdict)
        if new_status != comment.status:
            set_status(comment, new_status, thread=thread)
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
    if not can(actor, "delete_comment", comment, now=now, window=window):
        if actor.owns(comment) and comment.status != Status.DELETED:
            raise Forbidden("The time to delete this comment has passed.",
                            code="edit_window_passed")
        raise Forbidden("You cannot delete this comment.")
    set_status(comment, Status.DELETED, thread=thread)
    db.session.flush()


def set_status(comment: Comment, status: Status, *, thread: Thread | None = None,
               record: bool = True) -> Status:
    """Change a comment's status, keeping the thread's approved count exact. Returns the old.

    A reply that becomes approved is noted for reply notifications (sent at commit) unless
    ``record`` is false (admin imports tell nobody)."""
    old = comment.status
    thread = thread or thread_of(comment)
    if old == status:
        return old
    comment.status = status
    if status == Status.APPROVED and record and comment.parent_id is not None:
        notifications.note_approved(comment.id)
    _count_in_thread(thread, (status == Status.APPROVED) - (old == Status.APPROVED))
    return old


# ---------------------------------------------------------------- reading


@dataclass
class Node:
    """A comment as a reader sees it, with its visible replies (oldest first)."""

    comment: Comment
    placeholder: bool = False
    replies: list[Node] = field(default_factory=list)
    mine: bool = False
    reply_to: str = ""


@dataclass
class ThreadPage:
    thread: Thread
    nodes: list[Node]
    next_cursor: str | None
    sort: str


_ORDERS = {
    "oldest": ((Comment.pinned, True), (Comment.created_at, False), (Comment.id, False)),
    "newest": ((Comment.pinned, True), (Comment.created_at, True), (Comment.id, True)),
    "top": ((Comment.pinned, True), (Comment.rank, True), (Comment.created_at, False),
            (Comment.id, False)),
}


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="discuss.cursor")


def _encode_cursor(secret: str, sort: str, thread_id: int, last: Comment) -> str:
    values = []
    for column, _desc in _ORDERS[sort]:
        value = getattr(last, column.key)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return _serializer(secret).dumps([thread_id, sort, values])


def _decode_cursor(secret: str, cursor: str, sort: str, thread_id: int) -> list:
    try:
        data = _serializer(secret).loads(cursor)
        cursor_thread, cursor_sort, values = data
        if cursor_thread != thread_id or cursor_sort != sort:
            raise ValueError("cursor for another listing")
        columns = _ORDERS[sort]
        if len(values) != len(columns):
            raise ValueError("cursor of the wrong shape")
        decoded = []
        for (column, _), value in zip(columns, values, strict=True):
            if column.key == "created_at":
                value = datetime.fromisoformat(value)
            decoded.append(value)
        return decoded
    except (BadSignature, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput("The cursor is not valid for this thread and sort.",
                           {"cursor": "invalid"}) from exc


def _after(columns: Sequence[tuple], values: Sequence) -> ColumnElement[bool]:
    """Keyset condition: rows strictly after ``values`` in the given mixed-direction order."""
    clauses = []
    for i, (column, desc) in enumerate(columns):
        equal_before = [c == v for (c, _), v in zip(columns[:i], values[:i], strict=True)]
        value = values[i]
        if column.key == "pinned":
            # Booleans: only the other value can come later, and only in one direction.
            has_later = value if desc else not value
            beyond = column == (not value) if has_later else false()
        else:
            beyond = column < value if desc else column > value
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def visible_statuses_filter(actor: Actor) -> ColumnElement[bool]:
    """Comments a viewer may see in full: approved (not shadowed), plus their own held ones."""
    public = and_(Comment.status == Status.APPROVED, Comment.shadowed.is_(False))
    own = []
    if actor.user is not None:
        own.append(Comment.user_id == actor.user.id)
    if actor.guest_key_hash:
        own.append(and_(Comment.user_id.is_(None), Comment.guest_key_hash == actor.guest_key_hash))
    if not own:
        return public
    mine = and_(or_(*own), Comment.status.in_((Status.APPROVED, Status.PENDING, Status.SPAM)),
                or_(Comment.status != Status.SPAM, Comment.shadowed.is_(True)))
    return or_(public, mine)


def _is_visible(comment: Comment, actor: Actor) -> bool:
    if comment.status == Status.APPROVED and not comment.shadowed:
        return True
    if not actor.owns(comment):
        return False
    return comment.status == Status.PENDING or (
        comment.shadowed and comment.status in (Status.APPROVED, Status.SPAM)
    )


def load_thread_page(thread: Thread, actor: Actor, *, sort: str = "oldest",
                     cursor: str | None = None, page_size: int = 50,
                     secret: str) -> ThreadPage:
    """One page of top-level comments, each with its whole visible subtree, in two queries."""
    if sort not in SORTS:
        raise InvalidInput("sort must be oldest, newest or top.", {"sort": "invalid"})
    columns = _ORDERS[sort]
    reply = aliased(Comment)
    has_replies = (
        select(reply.id)
        .where(reply.thread_id == thread.id, reply.root_id == Comment.id, reply.id != Comment.id)
        .exists()
    )
    roots_query = select(Comment).where(
        Comment.thread_id == thread.id,
        Comment.parent_id.is_(None),
        # Hidden comments may still stand as placeholders above visible replies.
        or_(visible_statuses_filter(actor), has_replies),
    )
    if cursor:
        roots_query = roots_query.where(
            _after(columns, _decode_cursor(secret, cursor, sort, thread.id))
        )
    order = [c.desc() if desc else c.asc() for c, desc in columns]
    roots = list(db.session.scalars(roots_query.order_by(*order).limit(page_size + 1)))
    next_cursor = None
    if len(roots) > page_size:
        roots = roots[:page_size]
        next_cursor = _encode_cursor(secret, sort, thread.id, roots[-1])
    if not roots:
        return ThreadPage(thread, [], next_cursor, sort)

    root_ids = [c.id for c in roots]
    rows = db.session.scalars(
        select(Comment).options(joinedload(Comment.author))
        .where(Comment.thread_id == thread.id, Comment.root_id.in_(root_ids))
        .order_by(Comment.created_at, Comment.id)
    ).unique()
    nodes = build_tree(rows, actor)
    by_id = {n.comment.id: n for n in nodes}
    return ThreadPage(thread, [by_id[i] for i in root_ids if i in by_id], next_cursor, sort)


def author_name(comment: Comment) -> str:
    if comment.user_id is not None:
        return comment.author.name if comment.author is not None else "deleted user"
    return comment.guest_name or "Anonymous"


def build_tree(comments: Iterable[Comment], actor: Actor) -> list[Node]:
    """Top-level nodes of the visible tree; hidden comments with visible replies stay as
    placeholders. Comments must come parents first (creation order)."""
    nodes: dict[int, Node] = {}
    roots: list[Node] = []
    for comment in comments:
        node = Node(comment, placeholder=not _is_visible(comment, actor),
                    mine=actor.owns(comment))
        nodes[comment.id] = node
        parent = nodes.get(comment.parent_id) if comment.parent_id else None
        if parent is not None:
            node.reply_to = "" if parent.placeholder else author_name(parent.comment)
            parent.replies.append(node)
        elif comment.parent_id is None:
            roots.append(node)

    def prune(items: list[Node]) -> list[Node]:
        kept = []
        for item in items:
            item.replies = prune(item.replies)
            if not item.placeholder or item.replies:
                kept.append(item)
        return kept

    return prune(roots)


# Built once: constructing a statement costs more than running it on these hot read paths.
# The counts query is compiled once per database driver and number of keys (k0…kN-1, at most
# MAX_COUNT_KEYS in the API) and then run as plain SQL (extensions.driver_rows): an expanding
# IN is rendered again on every call, and even a cached statement costs more to look up and
# execute through SQLAlchemy than SQLite takes to answer it.
_COUNTS: dict[tuple, tuple[str, tuple[str, ...], tuple[int, ...] | None]] = {}
_THREAD_STATE = (
    select(Thread.id, Thread.site_id, Thread.created_at, Thread.version,
           Thread.comment_count, Thread.closed, Thread.title, Thread.url)
    .join(Site, Site.id == Thread.site_id)
    .where(Site.slug == bindparam("slug"), Thread.key == bindparam("key"))
)


def _counts_sql(dialect: Dialect,
                n_keys: int) -> tuple[str, tuple[str, ...], tuple[int, ...] | None]:
    """The counts query's SQL for ``n_keys`` keys, its parameter names (slug, k0, k1, …) and,
    when the driver takes parameters by position (SQLite's ``?``), their order as indexes into
    that tuple; None when by name (psycopg's ``%(k0)s``)."""
    cache_key = (dialect.name, dialect.driver, dialect.paramstyle, n_keys)
    entry = _COUNTS.get(cache_key)
    if entry is None:
        names = ("slug", *(f"k{n}" for n in range(n_keys)))
        statement = (
            select(Site.id, Thread.key, Thread.comment_count)
            .select_from(Site)
            .outerjoin(Thread, and_(Thread.site_id == Site.id,
                                    Thread.key.in_([bindparam(name) for name in names[1:]])))
            .where(Site.slug == bindparam("slug"))
        )
        compiled = statement.compile(dialect=dialect)
        order = (tuple(names.index(name) for name in compiled.positiontup or ())
                 if compiled.positional else None)
        entry = _COUNTS[cache_key] = (compiled.string, names, order)
    return entry


def count_comments(site_slug: object, keys: Sequence[str]) -> dict[str, int]:
    """Approved comments per thread key of a site, in one query; unknown keys count 0.

    Read straight from the engine (no ORM session): article lists ask for this on every view.
    """
    if not isinstance(site_slug, str) or not SLUG_RE.match(site_slug):
        raise NotFound("No such site.", code="unknown_site")
    values = (site_slug, *set(keys))
    engine = db.engine
    sql, names, order = _counts_sql(engine.dialect, len(values) - 1)
    params = (dict(zip(names, values, strict=True)) if order is None
              else tuple(values[i] for i in order))
    with engine.connect() as connection:
        rows = driver_rows(connection, sql, params)
    if not rows:
        raise NotFound("No such site.", code="unknown_site")
    counts = dict.fromkeys(keys, 0)
    counts.update({key: count for _, key, count in rows if key is not None})
    return counts


@dataclass(frozen=True)
class ThreadState:
    """What a thread's ETag is made of, read without loading the ORM objects."""

    id: int
    site_id: int
    created_at: datetime
    version: int
    comment_count: int
    closed: bool
    title: str
    url: str


def thread_state(site_slug: object, key: object) -> ThreadState:
    """The state of the thread (site, key) in one query, or NotFound for the site or thread."""
    if not isinstance(site_slug, str) or not SLUG_RE.match(site_slug):
        raise NotFound("No such site.", code="unknown_site")
    key = check_key(key)
    with db.engine.connect() as connection:
        row = connection.execute(_THREAD_STATE, {"slug": site_slug, "key": key}).first()
    if row is None:
        get_site(site_slug)  # says which of the two is unknown
        raise NotFound("No such thread.", code="unknown_thread")
    return ThreadState(*row)


def user_history(user: User) -> dict[str, int]:
    """How many of a user's comments ended in each status (moderation's author history)."""
    rows = db.session.execute(
        select(Comment.status, func.count()).where(Comment.user_id == user.id)
        .group_by(Comment.status)
    )
    return {str(status): n for status, n in rows}


"""Reading comments: what a viewer may see, trees, sorted and paged threads, counts.

Only reads: builds the visible tree of a thread page in two queries, counts approved comments
for article lists straight from the engine, and reads a thread's state for its ETag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.elements import ColumnElement

from discuss.errors import InvalidInput, NotFound
from discuss.extensions import FastRead, db, one_read, session_is_reading
from discuss.models import Comment, Site, Status, Thread, User, Vote
from discuss.permissions import Actor
from discuss.threads import SLUG_RE, check_key, get_site

SORTS = ("oldest", "newest", "top")


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
    # An author always sees their own held comments (pending, or spam: marked as waiting).
    mine = and_(or_(*own), Comment.status.in_(_OWN_VISIBLE))
    return or_(public, mine)


_OWN_VISIBLE = (Status.APPROVED, Status.PENDING, Status.SPAM)


def is_visible(comment: Comment, actor: Actor) -> bool:
    """Whether ``actor`` sees ``comment`` in full (the Python twin of visible_statuses_filter)."""
    if comment.status == Status.APPROVED and not comment.shadowed:
        return True
    if not actor.owns(comment):
        return False
    return comment.status in _OWN_VISIBLE


def listed_roots(thread: Thread, actor: Actor) -> list[ColumnElement[bool]]:
    """The top-level comments a thread page lists for a viewer."""
    reply = aliased(Comment)
    has_replies = (
        select(reply.id)
        .where(reply.thread_id == thread.id, reply.root_id == Comment.id, reply.id != Comment.id)
        .exists()
    )
    return [Comment.thread_id == thread.id, Comment.parent_id.is_(None),
            # Hidden comments may still stand as placeholders above visible replies.
            or_(visible_statuses_filter(actor), has_replies)]


def page_cursor_for(thread: Thread, actor: Actor, comment_id: int, *, sort: str,
                    page_size: int, secret: str) -> str | None:
    """A deep link (``#comment-N`` past the first page): the cursor of the page that starts at
    the comment's thread root, or None when that root is on the first page (or the comment is
    not one the viewer may see in this thread)."""
    if sort not in SORTS:
        return None
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.thread_id != thread.id or not is_visible(comment, actor):
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


def load_thread_page(thread: Thread, actor: Actor, *, sort: str = "oldest",
                     cursor: str | None = None, page_size: int = 50,
                     secret: str) -> ThreadPage:
    """One page of top-level comments, each with its whole visible subtree, in two queries."""
    if sort not in SORTS:
        raise InvalidInput("sort must be oldest, newest or top.", {"sort": "invalid"})
    columns = _ORDERS[sort]
    roots_query = select(Comment).where(*listed_roots(thread, actor))
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
    """The name a comment is signed with, everywhere it is shown or mailed."""
    if comment.user_id is not None:
        return comment.author.name if comment.author is not None else "deleted user"
    return comment.guest_name or "Anonymous"


def build_tree(comments: Iterable[Comment], actor: Actor) -> list[Node]:
    """Top-level nodes of the visible tree; hidden comments with visible replies stay as
    placeholders. Comments must come parents first (creation order)."""
    nodes: dict[int, Node] = {}
    roots: list[Node] = []
    for comment in comments:
        node = Node(comment, placeholder=not is_visible(comment, actor),
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


# Built once and run as plain SQL (extensions.FastRead): constructing a statement, and even
# running a cached one through SQLAlchemy, costs more than SQLite takes to answer these hot
# indexed reads. The counts query has one variant per number of keys (k0…kN-1, at most
# MAX_COUNT_KEYS in the API): an expanding IN would be rendered again on every call.
_COUNTS: dict[int, FastRead] = {}


_THREAD_STATE = FastRead(
    select(Thread.id, Thread.site_id, Thread.created_at, Thread.version,
           Thread.comment_count, Thread.closed, Thread.title, Thread.url)
    .join(Site, Site.id == Thread.site_id)
    .where(Site.slug == bindparam("slug"), Thread.key == bindparam("key"))
)


def _counts_read(n_keys: int) -> FastRead:
    """The counts query for ``n_keys`` keys (parameters slug, k0, k1, …)."""
    read = _COUNTS.get(n_keys)
    if read is None:
        read = _COUNTS[n_keys] = FastRead(
            select(Site.language, Thread.key, Thread.comment_count)
            .select_from(Site)
            .outerjoin(Thread, and_(Thread.site_id == Site.id,
                                    Thread.key.in_([bindparam(f"k{n}") for n in range(n_keys)])))
            .where(Site.slug == bindparam("slug"))
        )
    return read


def count_comments(site_slug: object, keys: Sequence[str]) -> dict[str, int]:
    """Approved comments per thread key of a site, in one query; unknown keys count 0."""
    return count_comments_and_language(site_slug, keys)[0]


def count_comments_and_language(site_slug: object,
                                keys: Sequence[str]) -> tuple[dict[str, int], str]:
    """The counts and the site's default language (for their words), in one query.

    Read straight from the engine (no ORM session): article lists ask for this on every view.
    """
    if not isinstance(site_slug, str) or not SLUG_RE.match(site_slug):
        raise NotFound("No such site.", code="unknown_site")
    distinct = set(keys)
    params: dict[str, object] = {f"k{n}": key for n, key in enumerate(distinct)}
    params["slug"] = site_slug
    with one_read(db.engine) as connection:
        rows = _counts_read(len(distinct)).rows(connection, params)
    if not rows:
        raise NotFound("No such site.", code="unknown_site")
    counts = dict.fromkeys(keys, 0)
    counts.update({key: count for _, key, count in rows if key is not None})
    return counts, rows[0][0]


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
    return ThreadState(*_rows_of_thread(_THREAD_STATE, site_slug, key, {})[0])


def _rows_of_thread(read: FastRead, site_slug: object, key: object,
                    params: dict[str, object]) -> list[tuple]:
    """The rows of a single read about the thread (site, key), never none: NotFound for an
    unknown site (before a bad key) or thread."""
    if not isinstance(site_slug, str) or not SLUG_RE.match(site_slug):
        raise NotFound("No such site.", code="unknown_site")
    params = {**params, "slug": site_slug, "key": check_key(key)}
    with one_read(db.engine) as connection:
        rows = read.rows(connection, params)
    if not rows:
        get_site(site_slug)  # says which of the two is unknown
        raise NotFound("No such thread.", code="unknown_thread")
    return rows


def user_history(user: User) -> dict[str, int]:
    """How many of a user's comments ended in each status (moderation's author history)."""
    rows = db.session.execute(
        select(Comment.status, func.count()).where(Comment.user_id == user.id)
        .group_by(Comment.status)
    )
    return {str(status): n for status, n in rows}


# ---------------------------------------------------------------- what is one reader's own

# A reader's own comment that only they see (held for a moderator, or shadow-banned): the
# thread as everyone sees it does not hold it.
_HELD = case((or_(Comment.status == Status.PENDING, Comment.status == Status.SPAM,
                  and_(Comment.status == Status.APPROVED, Comment.shadowed.is_(True))), 1),
             else_=0)


def _own_by_guest(thread: ColumnElement) -> Select:
    return (select(Comment.id.label("comment_id"), literal(0).label("kind"),
                   _HELD.label("value"))
            .where(Comment.guest_key_hash == bindparam("guest"), Comment.thread_id == thread,
                   Comment.user_id.is_(None)))


def _own_and_votes_of_user(thread: ColumnElement) -> CompoundSelect:
    own = (select(Comment.id.label("comment_id"), literal(0).label("kind"), _HELD.label("value"))
           .where(Comment.user_id == bindparam("user"), Comment.thread_id == thread))
    voted = (select(Vote.comment_id, literal(1), Vote.value)
             .join(Comment, Comment.id == Vote.comment_id)
             .where(Vote.user_id == bindparam("user"), Comment.thread_id == thread))
    return union_all(own, voted)


def _state_with(sliver: Select | CompoundSelect) -> FastRead:
    """The thread's state (as ``_THREAD_STATE``) and the reader's own rows in one statement:
    each row is the state followed by one of their rows, or by NULLs when they have none."""
    mine = sliver.subquery("mine")
    return FastRead(
        select(*_THREAD_STATE.statement.selected_columns, *mine.c)
        .join(Site, Site.id == Thread.site_id)
        .outerjoin(mine, true())
        .where(Site.slug == bindparam("slug"), Thread.key == bindparam("key"))
    )


_SLIVER_OF_USER = FastRead(_own_and_votes_of_user(bindparam("thread")))
_SLIVER_OF_GUEST = FastRead(_own_by_guest(bindparam("thread")))
# The thread named by site and key, inside the statements that read its state as well.
_NAMED_THREAD = (select(Thread.id).join(Site, Site.id == Thread.site_id)
                 .where(Site.slug == bindparam("slug"), Thread.key == bindparam("key"))
                 .scalar_subquery())
_STATE_AND_SLIVER_OF_USER = _state_with(_own_and_votes_of_user(_NAMED_THREAD))
_STATE_AND_SLIVER_OF_GUEST = _state_with(_own_by_guest(_NAMED_THREAD))


@dataclass
class Sliver:
    """What is one reader's own in a thread, read in one indexed query: the comments they
    wrote (``held``: some of them only they see, so the thread as everyone sees it lacks them)
    and, for a signed-in reader, their votes (comment id → 1 or -1; None for a guest, who
    cannot vote)."""

    own: set[int] = field(default_factory=set)
    held: bool = False
    votes: dict[int, int] | None = None

    @property
    def ids(self) -> set[int]:
        """The comments whose look is this reader's own (written or voted on)."""
        return self.own | set(self.votes or ())


def viewer_sliver(thread_id: int, actor: Actor) -> Sliver:
    """The reader's own comments and votes in one thread, in one query (none for anyone)."""
    if actor.user is not None:
        read, params = _SLIVER_OF_USER, {"user": actor.user.id, "thread": thread_id}
    elif actor.guest_key_hash:
        read = _SLIVER_OF_GUEST
        params = {"guest": actor.guest_key_hash, "thread": thread_id}
    else:
        return Sliver()
    # In the request's transaction when it has one (it read or wrote through it already),
    # else as a single read.
    if session_is_reading():
        rows = read.rows(db.session.connection(), params)
    else:
        with one_read(db.engine) as connection:
            rows = read.rows(connection, params)
    return _sliver_of(rows, actor)


def thread_state_and_sliver(site_slug: object, key: object,
                            actor: Actor) -> tuple[ThreadState, Sliver]:
    """``thread_state`` and, for a reader with a guest key or an account, ``viewer_sliver``,
    in one single read (one round trip on PostgreSQL)."""
    if actor.user is not None:
        read, params = _STATE_AND_SLIVER_OF_USER, {"user": actor.user.id}
    elif actor.guest_key_hash:
        read, params = _STATE_AND_SLIVER_OF_GUEST, {"guest": actor.guest_key_hash}
    else:
        return thread_state(site_slug, key), Sliver()
    rows = _rows_of_thread(read, site_slug, key, params)
    width = len(fields(ThreadState))
    return (ThreadState(*rows[0][:width]),
            _sliver_of([row[width:] for row in rows if row[width] is not None], actor))


def _sliver_of(rows: Iterable[Sequence], actor: Actor) -> Sliver:
    sliver = Sliver(votes={}) if actor.user is not None else Sliver()
    for comment_id, kind, value in rows:
        if kind == 0:
            sliver.own.add(comment_id)
            sliver.held = sliver.held or bool(value)
        elif sliver.votes is not None:
            sliver.votes[comment_id] = value
    return sliver


def comments_with_authors(ids: Iterable[int]) -> list[Comment]:
    """These comments with their authors, in one query (any order)."""
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Comment).options(joinedload(Comment.author)).where(Comment.id.in_(ids))
    ).unique())

"""Reading the moderation queues: the dashboard's sizes and a queue's page of comments.

Owns what a moderator sees before acting: each comment with its thread, the parent's excerpt,
the author's history and earlier comments, the open reports and why a rule held it. A page is
built in a fixed number of queries whatever its length, and paged by a keyset cursor on
(created_at, id) so that comments others approve meanwhile never make it skip or repeat one.
Reads only; acting is discuss.moderation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import joinedload

from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Comment, Report, Site, Status, Thread, User
from discuss.permissions import Actor
from discuss.reading import author_name
from discuss.rendering import excerpt

QUEUES = ("pending", "reported", "spam")
ORDERS = ("oldest", "newest")
EARLIER_PER_AUTHOR = 3
MAX_PAGE_SIZE = 100


@dataclass
class AuthorInfo:
    key: str
    name: str
    username: str | None = None
    is_guest: bool = True
    email: str = ""
    ip_hash: str = ""
    joined_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    earlier: list[dict] = field(default_factory=list)


@dataclass
class QueueItem:
    comment: Comment
    thread: Thread
    author: AuthorInfo
    parent_excerpt: str = ""
    parent_author: str = ""
    reports: list[Report] = field(default_factory=list)


@dataclass
class QueuePage:
    site: Site
    queue: str
    order: str
    items: list[QueueItem]
    next_cursor: str | None


@dataclass
class SiteQueues:
    site: Site
    sizes: dict[str, int]
    oldest: dict[str, datetime | None]

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


def moderated_sites(actor: Actor) -> list[Site]:
    """Every site the actor may moderate (admins: all), by slug."""
    if actor.user is None:
        return []
    if actor.user.is_admin:
        return list(db.session.scalars(select(Site).order_by(Site.slug)))
    return sorted(actor.user.moderated_sites, key=lambda s: s.slug)


def _in_queue(queue: str):
    if queue == "pending":
        return Comment.status == Status.PENDING
    if queue == "spam":
        return Comment.status == Status.SPAM
    return and_(Comment.report_count > 0,
                Comment.status.in_((Status.APPROVED, Status.PENDING)))


def dashboard(actor: Actor) -> list[SiteQueues]:
    """Each moderated site with the size and oldest item of its queues (two grouped queries)."""
    sites = moderated_sites(actor)
    if not sites:
        return []
    ids = [s.id for s in sites]
    result = {s.id: SiteQueues(s, dict.fromkeys(QUEUES, 0), dict.fromkeys(QUEUES))
              for s in sites}
    rows = db.session.execute(
        select(Comment.site_id, Comment.status, func.count(), func.min(Comment.created_at))
        .where(Comment.site_id.in_(ids), Comment.status.in_((Status.PENDING, Status.SPAM)))
        .group_by(Comment.site_id, Comment.status)
    )
    for site_id, status, count, oldest in rows:
        result[site_id].sizes[str(status)] = count
        result[site_id].oldest[str(status)] = as_aware(oldest)
    rows = db.session.execute(
        select(Comment.site_id, func.count(), func.min(Comment.created_at))
        .where(Comment.site_id.in_(ids), _in_queue("reported")).group_by(Comment.site_id)
    )
    for site_id, count, oldest in rows:
        result[site_id].sizes["reported"] = count
        result[site_id].oldest["reported"] = as_aware(oldest)
    return [result[i] for i in ids]


def as_aware(value: datetime | str | None) -> datetime | None:
    # Aggregates skip the column type on SQLite: min() comes back as text, without a zone.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="discuss.queue-cursor")


def _decode_cursor(secret: str, cursor: str, site: Site, queue: str,
                   order: str) -> tuple[datetime, int]:
    try:
        site_id, cursor_queue, cursor_order, created, comment_id = \
            _serializer(secret).loads(cursor)
        if (site_id, cursor_queue, cursor_order) != (site.id, queue, order):
            raise ValueError("cursor of another listing")
        return datetime.fromisoformat(created), int(comment_id)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not valid for this queue.",
                           {"cursor": "invalid"}) from exc


def author_key(comment: Comment) -> str:
    """Who wrote it, for history: the account, else the guest's email, else the IP hash."""
    if comment.user_id is not None:
        return f"u:{comment.user_id}"
    if comment.guest_email_key:
        return f"e:{comment.guest_email_key}"
    return f"i:{comment.ip_hash}"


AUTHOR_KEY = case(
    (Comment.user_id.is_not(None), literal("u:") + cast(Comment.user_id, String)),
    (Comment.guest_email_key != "", literal("e:") + Comment.guest_email_key),
    else_=literal("i:") + Comment.ip_hash,
)


def authors_filter(comments: list[Comment]):
    user_ids = {c.user_id for c in comments if c.user_id is not None}
    emails = {c.guest_email_key for c in comments if c.user_id is None and c.guest_email_key}
    ips = {c.ip_hash for c in comments
           if c.user_id is None and not c.guest_email_key and c.ip_hash}
    clauses = []
    if user_ids:
        clauses.append(Comment.user_id.in_(user_ids))
    if emails:
        clauses.append(and_(Comment.user_id.is_(None), Comment.guest_email_key.in_(emails)))
    if ips:
        clauses.append(and_(Comment.user_id.is_(None), Comment.guest_email_key == "",
                            Comment.ip_hash.in_(ips)))
    return or_(*clauses) if clauses else None


def _author_filter_for(value: str):
    """The ``author`` filter: a username, an email address, or an author key (u:/e:/i:)."""
    value = value.strip()[:254]
    kind, rest = value[:2], value[2:]
    if kind == "u:" and rest.isdigit() and len(rest) < 19:
        return Comment.user_id == int(rest)
    if kind == "e:":
        return and_(Comment.user_id.is_(None), Comment.guest_email_key == rest)
    if kind == "i:":
        return and_(Comment.user_id.is_(None), Comment.guest_email_key == "",
                    Comment.ip_hash == rest)
    user_id = select(User.id).where(User.username_key == value.lower()).scalar_subquery()
    return or_(Comment.user_id == user_id,
               and_(Comment.user_id.is_(None),
                    or_(Comment.guest_email_key == value.lower(), Comment.guest_name == value)))


def list_queue(site: Site, queue: str, *, secret: str, order: str = "oldest",
               cursor: str | None = None, thread_key: str | None = None,
               author: str | None = None, page_size: int = 25) -> QueuePage:
    """One page of a site's queue with everything a moderator needs, in five queries."""
    if queue not in QUEUES:
        raise InvalidInput("queue must be pending, reported or spam.", {"queue": "invalid"})
    if order not in ORDERS:
        raise InvalidInput("order must be oldest or newest.", {"order": "invalid"})
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    query = (select(Comment)
             .options(joinedload(Comment.author).lazyload(User.moderated_sites),
                      joinedload(Comment.thread))
             .where(Comment.site_id == site.id, _in_queue(queue)))
    if thread_key:
        query = query.join(Thread, Thread.id == Comment.thread_id).where(
            Thread.key == thread_key[:512])
    if author:
        query = query.where(_author_filter_for(author))
    newest = order == "newest"
    if cursor:
        created_at, last_id = _decode_cursor(secret, cursor, site, queue, order)
        if newest:
            query = query.where(or_(Comment.created_at < created_at,
                                    and_(Comment.created_at == created_at,
                                         Comment.id < last_id)))
        else:
            query = query.where(or_(Comment.created_at > created_at,
                                    and_(Comment.created_at == created_at,
                                         Comment.id > last_id)))
    if newest:
        query = query.order_by(Comment.created_at.desc(), Comment.id.desc())
    else:
        query = query.order_by(Comment.created_at, Comment.id)
    rows = list(db.session.scalars(query.limit(page_size + 1)).unique())
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = _serializer(secret).dumps(
            [site.id, queue, order, last.created_at.isoformat(), last.id])
    return QueuePage(site, queue, order, _items(site, rows), next_cursor)


def _items(site: Site, rows: list[Comment]) -> list[QueueItem]:
    if not rows:
        return []
    ids = [c.id for c in rows]
    parent_ids = {c.parent_id for c in rows if c.parent_id is not None}
    parents = {}
    if parent_ids:
        parents = {p.id: p for p in db.session.scalars(
            select(Comment).options(joinedload(Comment.author).lazyload(User.moderated_sites))
            .where(Comment.id.in_(parent_ids))).unique()}
    reports: dict[int, list[Report]] = {}
    for report in db.session.scalars(
        select(Report).where(Report.comment_id.in_(ids), Report.resolved_at.is_(None))
        .order_by(Report.created_at)
    ):
        reports.setdefault(report.comment_id, []).append(report)

    authors: dict[str, AuthorInfo] = {}
    for c in rows:
        key = author_key(c)
        if key not in authors:
            user = c.author if c.user_id is not None else None
            authors[key] = AuthorInfo(
                key=key, name=author_name(c), username=user.username if user else None,
                is_guest=user is None, email=c.guest_email if user is None else "",
                ip_hash=c.ip_hash if user is None else "",
                joined_at=user.created_at if user else None)
    who = authors_filter(rows)
    if who is not None:
        key_col = AUTHOR_KEY.label("author_key")
        for key, status, count in db.session.execute(
            select(key_col, Comment.status, func.count())
            .where(Comment.site_id == site.id, who).group_by(key_col, Comment.status)
        ):
            if key in authors:
                authors[key].counts[str(status)] = count
        ranked = (
            select(Comment.id, Comment.body, Comment.status, Comment.created_at,
                   AUTHOR_KEY.label("author_key"),
                   func.row_number().over(partition_by=AUTHOR_KEY,
                                          order_by=(Comment.created_at.desc(),
                                                    Comment.id.desc())).label("n"))
            .where(Comment.site_id == site.id, who, Comment.id.not_in(ids))
            .subquery()
        )
        for row in db.session.execute(
            select(ranked).where(ranked.c.n <= EARLIER_PER_AUTHOR)
            .order_by(ranked.c.author_key, ranked.c.n)
        ):
            if row.author_key in authors:
                authors[row.author_key].earlier.append({
                    "id": row.id, "excerpt": excerpt(row.body, 100),
                    "status": str(row.status), "created_at": as_aware(row.created_at)})
    items = []
    for c in rows:
        parent = parents.get(c.parent_id) if c.parent_id else None
        items.append(QueueItem(
            comment=c, thread=c.thread, author=authors[author_key(c)],
            parent_excerpt=excerpt(parent.body, 140) if parent is not None else "",
            parent_author=author_name(parent) if parent is not None else "",
            reports=reports.get(c.id, []),
        ))
    return items

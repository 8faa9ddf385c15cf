"""Sites and threads as comments see them: look-ups, keys, article URLs, the thread counter.

A thread is created by its first comment (``thread_to_post_in``). Its ``version`` (the ETag of
its page) and approved ``comment_count`` change only through ``count_in_thread`` and
``author_changed``. Flushes, never commits; knows nothing of requests.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from discuss.errors import Forbidden, InvalidInput, NotFound
from discuss.extensions import (
    FastRead,
    RowRead,
    as_loaded,
    begin_writes,
    db,
    read_rows,
    write_rows,
)
from discuss.models import Comment, Site, Thread, User
from discuss.text import CONTROL, check_text

MAX_KEY_LENGTH = 512


MAX_TITLE_LENGTH = 300


MAX_URL_LENGTH = 2048


SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")


# Prebuilt: every page and the writes' hot path run these (a single read when the request
# has begun nothing yet, extensions.RowRead).
_SITE_BY_SLUG = RowRead(Site, Site.slug == bindparam("slug"))


_THREAD_BY_KEY = RowRead(Thread, Thread.site_id == bindparam("site_id"),
                         Thread.key == bindparam("key"))


def get_site(slug: str) -> Site:
    """The site named by ``slug``, or NotFound."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise NotFound("No such site.", code="unknown_site")
    site = _SITE_BY_SLUG.one({"slug": slug})
    if site is None:
        raise NotFound("No such site.", code="unknown_site")
    return site


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput("The thread key is missing.", {"key": "required"})
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("The thread key is longer than %(max)s characters.",
                           {"key": "too_long"}, params={"max": MAX_KEY_LENGTH})
    if CONTROL.search(key):
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
    if parts.scheme not in ("http", "https") or not parts.netloc or CONTROL.search(url):
        raise InvalidInput("The article URL must be an http(s) URL.", {"url": "invalid"})
    allowed = {o.lower().rstrip("/") for o in site.origins}
    if site.origins and not any_origin and origin_of(url) not in allowed:
        raise Forbidden("This article's URL is not on an origin the site allows.",
                        {"url": "wrong_origin"}, code="wrong_origin")
    return url


def find_thread(site: Site, key: str) -> Thread | None:
    thread = _THREAD_BY_KEY.one({"site_id": site.id, "key": key})
    if thread is not None and "site" not in thread.__dict__:
        set_committed_value(thread, "site", site)  # thread.site without another query
    return thread


_SITE_COLUMNS = tuple(Site.__table__.columns)


_THREAD_COLUMNS = tuple(Thread.__table__.columns)


# Where the thread's id is in a row of _SITE_AND_THREAD (NULL: the key has no thread yet).
_THREAD_ID_AT = len(_SITE_COLUMNS) + next(
    n for n, column in enumerate(_THREAD_COLUMNS) if column is Thread.__table__.c.id)


# The site and, when it has one, the thread of the key: the row a post starts from.
_SITE_AND_THREAD = FastRead(
    select(*_SITE_COLUMNS, *_THREAD_COLUMNS)
    .outerjoin(Thread, and_(Thread.site_id == Site.id, Thread.key == bindparam("key")))
    .where(Site.slug == bindparam("slug")))


def thread_to_post_in(slug: object, key: object, url: object = None,
                      title: object = None) -> Thread:
    """The thread a new comment goes to, with its site, in one query (created on first use,
    like ``get_or_create_thread``); an unknown site is reported before a bad key, and an
    article URL off the site's origins is refused whether or not the thread exists."""
    try:
        key = check_key(key)
    except InvalidInput:
        get_site(slug)  # type: ignore[arg-type]
        raise
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise NotFound("No such site.", code="unknown_site")
    rows = read_rows(_SITE_AND_THREAD, {"slug": slug, "key": key})
    if not rows:
        raise NotFound("No such site.", code="unknown_site")
    split = len(_SITE_COLUMNS)
    site = as_loaded(Site, _SITE_COLUMNS, rows[0][:split])
    thread = (as_loaded(Thread, _THREAD_COLUMNS, rows[0][split:])
              if rows[0][_THREAD_ID_AT] is not None else None)
    if thread is None:
        begin_writes()  # the first comment of an article creates its thread
        thread = get_or_create_thread(site, key, url, title)
    else:
        check_url(site, url)  # a URL the site does not allow is refused on every comment
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
    title = check_text(title, MAX_TITLE_LENGTH, "title", one_line=True)
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


def thread_of(comment: Comment) -> Thread:
    """The comment's thread (from the session's identity map when already loaded)."""
    thread = db.session.get(Thread, comment.thread_id)
    if thread is None:
        raise NotFound("No such thread.", code="unknown_thread")
    return thread


_THREADS = Thread.__table__


# Public: on PostgreSQL a new comment's INSERT runs it in the same statement (a CTE).
COUNT_IN_THREAD = (_THREADS.update().where(_THREADS.c.id == bindparam("thread_id"))
                   .values(comment_count=_THREADS.c.comment_count + bindparam("delta"),
                           version=_THREADS.c.version + 1))


_COUNT = FastRead(COUNT_IN_THREAD.returning(_THREADS.c.id))


def author_changed(user: User) -> None:
    """The author's name or avatar changed: every thread they wrote in shows it, so each gets a
    new version (its ETag and the cached bodies and lists keyed by it change too)."""
    wrote_in = select(Comment.thread_id).where(Comment.user_id == user.id).distinct()
    db.session.execute(update(Thread).where(Thread.id.in_(wrote_in))
                       .values(version=Thread.version + 1)
                       .execution_options(synchronize_session=False))


def count_in_thread(thread: Thread, delta: int) -> None:
    """Bump the thread's version (its ETag) and its approved count by ``delta``, in one
    UPDATE … SET n = n + delta that stays exact when two requests change the same thread."""
    db.session.flush()
    write_rows(_COUNT, {"thread_id": thread.id, "delta": delta})
    counted_in_thread(thread)


def counted_in_thread(thread: Thread) -> None:
    """The thread's count and version were changed by the caller's own statement (see
    COUNT_IN_THREAD): they are read again when next used."""
    db.session.expire(thread, ["comment_count", "version"])

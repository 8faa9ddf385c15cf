"""Seed discuss's database for the benchmark: same plan as Isso, bulk inserts, real rendering.

The small data set goes through SQLAlchemy Core ``executemany`` with html from
``rendering.render_markdown``; the 1,000,000-comment filler uses pre-rendered html and the
driver directly (COPY on PostgreSQL, ``executemany`` on SQLite), so it takes seconds, not hours.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from bench.data import (
    BODIES,
    COUNT_KEYS,
    MILLION_PER_THREAD,
    MILLION_THREADS,
    ORIGIN,
    POST_KEY,
    SITE,
    THREAD_SIZES,
    plan_thread,
)
from discuss import accounts, create_app, sites, votes
from discuss.extensions import db
from discuss.models import Comment, Site, Status, Thread
from discuss.permissions import Actor
from discuss.rendering import render_markdown
from discuss.spam import body_fingerprint

SECRET = "bench-secret-key-that-is-long-enough"
COMMENT_COLUMNS = (
    "id", "site_id", "thread_id", "parent_id", "root_id", "depth", "user_id", "guest_name",
    "guest_email", "guest_email_key", "guest_key_hash", "body", "html", "status", "created_at",
    "edited_at", "edited_by_moderator", "upvotes", "downvotes", "score", "rank", "pinned",
    "shadowed", "notify", "report_count", "held_reasons", "ip_hash", "body_hash",
    "parent_notified",
)
THREAD_COLUMNS = ("id", "site_id", "key", "url", "title", "closed", "comment_count",
                  "created_at", "version")


def bench_app(database_url: str):
    return create_app({"DISCUSS_DATABASE_URL": database_url, "DISCUSS_SECRET_KEY": SECRET})


def _comment_row(cid: int, site_id: int, thread_id: int, parent_id: int | None, root_id: int,
                 depth: int, name: str, body: str, html: str, created_at: datetime) -> dict:
    return {
        "id": cid, "site_id": site_id, "thread_id": thread_id, "parent_id": parent_id,
        "root_id": root_id, "depth": depth, "user_id": None, "guest_name": name,
        "guest_email": "", "guest_email_key": "", "guest_key_hash": "", "body": body,
        "html": html, "status": Status.APPROVED, "created_at": created_at, "edited_at": None,
        "edited_by_moderator": False, "upvotes": 0, "downvotes": 0, "score": 0, "rank": 0.0,
        "pinned": False, "shadowed": False, "notify": False, "report_count": 0,
        "held_reasons": [], "ip_hash": "", "body_hash": body_fingerprint(body),
        "parent_notified": True,
    }


def seed_discuss(database_url: str) -> dict[str, int]:
    """A fresh schema with the bench site, its threads and comments; returns thread sizes."""
    app = bench_app(database_url)
    sizes: dict[str, int] = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        site = sites.create_site(SITE, origins=[ORIGIN], moderation="post")
        db.session.flush()
        plans = {key: plan_thread(size, seed=n) for n, (key, size) in
                 enumerate(THREAD_SIZES.items())}
        for n, key in enumerate(COUNT_KEYS):
            plans[key] = plan_thread(n % 7, seed=100 + n)
        plans[POST_KEY] = plan_thread(3, seed=999)
        next_id = 1
        rows: list[dict] = []
        for key, plan in plans.items():
            thread = Thread(site_id=site.id, key=key, url=f"{ORIGIN}/{key}",
                            title=f"Article {key}", comment_count=len(plan), version=1)
            db.session.add(thread)
            db.session.flush()
            ids: dict[int, int] = {}
            depth: dict[int, int] = {}
            roots: dict[int, int] = {}
            for planned in plan:
                cid = ids[planned.index] = next_id
                next_id += 1
                parent_id = ids[planned.parent] if planned.parent is not None else None
                depth[cid] = depth[parent_id] + 1 if parent_id else 0
                roots[cid] = roots[parent_id] if parent_id else cid
                rows.append(_comment_row(cid, site.id, thread.id, parent_id, roots[cid],
                                         depth[cid], planned.name, planned.body,
                                         render_markdown(planned.body), planned.created_at))
            sizes[key] = len(plan)
        if rows:
            db.session.execute(insert(Comment), rows)
        db.session.commit()
        _reset_sequences()
        settle(db.engine)
        db.engine.dispose()
    return sizes


def settle(engine) -> None:
    """Bring fresh tables to the state a running site's are in: on PostgreSQL, statistics for
    the planner and a visibility map (VACUUM ANALYZE), which autovacuum would otherwise start
    in the middle of the first scenarios, planning them blind until it has."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


READER = "bench-reader"


def reader_token(database_url: str) -> str:
    """A signed-in reader for the per-reader rows: an account with an API token (sent as a
    bearer token, as an app would) who voted on three comments of the 100-comment thread."""
    app = bench_app(database_url)
    with app.app_context():
        user = accounts.create_user(READER, f"{READER}@example.com", "bench-reader-passphrase-42")
        raw, _ = accounts.create_api_token(user, "bench", days=30)
        thread = db.session.scalar(select(Thread).where(Thread.key == "t100"))
        for comment in db.session.scalars(select(Comment).where(Comment.thread_id == thread.id)
                                          .order_by(Comment.id).limit(3)):
            votes.vote(comment, Actor(user=user), 1)
        db.session.commit()
        db.engine.dispose()
    return raw


def _reset_sequences() -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("comments", "threads"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    db.session.commit()


def _million_rows(site_id: int, first_thread_id: int, first_comment_id: int):
    """Yield (thread tuples, comment tuples) in the table's column order."""
    pool = [(body, render_markdown(body), body_fingerprint(body)) for body in BODIES]
    shape = plan_thread(MILLION_PER_THREAD, seed=4242)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    cid = first_comment_id
    for t in range(MILLION_THREADS):
        tid = first_thread_id + t
        created = start + timedelta(minutes=t)
        thread = (tid, site_id, f"filler-{t}", f"{ORIGIN}/filler-{t}", f"Filler {t}", False,
                  MILLION_PER_THREAD, created, 1)
        ids: dict[int, int] = {}
        roots: dict[int, int] = {}
        depths: dict[int, int] = {}
        comments = []
        for planned in shape:
            ids[planned.index] = cid
            parent = ids[planned.parent] if planned.parent is not None else None
            roots[cid] = roots[parent] if parent else cid
            depths[cid] = depths[parent] + 1 if parent else 0
            body, html, digest = pool[(t + planned.index) % len(pool)]
            comments.append((cid, site_id, tid, parent, roots[cid], depths[cid], None,
                             planned.name, "", "", "", body, html, "approved",
                             created + timedelta(seconds=planned.index), None, False, 0, 0, 0,
                             0.0, False, False, False, 0, "[]", "", digest, True))
            cid += 1
        yield thread, comments


def add_million(database_url: str) -> tuple[int, float]:
    """Add 20,000 threads of 50 comments (1,000,000 comments); returns (total, seconds)."""
    app = bench_app(database_url)
    began = time.perf_counter()
    with app.app_context():
        site_id = db.session.scalar(select(Site.id).where(Site.slug == SITE))
        first_thread = (db.session.scalar(select(func.max(Thread.id))) or 0) + 1
        first_comment = (db.session.scalar(select(func.max(Comment.id))) or 0) + 1
        db.session.commit()
        raw = db.engine.raw_connection()
        try:
            if db.engine.dialect.name == "postgresql":
                _copy_postgres(raw, site_id, first_thread, first_comment)
            else:
                _insert_sqlite(raw, site_id, first_thread, first_comment)
            raw.commit()
        finally:
            raw.close()
        _reset_sequences()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Comment))
        db.engine.dispose()
    return total, time.perf_counter() - began


def _copy_postgres(raw, site_id: int, first_thread: int, first_comment: int) -> None:
    cursor = raw.cursor()
    threads_copy = f"COPY threads ({', '.join(THREAD_COLUMNS)}) FROM STDIN"
    comments_copy = f"COPY comments ({', '.join(COMMENT_COLUMNS)}) FROM STDIN"
    rows = list(_million_rows(site_id, first_thread, first_comment))
    with cursor.copy(threads_copy) as copy:
        for thread, _ in rows:
            copy.write_row(thread)
    with cursor.copy(comments_copy) as copy:
        for _, comments in rows:
            for comment in comments:
                copy.write_row(comment)


def _sqlite_time(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime type writes and reads back.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _insert_sqlite(raw, site_id: int, first_thread: int, first_comment: int) -> None:
    cursor = raw.cursor()
    # Column names come from the constants above, never from input.
    thread_sql = (f"INSERT INTO threads ({', '.join(THREAD_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(THREAD_COLUMNS))})")
    comment_sql = (f"INSERT INTO comments ({', '.join(COMMENT_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(COMMENT_COLUMNS))})")
    batch_threads: list[tuple] = []
    batch_comments: list[tuple] = []
    created_at = COMMENT_COLUMNS.index("created_at")
    for thread, comments in _million_rows(site_id, first_thread, first_comment):
        batch_threads.append((*thread[:7], _sqlite_time(thread[7]), *thread[8:]))
        for row in comments:
            batch_comments.append((*row[:created_at], _sqlite_time(row[created_at]),
                                   *row[created_at + 1:]))
        if len(batch_comments) >= 50_000:
            cursor.executemany(thread_sql, batch_threads)
            cursor.executemany(comment_sql, batch_comments)
            batch_threads.clear()
            batch_comments.clear()
    cursor.executemany(thread_sql, batch_threads)
    cursor.executemany(comment_sql, batch_comments)



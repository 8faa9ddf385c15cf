"""Helpers of the import tests: run the CLI as an admin would, read threads as readers do."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, Thread

DATA = Path(__file__).parent / "data"


def run_import(runner, path: Path | str, *options: str, slug: str = "demo"):
    return runner.invoke(args=["discuss", "import", slug, str(path), *options])


def imported_thread(runner, client: FlaskClient, path: Path | str, key: str) -> dict:
    """Import ``path`` (it must succeed), then read thread ``key`` as a reader does."""
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    return api_thread(client, key)


def import_twice(runner, path: Path | str, *options: str) -> str:
    """Import ``path`` twice; the second run (with ``options``) must succeed and change no row.
    Its output, for what it says."""
    assert run_import(runner, path).exit_code == 0
    before, state = counts(), database_state()
    again = run_import(runner, path, *options)
    assert again.exit_code == 0, again.output
    assert counts() == before
    assert database_state() == state
    return again.output


def api_thread(client: FlaskClient, key: str, slug: str = "demo") -> dict:
    """The thread as the JSON API shows it to a reader (every page of top-level comments)."""
    response = client.get("/api/v1/threads", query_string={"site": slug, "key": key})
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    cursor = data["next_cursor"]
    while cursor:
        more = client.get("/api/v1/threads",
                          query_string={"site": slug, "key": key, "cursor": cursor}).get_json()
        data["comments"] += more["comments"]
        cursor = more["next_cursor"]
    return data


def shape(comments: list[dict]) -> list:
    """The visible tree as (author name or None for a placeholder, [replies…]) pairs."""
    return [((c["author"] or {}).get("name"), shape(c["replies"])) for c in comments]


def by_author(comments: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for c in comments:
        if c["author"]:
            found[c["author"]["name"]] = c
        found.update(by_author(c["replies"]))
    return found


def counts() -> tuple[int, int]:
    """(threads, comments) in the database."""
    return (db.session.scalar(select(func.count()).select_from(Thread)),
            db.session.scalar(select(func.count()).select_from(Comment)))


def database_state() -> list[tuple]:
    """Every thread and comment row as it stands: what a second import must not change."""
    threads = db.session.execute(
        select(Thread.id, Thread.key, Thread.url, Thread.title, Thread.closed,
               Thread.comment_count, Thread.version).order_by(Thread.id))
    rows = db.session.execute(
        select(Comment.id, Comment.thread_id, Comment.parent_id, Comment.guest_name,
               Comment.guest_email, Comment.body, Comment.html, Comment.status,
               Comment.created_at, Comment.edited_at, Comment.score, Comment.pinned)
        .order_by(Comment.id))
    return [tuple(row) for row in [*threads, *rows]]

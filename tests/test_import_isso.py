"""An admin moves from Isso: the database a real Isso (a dev dependency) wrote through its own
API is read as it is, with modes as statuses, likes minus dislikes as the score, names as Isso
showed them and Markdown rendered as ours."""

from __future__ import annotations

import gzip
import logging
import sqlite3
from pathlib import Path

import pytest
from werkzeug.test import Client

from discuss.extensions import db
from discuss.models import Comment, Status
from tests.import_helpers import api_thread, by_author, counts, import_twice, run_import, shape

MARCH_1 = 1456826400.0  # 2016-03-01T10:00:00Z


def _isso_app(path: Path):
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from isso import Isso, config  # configures logging when first imported: undone below
    from isso.core import Mixin

    root.setLevel(level)
    root.handlers[:] = handlers

    class App(Isso, Mixin):
        """Isso without its background threads (its purge timer)."""

    conf = config.load(config.default_file())
    conf.read_dict({
        # A host nobody listens on: Isso never fetches it when a title is given.
        "general": {"dbpath": str(path), "host": "http://127.0.0.1:9/"},
        "moderation": {"enabled": "true"},  # every comment waits; some are approved below
        "guard": {"enabled": "false"},
    })
    return App(conf)


@pytest.fixture
def isso_db(tmp_path: Path) -> Path:
    """An Isso database made by Isso itself: comments and votes through its HTTP API, approval,
    deletion and times through its own storage code, as its admin pages and server would."""
    path = tmp_path / "comments.db"
    isso = _isso_app(path)
    client = Client(isso)

    def add(uri: str, title: str | None, text: str, *, author: str | None = None,
            email: str | None = None, parent: int | None = None, at: float = 0.0,
            approve: bool = True) -> int:
        data = {"text": text, "author": author, "email": email, "parent": parent}
        if title is not None:
            data["title"] = title
        response = client.post(f"/new?uri={uri}", json=data,
                               environ_base={"REMOTE_ADDR": "192.0.2.1"})
        assert response.status_code in (201, 202), response.get_data(as_text=True)
        comment_id = response.get_json()["id"]
        isso.db.comments.update(comment_id, {"created": MARCH_1 + at})
        if approve:
            isso.db.comments.activate(comment_id)
        return comment_id

    top = add("/2016/jj-s2/", "Jessica Jones", "Do you think *Jessica* will appear?\n\n"
              "<b>raw</b> `code`", author="Priya & <Co>", email="priya@example.com")
    add("/2016/jj-s2/", None, "Only as a cameo.", author="Sam", parent=top, at=60)
    add("/2016/jj-s2/", None, "Waiting for moderation.", author="Pat", at=120, approve=False)
    gone = add("/2016/jj-s2/", None, "I will regret this.", author="Regretful", at=180)
    add("/2016/jj-s2/", None, "Answering the regretted one.", parent=gone, at=240)
    add("/about/", "About", "Hello from the about page.", author="Ana", at=400)
    alone = add("/2016/jj-s2/", None, "Deleted without replies.", author="Gone", at=300)
    isso.db.comments.delete(gone)  # it has a reply: Isso keeps it as mode 4 without text
    isso.db.comments.delete(alone)  # no replies: Isso removes it for good
    for n, like in enumerate([True, True, True, False]):
        response = client.post(f"/id/{top}/{'like' if like else 'dislike'}",
                               environ_base={"REMOTE_ADDR": f"198.51.{n}.7"})
        assert response.status_code == 200
    isso.db.comments.update(top, {"modified": MARCH_1 + 3600})
    return path


def test_readers_see_the_isso_threads_with_scores_and_placeholders(runner, client, site, isso_db):
    result = run_import(runner, isso_db)
    assert result.exit_code == 0, result.output
    assert ("Imported from isso: 2 threads (2 new), 6 comments (1 pending, 4 approved, "
            "1 deleted).") in result.output
    assert "1 deleted comment without text was kept as a placeholder." in result.output
    # Isso forgets a deleted comment's author; and one reply was posted without a name.
    assert "2 authors without a name are shown as Anonymous." in result.output

    data = api_thread(client, "/2016/jj-s2/")
    assert data["thread"]["title"] == "Jessica Jones"
    assert shape(data["comments"]) == [("Priya & <Co>", [("Sam", [])]),
                                       (None, [("Anonymous", [])])]
    priya = by_author(data["comments"])["Priya & <Co>"]  # Isso stored it HTML-escaped
    assert priya["score"] == 2  # 3 likes − 1 dislike
    assert priya["created_at"] == "2016-03-01T10:00:00Z"
    assert priya["edited_at"] == "2016-03-01T11:00:00Z"
    # Markdown rendered as ours; raw HTML typed in Isso shows as text.
    assert priya["html"] == ("<p>Do you think <em>Jessica</em> will appear?</p>\n"
                             "<p>&lt;b&gt;raw&lt;/b&gt; <code>code</code></p>")
    assert api_thread(client, "/about/")["comments"][0]["author"]["name"] == "Ana"
    pending = db.session.query(Comment).filter_by(guest_name="Pat").one()
    assert pending.status == Status.PENDING
    assert db.session.query(Comment).filter_by(guest_name="Priya & <Co>").one().guest_email == \
        "priya@example.com"


def test_the_isso_database_is_not_changed_and_a_second_import_adds_nothing(runner, site,
                                                                           isso_db):
    original = isso_db.read_bytes()
    import_twice(runner, isso_db, "--format", "isso")
    assert isso_db.read_bytes() == original


def test_a_gzip_compressed_isso_database_imports_too(runner, site, isso_db, tmp_path):
    packed = tmp_path / "comments.db.gz"
    packed.write_bytes(gzip.compress(isso_db.read_bytes()))
    result = run_import(runner, packed)
    assert result.exit_code == 0, result.output
    assert "Imported from isso: 2 threads (2 new), 6 comments" in result.output


def test_a_sqlite_database_that_is_not_isso_is_refused(runner, site, tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    other.close()
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "not Isso's: it has no 'threads' table" in result.output
    assert counts() == (0, 0)

"""An admin moves from Isso: the database a real Isso (a dev dependency) wrote is read as it
is, with modes as statuses, likes minus dislikes as the score and Markdown rendered as ours."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from isso import config as isso_config
from isso.db import SQLite3

from discuss.extensions import db
from discuss.models import Comment, Status
from tests.import_helpers import api_thread, by_author, counts, database_state, run_import, shape

MARCH_1 = 1456826400.0  # 2016-03-01T10:00:00Z


@pytest.fixture
def isso_db(tmp_path: Path) -> Path:
    """An Isso database made through Isso's own storage code, as its server would."""
    path = tmp_path / "comments.db"
    isso = SQLite3(str(path), isso_config.new({"general": {"dbpath": str(path)}}))
    isso.threads.new("/2016/jj-s2/", "Jessica Jones")

    def add(uri: str, text: str, *, author: str | None = "Reader", mode: int = 1,
            parent: int | None = None, at: float = 0.0, email: str | None = None) -> int:
        return isso.comments.add(uri, {
            "text": text, "author": author, "email": email, "website": None, "mode": mode,
            "remote_addr": "127.0.0.1", "parent": parent, "created": MARCH_1 + at,
            "notification": 0})["id"]

    top = add("/2016/jj-s2/", "Do you think *Jessica* will appear?\n\n<b>raw</b> `code`",
              author="Priya", email="priya@example.com")
    add("/2016/jj-s2/", "Only as a cameo.", author="Sam", parent=top, at=60)
    add("/2016/jj-s2/", "Waiting for moderation.", author="Pat", mode=2, at=120)
    gone = add("/2016/jj-s2/", "I will regret this.", author="Regretful", at=180)
    add("/2016/jj-s2/", "Answering the regretted.", author=None, parent=gone, at=240)
    isso.threads.new("/about/", None)
    add("/about/", "Hello from the about page.", author="Ana", at=400)
    isso.comments.delete(gone)  # has a reply: Isso keeps the row as mode 4 without text
    alone = add("/2016/jj-s2/", "Deleted without replies.", at=300)
    isso.comments.delete(alone)  # Isso removes it for good
    for n in range(3):
        isso.comments.vote(True, top, f"10.0.0.{n}")
    isso.comments.vote(False, top, "10.0.1.1")
    isso.comments.update(top, {"modified": MARCH_1 + 3600})
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
    assert shape(data["comments"]) == [("Priya", [("Sam", [])]), (None, [("Anonymous", [])])]
    priya = by_author(data["comments"])["Priya"]
    assert priya["score"] == 2  # 3 likes − 1 dislike
    assert priya["created_at"] == "2016-03-01T10:00:00Z"
    assert priya["edited_at"] == "2016-03-01T11:00:00Z"
    # Markdown rendered as ours; raw HTML typed in Isso shows as text.
    assert priya["html"] == ("<p>Do you think <em>Jessica</em> will appear?</p>\n"
                             "<p>&lt;b&gt;raw&lt;/b&gt; <code>code</code></p>")
    assert api_thread(client, "/about/")["thread"]["title"] == ""
    pending = db.session.query(Comment).filter_by(guest_name="Pat").one()
    assert pending.status == Status.PENDING
    assert db.session.query(Comment).filter_by(guest_name="Priya").one().guest_email == \
        "priya@example.com"


def test_the_isso_database_is_not_changed_and_a_second_import_adds_nothing(runner, site,
                                                                           isso_db):
    original = isso_db.read_bytes()
    assert run_import(runner, isso_db).exit_code == 0
    before, state = counts(), database_state()
    again = run_import(runner, isso_db, "--format", "isso")
    assert again.exit_code == 0, again.output
    assert counts() == before
    assert database_state() == state
    assert isso_db.read_bytes() == original


def test_a_gzip_compressed_isso_database_imports_too(runner, site, isso_db, tmp_path):
    packed = tmp_path / "comments.db.gz"
    packed.write_bytes(gzip.compress(isso_db.read_bytes()))
    result = run_import(runner, packed)
    assert result.exit_code == 0, result.output
    assert "Imported from isso: 2 threads (2 new), 6 comments" in result.output


def test_a_sqlite_database_that_is_not_isso_is_refused(runner, site, tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    other.close()
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "not Isso's: it has no 'threads' table" in result.output
    assert counts() == (0, 0)

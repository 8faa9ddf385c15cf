"""Production plumbing one process can show: health, request ids, caching, gzip, backups."""

from __future__ import annotations

import gzip
import json
import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from discuss.extensions import db
from tests.conftest import make_thread, post


def test_health_check_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_check_says_unavailable_when_the_database_does_not(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_every_response_carries_a_request_id_and_keeps_the_proxys(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 16
    assert client.get("/healthz").headers["X-Request-ID"] != made
    given = client.get("/healthz", headers={"X-Request-ID": "nginx-abc123def456"})
    assert given.headers["X-Request-ID"] == "nginx-abc123def456"
    forged = client.get("/healthz", headers={"X-Request-ID": "x] FAKE LOG LINE"})
    assert "FAKE" not in forged.headers["X-Request-ID"]


def test_log_lines_name_the_request_they_belong_to(app, client, caplog):
    @app.get("/log-probe")
    def log_probe():
        logging.getLogger("discuss.probe").warning("probing")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="discuss.probe"):
        client.get("/log-probe", headers={"X-Request-ID": "req-0123456789"})
    record = next(r for r in caplog.records if r.getMessage() == "probing")
    assert record.request_id == "req-0123456789"


def test_stylesheet_url_carries_its_content_hash_and_is_cached_for_a_year(client, site):
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "/static/discuss.css?v=" in page
    url = page.split('href="', 1)[1].split('"', 1)[0]
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get("/static/discuss.css") as unversioned:
        assert "immutable" not in unversioned.headers.get("Cache-Control", "")


def test_unchanged_thread_answers_304_until_a_comment_arrives(client, site):
    thread = make_thread(site)
    post(thread, "First")
    db.session.commit()
    url = "/api/v1/threads?site=demo&key=article-1"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    post(thread, "Second")
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert [c["html"] for c in changed.get_json()["comments"]] == ["<p>First</p>",
                                                                  "<p>Second</p>"]


def test_a_guests_own_pending_comment_changes_their_etag_not_everyones(client, site, app):
    site.moderation = "pre"
    db.session.commit()
    url = "/api/v1/threads?site=demo&key=article-1"
    key = {"X-Discuss-Guest": "k" * 40}
    created = client.post("/api/v1/comments", json={
        "site": "demo", "key": "article-1", "url": "https://news.example.com/a",
        "body": "Waiting", "name": "Ann"}, headers=key)
    assert created.status_code == 201
    mine = client.get(url, headers=key)
    anyone = client.get(url)
    assert mine.headers["ETag"] != anyone.headers["ETag"]
    assert "private" in mine.headers["Cache-Control"]
    assert [c["status"] for c in mine.get_json()["comments"]] == ["pending"]
    assert anyone.get_json()["comments"] == []


def test_thread_json_is_gzipped_for_browsers_that_ask(client, site):
    thread = make_thread(site)
    for n in range(20):
        post(thread, f"Comment number {n} with some *Markdown* text to compress")
    db.session.commit()
    url = "/api/v1/threads?site=demo&key=article-1"
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data) / 2
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_backup_copies_a_live_sqlite_database(app, runner, site, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("discuss backup copies SQLite databases")
    thread = make_thread(site)
    post(thread, "Keep me safe")
    db.session.commit()
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["discuss", "backup", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT body FROM comments").fetchall() == [("Keep me safe",)]
    again = runner.invoke(args=["discuss", "backup", str(target)])
    assert again.exit_code != 0
    assert "exists already" in again.output

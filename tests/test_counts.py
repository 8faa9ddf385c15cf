"""Comment counts for article lists: /api/v1/counts, its limits, caching and CORS."""

from __future__ import annotations

import pytest

from discuss import comments
from discuss.extensions import db
from discuss.models import Status
from tests.conftest import guest, make_thread, post


def counts_url(*keys: str, site: str = "demo") -> str:
    query = "&".join([f"site={site}", *(f"key={key}" for key in keys)])
    return f"/api/v1/counts?{query}"


def test_counts_show_only_approved_comments(client, site):
    thread = make_thread(site, "a")
    post(thread, "one")
    post(thread, "two", actor=guest("h" * 40))
    held = post(thread, "three", actor=guest("i" * 40))
    comments.set_status(held, Status.PENDING)
    spam = post(thread, "four", actor=guest("j" * 40))
    comments.set_status(spam, Status.SPAM)
    db.session.commit()

    response = client.get(counts_url("a", "never-discussed"))

    assert response.status_code == 200
    assert response.get_json()["counts"] == {"a": 2, "never-discussed": 0}


def test_counts_without_keys_is_a_400_that_says_why(client, site):
    response = client.get("/api/v1/counts?site=demo")
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"key": "required"}


def test_counts_for_a_thousand_keys_is_a_400_that_says_why(client, site):
    response = client.get(counts_url(*(f"k{i}" for i in range(1000))))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"key": "too_many"}


def test_counts_accept_a_hundred_keys(client, site):
    response = client.get(counts_url(*(f"k{i}" for i in range(100))))
    assert response.status_code == 200
    assert len(response.get_json()["counts"]) == 100


def test_counts_of_unknown_site_is_a_404(client, site):
    response = client.get(counts_url("a", site="nope"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"


def test_counts_may_be_read_from_any_origin_and_cached_briefly(client, site):
    response = client.get(counts_url("a"), headers={"Origin": "https://blog.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert response.headers["ETag"]


def test_counts_answer_304_while_nothing_changed_and_200_after_a_comment(client, site):
    thread = make_thread(site, "a")
    post(thread, "one")
    first = client.get(counts_url("a"))
    etag = first.headers["ETag"]

    again = client.get(counts_url("a"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"

    post(make_thread(site, "a"), "two", actor=guest("h" * 40))
    changed = client.get(counts_url("a"), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["counts"] == {"a": 2}
    assert changed.headers["ETag"] != etag


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_counts_cannot_be_written(client, site, method):
    response = getattr(client, method)(counts_url("a"))
    # The API's catch-all answers writes to a read-only path as an unknown endpoint.
    assert response.status_code in (404, 405)
    assert response.get_json()["error"]
    assert "Access-Control-Allow-Origin" not in response.headers

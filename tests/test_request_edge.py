"""What every answer carries from the web edge (security headers, request id, Vary, gzip,
session cookie) and how query strings are read, whichever shortcut the edge takes."""

from __future__ import annotations

import gzip
import json

import pytest

from discuss.extensions import db
from tests.accounts_helpers import api_login, make_user
from tests.conftest import make_thread, post


def test_keys_read_the_same_escaped_plus_encoded_or_plain(client, site):
    for key in ("a b", "x=y&z", "é", "plain"):
        post(make_thread(site, key), f"about {key}")
    db.session.commit()

    query = "site=demo&key=a+b&key=x%3Dy%26z&key=%C3%A9&key=plain&key=unknown&&"
    response = client.get(f"/api/v1/counts?{query}")

    assert response.get_json()["counts"] == {"a b": 1, "x=y&z": 1, "é": 1, "plain": 1,
                                             "unknown": 0}


@pytest.mark.parametrize("query", ["site=demo&key", "site=demo&key=", "site=demo"])
def test_a_key_without_a_value_is_a_400(client, site, query):
    response = client.get(f"/api/v1/counts?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"key": "required"}


def test_counts_carry_the_edge_headers_and_no_cookie(client, site):
    response = client.get("/api/v1/counts?site=demo&key=a",
                          headers={"X-Request-ID": "proxy-id-12345"})

    headers = response.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "public, max-age=30"
    assert headers["ETag"].startswith('W/"')
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Request-ID"] == "proxy-id-12345"
    assert headers["Vary"] == "Accept-Language, Accept-Encoding, Cookie"  # words per language
    assert "Set-Cookie" not in headers
    assert len(headers.getlist("Content-Security-Policy")) == 1


def test_many_counts_are_gzipped_for_browsers_that_ask_under_the_same_etag(client, site):
    url = "/api/v1/counts?site=demo&" + "&".join(f"key=article-{i}" for i in range(60))
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.get_data())) == plain.get_json()
    assert zipped.headers["ETag"] == plain.headers["ETag"]
    assert zipped.headers["Vary"] == plain.headers["Vary"] == \
        "Accept-Language, Accept-Encoding, Cookie"
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_a_signed_in_browser_stays_signed_in_after_reading_counts(client, site):
    make_user("reader")
    api_login(client)
    assert client.get("/api/v1/counts?site=demo&key=a").status_code == 200
    assert client.get("/api/v1/me").get_json()["username"] == "reader"


def test_a_session_signed_with_a_retired_key_still_counts(app, client, site):
    make_user("reader")
    api_login(client)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-brand-new-secret-key-for-this-test"
    assert client.get("/api/v1/me").get_json()["username"] == "reader"


def test_a_forged_session_cookie_signs_no_one_in(client, site):
    client.set_cookie("discuss_session", "eyJkaXNjdXNzX3Rva2VuIjoieCJ9.forged.signature")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json() is None


def test_who_posts_is_read_from_cookies_and_tokens_and_the_answer_varies_on_them(app, site):
    make_thread(site, "article")
    user = make_user("reader")
    db.session.commit()
    payload = {"site": "demo", "key": "article", "body": "Who am I?", "name": "Guest"}

    bare = app.test_client(use_cookies=False)
    as_guest = bare.post("/api/v1/comments", json=payload)
    assert as_guest.status_code == 201
    assert as_guest.get_json()["author"]["username"] is None
    assert "Cookie" in as_guest.headers.get("Vary", "")

    token = api_login(app.test_client(), user.username)
    signed_in = bare.post("/api/v1/comments", json={**payload, "body": "Now I know."},
                          headers={"Authorization": f"Bearer {token}"})
    assert signed_in.status_code == 201
    assert signed_in.get_json()["author"]["username"] == "reader"


def test_functions_made_per_request_are_not_kept_for_ever(app):
    """The app remembers which of its views and hooks are coroutines; callbacks made per
    request (after_this_request) still run, and the memory for them stays bounded."""
    for n in range(app.KEPT_FUNCTIONS + 500):
        assert app.ensure_sync(lambda n=n: n)() == n
    assert len(app._sync) <= app.KEPT_FUNCTIONS

"""Rate limits per IP and per account, answered with 429 and Retry-After; shared via Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from flask import jsonify

from discuss import accounts
from discuss.extensions import db
from discuss.web.limits import limit_posting, limit_reporting, limit_signin, limit_voting
from tests.accounts_helpers import make_user

LIMITS = {"DISCUSS_RATELIMIT_POST": "2/minute", "DISCUSS_RATELIMIT_VOTE": "2/minute",
          "DISCUSS_RATELIMIT_REPORT": "2/minute", "DISCUSS_RATELIMIT_LOGIN": "2/minute"}
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def app_settings() -> dict:
    return dict(LIMITS)


@pytest.fixture
def client(app):
    """Like a script: no cookie jar (so no CSRF token is needed)."""
    return app.test_client(use_cookies=False)


def comment(n: int) -> dict:
    return {"site": "demo", "key": "article-1", "url": "https://news.example.com/a",
            "body": f"Comment {n}", "name": "Reader"}


def from_ip(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_third_post_in_a_minute_from_one_ip_gets_429_with_retry_after(client, site):
    for n in range(2):
        assert client.post("/api/v1/comments", json=comment(n),
                           **from_ip("10.0.0.1")).status_code == 201
    response = client.post("/api/v1/comments", json=comment(3), **from_ip("10.0.0.1"))
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # Another reader, from another address, is not held back.
    assert client.post("/api/v1/comments", json=comment(4),
                       **from_ip("10.0.0.2")).status_code == 201


def test_an_account_is_limited_across_addresses(client, site):
    user = make_user("busy")
    raw, _ = accounts.create_api_token(user, "t", days=1)
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    for n, ip in enumerate(("10.1.0.1", "10.1.0.2")):
        assert client.post("/api/v1/comments", json=comment(n), headers=headers,
                           **from_ip(ip)).status_code == 201
    assert client.post("/api/v1/comments", json=comment(9), headers=headers,
                       **from_ip("10.1.0.3")).status_code == 429


def test_edits_count_with_posts(client, site):
    first = client.post("/api/v1/comments", json=comment(1), **from_ip("10.2.0.1"))
    key = first.headers["X-Discuss-Guest-Key"]
    headers = {"X-Discuss-Guest": key}
    cid = first.get_json()["id"]
    assert client.patch(f"/api/v1/comments/{cid}", json={"body": "Edited"}, headers=headers,
                        **from_ip("10.2.0.1")).status_code == 200
    assert client.patch(f"/api/v1/comments/{cid}", json={"body": "Again"}, headers=headers,
                        **from_ip("10.2.0.1")).status_code == 429


@pytest.mark.parametrize("decorator", [limit_voting, limit_reporting, limit_signin,
                                       limit_posting])
def test_each_limit_decorator_answers_429_after_its_limit(app, decorator):
    app.add_url_rule("/api/v1/_probe", "probe", decorator(lambda: jsonify(ok=True)),
                     methods=["POST"])
    client = app.test_client()
    codes = [client.post("/api/v1/_probe", **from_ip("10.3.0.1")).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize("app_settings", [{**LIMITS, "DISCUSS_RATELIMIT_ENABLED": False}])
def test_limits_can_be_switched_off(client, site):
    codes = {client.post("/api/v1/comments", json=comment(n), **from_ip("10.4.0.1")).status_code
             for n in range(5)}
    assert codes == {201}


SECOND_INSTANCE = textwrap.dedent("""
    import os, sys
    from discuss import create_app
    app = create_app({"DISCUSS_DATABASE_URL": sys.argv[1], "DISCUSS_SECRET_KEY": sys.argv[2],
                      "DISCUSS_PUBLIC_URL": "http://localhost", "DISCUSS_REDIS_URL": sys.argv[3],
                      "DISCUSS_RATELIMIT_POST": "3/minute", "TESTING": True})
    client = app.test_client(use_cookies=False)
    for n in range(2):
        response = client.post("/api/v1/comments", environ_base={"REMOTE_ADDR": "10.9.9.9"},
                               json={"site": "demo", "key": "article-1", "name": "R",
                                     "url": "https://news.example.com/a",
                                     "body": f"From the other process {n}"})
        print(response.status_code)
""")


@pytest.mark.redis
@pytest.mark.parametrize("app_settings", [{"DISCUSS_REDIS_URL": REDIS_URL,
                                           "DISCUSS_RATELIMIT_POST": "3/minute"}])
def test_two_app_processes_share_the_counters_through_redis(client, site, app, database_url,
                                                           tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    db.session.commit()
    env = {**os.environ, "DISCUSS_INSTANCE_PATH": str(tmp_path / "other-instance")}
    other = subprocess.run(
        [sys.executable, "-c", SECOND_INSTANCE, database_url, app.config["SECRET_KEY"],
         REDIS_URL], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert other.stdout.split() == ["201", "201"]
    assert client.post("/api/v1/comments", json=comment(1),
                       **from_ip("10.9.9.9")).status_code == 201
    response = client.post("/api/v1/comments", json=comment(2), **from_ip("10.9.9.9"))
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    redis.Redis.from_url(REDIS_URL).flushdb()

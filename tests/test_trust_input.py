"""Hostile input never gets a 500 (issue 12, finding 11): ids too large for the database on
every <int> route and in parent_id, JSON nested thousands deep, non-ASCII digits; an invalid
bearer token is a 401 and a wrong method on a known API path a 405."""

from __future__ import annotations

import json
import re

import pytest

from discuss import accounts
from discuss.extensions import db
from tests.accounts_helpers import bearer, make_user
from tests.conftest import make_thread, post

HUGE = [2**31, 2**63, 2**64, 10**30]  # past PostgreSQL's INTEGER, SQLite's, and more


@pytest.fixture
def moderator_token(app, site) -> str:
    user = make_user("mod", moderator_of=[site], is_admin=True)
    raw, _ = accounts.create_api_token(user, "t", days=1)
    db.session.commit()
    return raw


def _int_routes(app) -> list[tuple[str, str]]:
    """(method, URL template with {id}) of every route that takes an <int:…> part."""
    found = []
    for rule in app.url_map.iter_rules():
        if "int" not in {type(c).__name__ for c in rule._converters.values()} and \
                not any(conv.__class__.__name__ == "DatabaseIdConverter"
                        for conv in rule._converters.values()):
            continue
        path = rule.rule
        path = re.sub(r"<int:[a-z_]+>", "{id}", path)
        path = re.sub(r"<any\(([a-z]+)[^>]*>", r"\1", path)
        path = re.sub(r"<(?:[a-z_]+:)?[a-z_]+>", "demo", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_int_route_answers_a_huge_id_without_a_500(app, client, site, moderator_token):
    routes = _int_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        for value in [*HUGE, 2**63 - 1]:
            response = client.open(path.format(id=value), method=method, json={},
                                   headers=bearer(moderator_token))
            assert response.status_code < 500, (method, path, value)
            # Pages of the moderation area answer a redirect with a message instead.
            assert response.status_code in (303, 400, 401, 403, 404, 405), \
                (method, path, value)


@pytest.mark.parametrize("parent_id", [*HUGE, -(2**63) - 1, 2**63 - 1, 0, 1.5, "²", "1"])
def test_a_reply_to_an_impossible_parent_is_a_400(client, site, parent_id):
    make_thread(site, "a1")
    db.session.commit()
    response = client.post("/api/v1/comments", json={
        "site": "demo", "key": "a1", "body": "A reply", "name": "Ann", "parent_id": parent_id})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["parent_id"]


@pytest.mark.parametrize("raw", ["99999999999999999999", "²", "١٢", "-1", "9" * 400])
def test_the_embed_form_refuses_impossible_parents_and_query_ids(client, site, raw):
    page = client.get(f"/embed/demo?key=a1&reply={raw}&edit={raw}&posted={raw}")
    assert page.status_code < 500
    response = client.post("/embed/demo/comments", data={
        "key": "a1", "body": "A reply", "name": "Ann", "parent_id": raw})
    assert response.status_code < 500


def test_moderation_ids_too_large_are_refused(client, site, moderator_token):
    for ids in ([2**63], [2**64], ["²"]):
        response = client.post("/api/v1/moderation/actions", headers=bearer(moderator_token),
                               json={"ids": ids, "action": "approve"})
        assert response.status_code == 400
    response = client.post("/api/v1/moderation/ban-author", headers=bearer(moderator_token),
                           json={"comment_id": 2**64})
    assert response.status_code in (400, 404)
    response = client.post("/api/v1/moderation/actions", headers=bearer(moderator_token),
                           json={"ids": [1], "action": "approve",
                                 "expected_status": {"²": "pending"}})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/comments", "/api/v1/auth/login",
                                  "/api/v1/moderation/actions", "/api/v1/auth/register"])
def test_json_nested_thousands_deep_is_a_400(client, site, path):
    for depth in (1_000, 20_000):  # within the 256 kB a request body may have
        body = "[" * depth + "]" * depth
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code in (400, 401), (path, depth)
        nested = '{"a":' * depth + "1" + "}" * depth
        response = client.post(path, data=nested, content_type="application/json")
        assert response.status_code in (400, 401), (path, depth)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/me"), ("POST", "/api/v1/comments"), ("GET", "/api/v1/tokens"),
    ("GET", "/api/v1/threads?site=demo&key=a1"), ("POST", "/api/v1/moderation/actions")])
def test_an_invalid_bearer_token_is_a_401(client, site, method, path):
    for token in ("not-a-token", "x" * 500, "Zm9v.YmFy"):
        response = client.open(path, method=method, headers=bearer(token), json={
            "site": "demo", "key": "a1", "body": "hello", "name": "Ann"})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/api/v1/comments"), ("GET", "/api/v1/comments"), ("DELETE", "/api/v1/counts"),
    ("GET", "/api/v1/comments/1"), ("PUT", "/api/v1/comments/1"), ("GET", "/api/v1/auth/login"),
    ("POST", "/api/v1/threads"), ("GET", "/api/v1/comments/1/vote"),
])
def test_a_wrong_method_on_a_known_api_path_is_a_405(client, site, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"]


def test_an_unknown_api_path_is_still_a_json_404(client):
    response = client.open("/api/v1/no-such-thing", method="PUT", json={})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_endpoint"


def test_a_huge_id_in_a_thread_the_reader_sees_is_a_404(client, site):
    thread = make_thread(site, "a1")
    post(thread)
    db.session.commit()
    for value in HUGE:
        assert client.patch(f"/api/v1/comments/{value}", json={"body": "x"}).status_code == 404


BAD_ADDRESSES = ["victim@corp.example(n1)", "x,victim@corp.example", "victim@corp.example,x",
                 '"victim"@corp.example', "Victim <victim@corp.example>", "victim@[10.0.0.1]",
                 "(c)victim@corp.example", "victim@corp..example", "victim@corp.example\n"
                 "Bcc: other@corp.example"]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_addresses_that_name_another_mailbox_are_refused(client, site, address):
    """Finding 12: variants of one mailbox must not pass as new addresses (they defeated the
    one-confirmation-a-day throttle)."""
    response = client.post("/api/v1/comments", json={
        "site": "demo", "key": "a1", "body": "Hello", "name": "Ann", "email": address})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["email"] == "invalid"
    response = client.post("/api/v1/auth/register", json={
        "username": "newbie", "email": address, "password": "violet-harbor-lantern-42"})
    assert response.status_code == 400


def test_one_mailbox_gets_one_confirmation_a_day_whatever_its_spelling(app, site):
    from sqlalchemy import func, select

    from discuss.models import OutboxMessage
    from discuss.notifications import CONFIRM_SUBJECT

    for n, address in enumerate(["victim@corp.example", "Victim@CORP.example",
                                 "victim@Corp.Example"]):
        response = app.test_client().post("/api/v1/comments", json={
            "site": "demo", "key": "a1", "body": f"Hello {n}", "name": "Ann",
            "email": address})
        assert response.status_code == 201, response.get_json()
    sent = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.subject == CONFIRM_SUBJECT))
    assert sent == 1


@pytest.mark.parametrize("field", ["body", "name", "email", "key", "title", "url"])
def test_a_lone_surrogate_in_json_is_a_400(client, site, field):
    data = {"site": "demo", "key": "a1", "body": "hello", "name": "Ann", field: "PLACE"}
    raw = json.dumps(data).replace("PLACE", "a\\ud800b")
    response = client.post("/api/v1/comments", data=raw, content_type="application/json")
    assert response.status_code == 400


def test_an_emoji_escaped_as_a_surrogate_pair_is_fine(client, site):
    raw = json.dumps({"site": "demo", "key": "a1", "body": "Great \U0001F600", "name": "Ann"})
    assert "\\ud83d\\ude00" in raw
    response = client.post("/api/v1/comments", data=raw, content_type="application/json")
    assert response.status_code == 201
    assert "\U0001F600" in response.get_json()["html"]

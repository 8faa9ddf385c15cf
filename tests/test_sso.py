"""Single sign-on: readers signed in by the publisher's own site with a signed token (JWT).

Tokens are minted with PyJWT as a publisher would (docs/sso.md); the refused ones (alg none,
HS512) are crafted by hand or signed with the wrong algorithm.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select

from discuss import accounts, sites, sso
from discuss.extensions import db
from discuss.models import (
    AuthToken,
    Comment,
    OutboxMessage,
    Site,
    Thread,
    UsedSsoToken,
    User,
    utcnow,
)
from tests.accounts_helpers import PASSWORD, api_login, bearer, form_csrf, html_login, make_user
from tests.browser.conftest import start_service
from tests.conftest import csrf_header

SECRET = "publisher-secret-that-is-long-enough-for-hs512-too-0123456789abc"
OTHER_SECRET = "the-other-publishers-secret-also-long-enough-987"
URL = "https://news.example.com/2016/jj-s2"


@pytest.fixture
def app_settings():
    # A reader's page views each exchange a token and post; limits are tested elsewhere.
    return {"DISCUSS_RATELIMIT_ENABLED": False}


@pytest.fixture
def sso_site(app) -> Site:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post",
                             name="Daily Bugle")
    site.min_submit_seconds = 0
    sso.set_secret(site, SECRET)
    db.session.commit()
    return site


@pytest.fixture
def other_site(app) -> Site:
    site = sites.create_site("other", origins=["https://other.example.com"],
                             moderation="post", name="Other Paper")
    site.min_submit_seconds = 0
    sso.set_secret(site, OTHER_SECRET)
    db.session.commit()
    return site


def mint(secret: str = SECRET, *, algorithm: str = "HS256", drop: tuple[str, ...] = (),
         **claims) -> str:
    """A token as the publisher's server makes it: PyJWT, the site's secret, 5 minutes."""
    now = int(time.time())
    payload = {"sub": "42", "name": "Jessica Jones", "email": "jessica@alias.example",
               "aud": "demo", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    payload.update(claims)
    for name in drop:
        payload.pop(name)
    return jwt.encode(payload, secret, algorithm=algorithm)


def unsigned(**claims) -> str:
    """A token with alg "none" and no signature, as an attacker would send it."""
    now = int(time.time())
    payload = {"sub": "42", "name": "Jessica Jones", "aud": "demo", "iat": now,
               "exp": now + 300, "jti": uuid.uuid4().hex, **claims}

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def exchange(client, token: str, site: str = "demo", headers: dict | None = None):
    # As the iframe's script: the page's CSRF token goes along once the browser has cookies.
    headers = dict(headers or {})
    if client._cookies and "Authorization" not in headers:
        headers.update(csrf_header(client))
    return client.post("/api/v1/auth/sso", json={"site": site, "token": token}, headers=headers)


def signed_in(client, token: str, site: str = "demo") -> str:
    response = exchange(client, token, site)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def site_users() -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(select(User).where(User.site_id.is_not(None))
                                   .order_by(User.id)))


def say(client, session: str, body: str, *, site: str = "demo", **extra):
    return client.post("/api/v1/comments", headers=bearer(session), json={
        "site": site, "key": "jj-s2", "url": URL.replace("news", "other") if site == "other"
        else URL, "title": "Jessica Jones Season 2", "body": body, **extra})


# ---------------------------------------------------------------- signing on


def test_a_valid_token_signs_the_reader_in_as_a_password_sign_in_does(client, sso_site):
    response = exchange(client, mint())
    assert response.status_code == 200
    data = response.get_json()
    assert data["user"]["name"] == "Jessica Jones"
    assert data["user"]["site"] == "demo"
    assert data["user"]["moderator_of"] == []
    assert data["user"]["is_admin"] is False
    # The bearer token works, and so does the session cookie set by the same answer.
    me = client.get("/api/v1/me", headers=bearer(data["token"])).get_json()
    assert me["name"] == "Jessica Jones"
    assert client.get("/api/v1/me").get_json()["name"] == "Jessica Jones"


def test_a_second_sign_on_in_the_same_browser_ends_the_first_session(client, sso_site):
    first = signed_in(client, mint())
    second = exchange(client, mint(), headers=bearer(first))
    assert second.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(first)).get_json() is None
    assert client.get("/api/v1/me", headers=bearer(second.get_json()["token"])).get_json()


def _refusals() -> list:
    past = int(time.time()) - 3600
    return [
        pytest.param(lambda: mint(exp=past + 300, iat=past), "expired", id="expired"),
        pytest.param(lambda: mint(exp=int(time.time()) + 11 * 60), "too_long_lived",
                     id="exp-more-than-10-minutes-after-iat"),
        pytest.param(lambda: mint(OTHER_SECRET), "signature", id="bad-signature"),
        pytest.param(lambda: mint()[:-4] + "AAAA", "signature", id="tampered-signature"),
        pytest.param(unsigned, "algorithm", id="alg-none"),
        pytest.param(lambda: mint(algorithm="HS512"), "algorithm", id="alg-HS512"),
        pytest.param(lambda: mint(aud="other"), "audience", id="another-sites-aud"),
        pytest.param(lambda: mint(aud=["demo", "other"]), "audience", id="aud-as-a-list"),
        pytest.param(lambda: mint(sub=42), "invalid", id="sub-not-a-string"),
        pytest.param(lambda: mint(email="not an address"), "invalid", id="bad-email"),
        pytest.param(lambda: mint(name="\u200b\u202e "), "missing_claim", id="invisible-name"),
        pytest.param(lambda: mint(iat=int(time.time()) + 3600, exp=int(time.time()) + 3900),
                     "not_yet_valid", id="issued-in-the-future"),
        pytest.param(lambda: "not.a.token", "invalid", id="garbage"),
        pytest.param(lambda: "", "missing", id="empty"),
        *[pytest.param(lambda claim=claim: mint(drop=(claim,)), "missing_claim",
                       id=f"missing-{claim}")
          for claim in ("sub", "name", "aud", "iat", "exp", "jti")],
    ]


@pytest.mark.parametrize(("make_token", "reason"), _refusals())
def test_a_refused_token_is_a_401_and_signs_no_one_in(client, sso_site, other_site,
                                                      make_token, reason):
    response = exchange(client, make_token())
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "invalid_sso_token"
    assert error["fields"] == {"token": reason}
    assert site_users() == []
    assert client.get("/api/v1/me").get_json() is None


def test_a_token_is_used_once(client, app, sso_site):
    token = mint()
    assert exchange(client, token).status_code == 200
    again = exchange(app.test_client(), token)  # replayed from another browser
    assert again.status_code == 401
    assert again.get_json()["error"]["fields"] == {"token": "used"}


def test_a_used_token_id_is_kept_until_the_token_expires_then_forgotten(app, sso_site):
    now = utcnow()
    sso.sign_on(sso_site, mint(), now=now)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(UsedSsoToken)) == 1
    sso.sign_on(sso_site, mint(iat=int(time.time()) + 600, exp=int(time.time()) + 900),
                now=now + timedelta(minutes=10))
    db.session.commit()
    # The first token expired: its row went; the second's stays.
    assert db.session.scalar(select(func.count()).select_from(UsedSsoToken)) == 1


def test_one_token_sent_many_times_at_once_signs_in_once(tmp_path):
    """Eight requests race with one token, each in its own database session and connection
    (as app processes would): the used-token row's key lets exactly one through."""
    service, stop = start_service(tmp_path)
    try:
        service.run(lambda: sso.set_secret(sites.create_site("demo"), SECRET))
        token = mint()

        def send(_: int) -> int:
            request = urllib.request.Request(
                service.url + "/api/v1/auth/sso", method="POST",
                data=json.dumps({"site": "demo", "token": token}).encode(),
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(pool.map(send, range(8)))
        assert statuses == [200] + [401] * 7
        assert service.run(lambda: len(db.session.scalars(select(AuthToken)).all())) == 1
    finally:
        stop()


def test_a_site_without_sso_refuses_every_token(client, sso_site):
    sso.turn_off(sso_site)
    db.session.commit()
    response = exchange(client, mint())
    assert response.status_code == 401
    assert response.get_json()["error"]["fields"] == {"token": "sso_off"}


def test_an_unknown_site_or_a_bad_body_is_a_clear_4xx(client, sso_site):
    assert exchange(client, mint(), site="nope").status_code == 404
    assert client.post("/api/v1/auth/sso", json=["demo"]).status_code == 400
    assert client.post("/api/v1/auth/sso", json={"site": "demo", "token": 7}).status_code == 401
    assert client.post("/api/v1/auth/sso", json={"site": "demo", "token": "x" * 5000}) \
        .status_code == 401


# ---------------------------------------------------------------- site users


def test_sub_42_of_one_site_is_not_sub_42_of_another(client, sso_site, other_site):
    a = exchange(client, mint()).get_json()["user"]
    b = exchange(client, mint(OTHER_SECRET, aud="other"), site="other").get_json()["user"]
    again = exchange(client, mint()).get_json()["user"]
    assert a["id"] != b["id"]
    assert again["id"] == a["id"]
    assert [(u.site_id, u.external_id) for u in site_users()] == [
        (sso_site.id, "42"), (other_site.id, "42")]


def test_a_site_user_never_shadows_or_becomes_a_local_account(client, app, sso_site):
    local = make_user("jessica", "jessica@alias.example")
    data = exchange(client, mint(name="jessica", email="jessica@alias.example")).get_json()
    assert data["user"]["id"] != local.id
    assert data["user"]["username"] != "jessica"
    # The local account still signs in as itself with its password.
    assert api_login(app.test_client(), "jessica")
    assert app.test_client().post("/api/v1/auth/login", json={
            "login": "jessica@alias.example", "password": PASSWORD}).get_json()["user"]["id"] \
        == local.id
    # The site user cannot be signed in as by name, email or (empty) password.
    [site_user] = site_users()
    for login, password in [(site_user.username, ""), (site_user.username, PASSWORD),
                            (site_user.username.upper(), ""), ("jessica@alias.example", "")]:
        response = app.test_client().post("/api/v1/auth/login",
                                          json={"login": login, "password": password})
        assert response.status_code == 401, (login, password)
    assert accounts.find_user(site_user.username) is None
    # A password reset asked for the site user's handle mails no one.
    assert app.test_client().post("/api/v1/auth/reset", json={
        "login": site_user.username}).status_code == 202
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_later_token_with_a_new_name_or_email_updates_the_reader(client, sso_site):
    session = signed_in(client, mint())
    assert say(client, session, "First!").status_code == 201
    version = db.session.scalar(select(Thread.version))
    signed_in(client, mint(name="Jessica Campbell", email="jc@alias.example"))
    [user] = site_users()
    assert (user.display_name, user.email) == ("Jessica Campbell", "jc@alias.example")
    assert db.session.scalar(select(Thread.version)) > version  # the thread shows the new name
    tree = client.get("/api/v1/threads?site=demo&key=jj-s2").get_json()["comments"]
    assert tree[0]["author"]["name"] == "Jessica Campbell"
    signed_in(client, mint(name="Jessica Campbell", drop=("email",)))
    assert site_users()[0].email == ""


def test_a_site_user_is_no_moderator_until_made_one_and_only_of_their_site(
        client, sso_site, other_site):
    session = signed_in(client, mint(name="admin"))
    queue = client.get("/api/v1/moderation/queue?site=demo&queue=pending",
                       headers=bearer(session))
    assert queue.status_code == 403
    [user] = site_users()
    with pytest.raises(Exception, match="another site"):
        sites.appoint_moderator(other_site, user.username)
    db.session.rollback()
    sites.appoint_moderator(db.session.get(Site, sso_site.id), user.username)
    db.session.commit()
    assert client.get("/api/v1/moderation/queue?site=demo&queue=pending",
                      headers=bearer(session)).status_code == 200


def test_a_site_user_cannot_make_api_tokens(client, sso_site):
    session = signed_in(client, mint())
    response = client.post("/api/v1/tokens", json={"name": "script"}, headers=bearer(session))
    assert response.status_code == 403


# ---------------------------------------------------------------- what a reader does


def test_a_site_user_posts_with_the_publishers_mark_in_the_byline(client, sso_site):
    session = signed_in(client, mint())
    response = say(client, session, "Luke Cage will be there.")
    assert response.status_code == 201
    author = response.get_json()["author"]
    assert author == {**author, "name": "Jessica Jones", "username": None, "site_user": True}
    page = client.get("/embed/demo", query_string={"key": "jj-s2", "url": URL}).get_data(
        as_text=True)
    assert "Jessica Jones</strong>" in page
    assert 'class="discuss-site-user" dir="auto" title="Daily Bugle">✓ Daily Bugle' in page
    # A local reader's byline has no such mark.
    make_user()
    local = api_login(client)
    assert say(client, local, "I agree.").get_json()["author"]["site_user"] is False


def test_a_site_user_cannot_post_or_vote_on_another_site(client, sso_site, other_site):
    theirs = signed_in(client, mint(OTHER_SECRET, aud="other", sub="7", name="Other"), site="other")
    other_comment = say(client, theirs, "On the other paper.", site="other").get_json()
    session = signed_in(client, mint())
    refused = say(client, session, "Sneaking in.", site="other")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "other_site_account"
    vote = client.post(f"/api/v1/comments/{other_comment['id']}/vote", json={"value": 1},
                       headers=bearer(session))
    assert vote.status_code == 403


def test_a_site_user_edits_votes_and_reports(client, app, sso_site):
    session = signed_in(client, mint())
    mine = say(client, session, "Frist").get_json()
    edited = client.patch(f"/api/v1/comments/{mine['id']}", json={"body": "First"},
                          headers=bearer(session))
    assert edited.status_code == 200
    assert db.session.get(Comment, mine["id"]).body == "First"
    other = app.test_client()
    someone = signed_in(other, mint(sub="43", name="Luke"))
    theirs = say(other, someone, "Sweet Christmas.").get_json()
    vote = client.post(f"/api/v1/comments/{theirs['id']}/vote", json={"value": 1},
                       headers=bearer(session))
    assert vote.get_json() == {"score": 1, "my_vote": 1}
    report = client.post(f"/api/v1/comments/{theirs['id']}/report",
                         json={"reason": "off-topic"}, headers=bearer(session))
    assert report.status_code == 202
    deleted = client.delete(f"/api/v1/comments/{mine['id']}", headers=bearer(session))
    assert deleted.status_code == 204


def test_a_site_user_is_mailed_replies_at_the_address_the_publisher_gave(
        client, app, sso_site, mailbox):
    session = signed_in(client, mint(email="jessica@alias.example"))
    mine = say(client, session, "Will Luke Cage be there?", notify=True).get_json()
    other = app.test_client()
    luke = signed_in(other, mint(sub="43", name="Luke", drop=("email",)))
    mailbox.expect(1)
    assert say(other, luke, "Sweet Christmas, yes.", parent_id=mine["id"]).status_code == 201
    message = mailbox.last_to("jessica@alias.example")
    assert message["Subject"].startswith("Luke replied to your comment")


def test_a_site_user_exports_and_deletes_their_data_without_a_password(client, sso_site):
    session = signed_in(client, mint())
    say(client, session, "Something to keep.")
    export = client.get("/api/v1/me/export", headers=bearer(session))
    assert export.status_code == 200
    data = export.get_json()
    assert data["profile"]["display_name"] == "Jessica Jones"
    assert data["profile"]["email"] == "jessica@alias.example"
    assert data["profile"]["signed_in_by"] == {"site": "demo", "subject": "42"}
    assert [c["body"] for c in data["comments"]] == ["Something to keep."]
    deleted = client.delete("/api/v1/me", json={}, headers=bearer(session))
    assert deleted.status_code == 204
    assert site_users() == []
    assert db.session.scalar(select(func.count()).select_from(AuthToken)) == 0
    assert db.session.scalar(select(Comment.guest_name)) == "deleted user"
    # The same reader signing on again is a new account: the old comments stay anonymous.
    assert exchange(client, mint()).status_code == 200
    assert db.session.scalar(select(Comment.user_id)) is None


def test_the_reader_page_with_cookies_shows_the_site_user_signed_in(client, sso_site):
    signed_in(client, mint())
    page = client.get("/embed/demo", query_string={"key": "jj-s2", "url": URL}).get_data(
        as_text=True)
    assert "Signed in as <strong>Jessica Jones</strong>" in page
    response = client.post("/api/v1/comments", headers=csrf_header(client), json={
        "site": "demo", "key": "jj-s2", "url": URL, "body": "Posted with the cookie."})
    assert response.status_code == 201


# ---------------------------------------------------------------- turning it on


def test_site_settings_turns_sso_on_with_a_long_enough_secret_and_off(runner, sso_site):
    short = runner.invoke(args=["discuss", "site-settings", "demo", "--sso-secret", "x" * 31])
    assert short.exit_code != 0
    assert "at least 32 characters" in short.output
    result = runner.invoke(args=["discuss", "site-settings", "demo", "--sso-secret", "y" * 40])
    assert result.exit_code == 0, result.output
    assert "sso: on" in result.output
    db.session.expire_all()
    assert db.session.get(Site, sso_site.id).sso_secret == "y" * 40
    off = runner.invoke(args=["discuss", "site-settings", "demo", "--no-sso"])
    assert "sso: off" in off.output
    db.session.expire_all()
    assert db.session.get(Site, sso_site.id).sso_secret == ""


# ---------------------------------------------------------------- the admin page


def _admin_post(client, data: dict):
    token = form_csrf(client, "/admin/sites/demo")
    return client.post("/admin/sites/demo/sso", data={"csrf_token": token, **data})


def test_the_admin_generates_a_secret_shown_once_and_tokens_signed_with_it_work(client, app):
    sites.create_site("demo", origins=["https://news.example.com"], name="Daily Bugle")
    make_user("adaline", is_admin=True, verified=True)
    assert html_login(client, "adaline").status_code in (302, 303)
    assert '<strong data-sso-state>off</strong>' in client.get("/admin/sites/demo").get_data(
        as_text=True)
    response = _admin_post(client, {"action": "generate"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<code id="sso-secret-value">([^<]+)</code>',
                       response.get_data(as_text=True)).group(1)
    assert len(secret) >= 32
    later = client.get("/admin/sites/demo").get_data(as_text=True)
    assert secret not in later  # shown once
    assert '<strong data-sso-state>on</strong>' in later
    assert exchange(app.test_client(), mint(secret)).status_code == 200


def test_the_admin_sets_a_given_secret_refuses_a_short_one_and_turns_sso_off(client, app):
    sites.create_site("demo", name="Daily Bugle")
    make_user("adaline", is_admin=True, verified=True)
    html_login(client, "adaline")
    short = _admin_post(client, {"action": "set", "sso_secret": "too-short"})
    assert short.status_code == 400
    assert "at least 32 characters" in short.get_data(as_text=True)
    assert db.session.scalar(select(Site.sso_secret)) == ""
    assert _admin_post(client, {"action": "set", "sso_secret": SECRET}).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Site.sso_secret)) == SECRET
    assert _admin_post(client, {"action": "off"}).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Site.sso_secret)) == ""
    assert exchange(app.test_client(), mint()).status_code == 401


def test_only_an_admin_may_change_the_sso_secret(client, sso_site):
    signed_in(client, mint(name="adaline"))
    response = client.post("/admin/sites/demo/sso", data={"action": "off"},
                           headers=csrf_header(client))
    assert response.status_code == 404  # the admin pages do not exist for readers
    db.session.expire_all()
    assert db.session.get(Site, sso_site.id).sso_secret == SECRET


def test_a_site_users_account_page_offers_no_password_email_or_tokens_and_deletes_without_one(
        client, sso_site):
    signed_in(client, mint())
    page = client.get("/auth/account").get_data(as_text=True)
    assert "Signed in by the site you read" in page
    assert "Change password" not in page
    assert "Create a token" not in page
    assert "Save profile" not in page
    delete_page = client.get("/auth/account/delete").get_data(as_text=True)
    assert 'type="password"' not in delete_page
    token = form_csrf(client, "/auth/account/delete")
    response = client.post("/auth/account/delete", data={"csrf_token": token})
    assert response.status_code == 200
    assert "Your account is deleted" in response.get_data(as_text=True)
    assert site_users() == []

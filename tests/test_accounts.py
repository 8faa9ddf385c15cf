"""Reader accounts: sign-up, sign-in, sessions, tokens, links by mail, profile, your data."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from discuss import accounts
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.links import make_link_token, token_hash
from discuss.models import AuthToken, Report, User, utcnow
from tests.accounts_helpers import (
    PASSWORD,
    api_login,
    bearer,
    form_csrf,
    html_login,
    make_user,
)
from tests.conftest import csrf_header, make_thread, post

REGISTER = {"username": "newreader", "email": "new@example.org", "password": PASSWORD}


def _user(username: str) -> User | None:
    db.session.expire_all()
    return accounts.find_user(username)


# ---------------------------------------------------------------- sign-up


def test_reader_registers_confirms_email_and_signs_in(client, mailbox):
    mailbox.expect(1)
    response = client.post("/api/v1/auth/register", json=REGISTER)
    assert response.status_code == 202
    assert "Check your inbox" in response.get_json()["message"]

    message = mailbox.last_to("new@example.org")
    link = mailbox.link(message, "/auth/verify/")
    page = client.get(link)
    assert page.status_code == 200
    assert b"Confirm" in page.data
    assert _user("newreader").email_verified_at is None  # opening the link changes nothing
    confirmed = client.post(link, data={"csrf_token": form_csrf(client, link)})
    assert b"confirmed" in confirmed.data
    assert _user("newreader").email_verified_at is not None

    token = api_login(client, "new@example.org")
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["username"] == "newreader"
    assert me["email_verified"] is True


def test_verification_link_works_once(client, mailbox):
    mailbox.expect(1)
    client.post("/api/v1/auth/register", json=REGISTER)
    link = mailbox.link(mailbox.last_to("new@example.org"), "/auth/verify/")
    client.post(link, data={"csrf_token": form_csrf(client, link)})
    again = client.post(link, data={"csrf_token": form_csrf(client, link)})
    assert again.status_code == 400
    assert b"used already" in again.data


def test_taken_username_is_said_but_taken_email_gets_the_same_answer(client, mailbox):
    make_user("reader", "reader@example.org")
    taken_name = client.post("/api/v1/auth/register",
                             json={**REGISTER, "username": "Reader"})
    assert taken_name.status_code == 409
    assert taken_name.get_json()["error"]["fields"] == {"username": "taken"}

    mailbox.expect(1)
    taken_email = client.post("/api/v1/auth/register",
                              json={**REGISTER, "email": "READER@example.org"})
    fresh = REGISTER | {"username": "other", "email": "other@example.org"}
    mailbox.expect(1)
    new = client.post("/api/v1/auth/register", json=fresh)
    assert taken_email.status_code == new.status_code == 202
    assert taken_email.get_json() == new.get_json()
    assert _user("newreader") is None
    assert "tried to sign up" in mailbox.last_to("reader@example.org")["Subject"]


@pytest.mark.parametrize(("password", "field", "words"), [
    ("short1!", "too_short", "at least 10 characters"),
    ("password123", "weak", "very common password"),
    ("newreader2024", "weak", "too weak"),
])
def test_short_or_weak_passwords_are_refused_with_the_reason(client, password, field, words):
    response = client.post("/api/v1/auth/register", json={**REGISTER, "password": password})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["fields"] == {"password": field}
    assert words in error["message"]


@pytest.mark.parametrize(("data", "fields"), [
    ({"email": "not-an-email"}, {"email": "invalid"}),
    ({"username": "a b"}, {"username": "invalid"}),
    ({"username": None}, {"username": "required"}),
    ({"password": 12345678901}, {"password": "required"}),
])
def test_bad_registration_input_gets_a_clear_error(client, data, fields):
    response = client.post("/api/v1/auth/register", json={**REGISTER, **data})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == fields


def test_registration_form_shows_messages_and_keeps_what_was_typed(client):
    token = form_csrf(client, "/auth/register")
    response = client.post("/auth/register", data={**REGISTER, "password": "short",
                                                   "csrf_token": token})
    assert response.status_code == 400
    assert b"at least 10 characters" in response.data
    assert b'value="newreader"' in response.data
    assert PASSWORD.encode() not in response.data


# ---------------------------------------------------------------- sign-in and sessions


def test_unknown_user_and_wrong_password_get_the_same_answer_and_work(client, monkeypatch):
    make_user()
    checks = []
    original = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash",
                        lambda h, p: checks.append(h) or original(h, p))
    wrong = client.post("/api/v1/auth/login", json={"login": "reader", "password": "nope"})
    unknown = client.post("/api/v1/auth/login", json={"login": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert len(checks) == 2  # one password hash check each: the timing tells nothing


def test_sign_in_by_username_or_email_and_sign_out_ends_the_token(client):
    make_user("reader", "Reader@Example.org")
    token = api_login(client, "READER@example.org")
    assert api_login(client, "reader")
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["username"] == "reader"
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).get_json() is None


def test_api_sign_in_sets_a_partitioned_session_cookie_that_sign_out_clears(client):
    # The iframe stays signed in across reloads through this cookie where it has no storage.
    make_user()
    response = client.post("/api/v1/auth/login", json={"login": "reader", "password": PASSWORD})
    token = response.get_json()["token"]
    [cookie] = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("discuss_session=")]
    for flag in ("Secure", "HttpOnly", "Partitioned", "SameSite=None"):
        assert flag in cookie
    assert client.get("/api/v1/me").get_json()["username"] == "reader"  # the cookie alone
    response = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert response.status_code == 204
    assert any(h.startswith("discuss_session=;") for h in response.headers.getlist("Set-Cookie"))
    assert client.get("/api/v1/me").get_json() is None


def test_only_the_hash_of_a_session_token_is_stored(client):
    make_user()
    token = api_login(client)
    stored = db.session.scalars(db.select(AuthToken.token_hash)).all()
    assert token not in stored
    assert token_hash(token) in stored


def test_expired_or_outdated_session_tokens_stop_working(app):
    user = make_user()
    raw = accounts.start_session(user, days=1)
    assert accounts.user_for_token(raw) == user
    assert accounts.user_for_token(raw, now=utcnow() + timedelta(days=2)) is None
    accounts.end_all_sessions(user)
    assert accounts.user_for_token(raw) is None


def test_html_sign_in_starts_a_fresh_session(client):
    make_user()
    with client.session_transaction() as session:
        session["discuss_token"] = "planted-by-an-attacker"
        session["planted"] = "yes"
    response = html_login(client, next="/auth/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/account"
    with client.session_transaction() as session:
        assert session["discuss_token"] != "planted-by-an-attacker"
        assert "planted" not in session
    assert b"reader" in client.get("/auth/account").data


def test_sign_out_form_revokes_the_cookie_session_even_for_a_copied_cookie(client, app):
    make_user()
    html_login(client)
    copied = client.get_cookie("discuss_session").value
    token = form_csrf(client, "/auth/logout")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("discuss_session", copied)
    assert thief.get("/auth/account").status_code == 302  # back to sign-in


def test_password_change_ends_every_other_session_but_keeps_this_one(client):
    make_user()
    other_device = api_login(client)
    html_login(client)
    response = client.post("/auth/account/password", data={
        "current_password": PASSWORD, "new_password": "quiet-meadow-copper-77",
        "csrf_token": form_csrf(client, "/auth/account")})
    assert response.status_code == 200
    assert b"password is changed" in response.data
    assert client.get("/api/v1/me", headers=bearer(other_device)).get_json() is None
    assert client.get("/auth/account").status_code == 200
    assert api_login(client, password="quiet-meadow-copper-77")


def test_password_change_needs_the_current_password(client):
    make_user()
    html_login(client)
    response = client.post("/auth/account/password", data={
        "current_password": "wrong-one", "new_password": "quiet-meadow-copper-77",
        "csrf_token": form_csrf(client, "/auth/account")})
    assert response.status_code == 403
    assert b"current password is wrong" in response.data


def test_remember_me_keeps_the_cookie_after_the_browser_closes(client, app):
    make_user()
    html_login(client, remember="1")
    assert "Expires=" in _session_cookie_header(client)
    other = app.test_client()
    html_login(other)
    assert "Expires=" not in _session_cookie_header(other)


def _session_cookie_header(client) -> str:
    response = client.get("/auth/account")
    return response.headers.get("Set-Cookie", "") or _last_login_cookie


_last_login_cookie = ""


@pytest.fixture(autouse=True)
def _record_login_cookie(monkeypatch):
    # The session cookie is sent with the sign-in answer; remember the last one seen.
    import tests.accounts_helpers as helpers

    original = helpers.html_login

    def recording(client, *args, **kwargs):
        global _last_login_cookie
        response = original(client, *args, **kwargs)
        _last_login_cookie = ";".join(h for h in response.headers.getlist("Set-Cookie")
                                      if h.startswith("discuss_session="))
        return response

    monkeypatch.setattr(helpers, "html_login", recording)
    monkeypatch.setitem(globals(), "html_login", recording)


def test_forms_without_the_csrf_token_are_refused(client):
    make_user()
    client.get("/auth/login")  # the browser now holds a session cookie
    response = client.post("/auth/login", data={"login": "reader", "password": PASSWORD})
    assert response.status_code == 400
    assert b"form expired" in response.data


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "/%0d%0aLocation: https://evil.example", " //evil.example",
])
def test_next_never_leads_to_another_site(client, target):
    make_user()
    response = html_login(client, next=target)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert not location.scheme
    assert not location.netloc
    assert location.path.startswith("/")
    assert not location.path.startswith("//")
    assert "evil.example" not in location.path or location.path.startswith("/%0")


def test_next_returns_to_the_discussion(client, site):
    make_user()
    response = html_login(client, next="/embed/demo?key=article-1")
    assert response.headers["Location"] == "/embed/demo?key=article-1"


def test_sign_in_page_reached_from_the_iframe_may_be_framed_by_the_site(client, site):
    framed = client.get("/auth/login?next=/embed/demo%3Fkey%3Da")
    assert "frame-ancestors https://news.example.com" in framed.headers[
        "Content-Security-Policy"]
    plain = client.get("/auth/login")
    assert "frame-ancestors 'none'" in plain.headers["Content-Security-Policy"]


# ---------------------------------------------------------------- reset and email change


def test_password_reset_link_works_once_and_signs_out_old_sessions(client, mailbox):
    make_user()
    old_session = api_login(client)
    mailbox.expect(1)
    asked = client.post("/api/v1/auth/reset", json={"login": "reader@example.org"},
                        headers=csrf_header(client))
    unknown = client.post("/api/v1/auth/reset", json={"login": "nobody@example.org"},
                          headers=csrf_header(client))
    assert asked.status_code == unknown.status_code == 202
    assert asked.get_json() == unknown.get_json()

    link = mailbox.link(mailbox.last_to("reader@example.org"), "/auth/reset/")
    assert client.get(link).status_code == 200
    done = client.post(link, data={"password": "amber-falcon-river-31",
                                   "csrf_token": form_csrf(client, link)})
    assert b"Password changed" in done.data
    assert client.get("/api/v1/me", headers=bearer(old_session)).get_json() is None
    assert api_login(client, password="amber-falcon-river-31")
    reused = client.get(link)
    assert reused.status_code == 400
    assert b"used already" in reused.data


def test_reset_form_refuses_a_weak_password_and_keeps_the_link(client, mailbox):
    make_user()
    mailbox.expect(1)
    client.post("/auth/reset", data={"login": "reader",
                                     "csrf_token": form_csrf(client, "/auth/reset")})
    link = mailbox.link(mailbox.last_to("reader@example.org"), "/auth/reset/")
    weak = client.post(link, data={"password": "1234567890",
                                   "csrf_token": form_csrf(client, link)})
    assert weak.status_code == 400
    assert b"too weak" in weak.data
    assert client.get(link).status_code == 200


def test_expired_and_forged_links_are_refused(app):
    user = make_user()
    secret = app.config["SECRET_KEY"]
    token = make_link_token(secret, "reset",
                            {"u": user.id, "p": accounts._reset_fingerprint(user)})
    assert accounts.check_reset_token(token, secret=secret) == user
    with pytest.raises(InvalidInput, match="expired"):
        accounts.check_reset_token(token, secret=secret, now=utcnow() + timedelta(hours=2))
    with pytest.raises(InvalidInput, match="not valid"):
        accounts.check_reset_token(token[:-3] + "abc", secret=secret)
    verify = make_link_token(secret, "verify", {"u": user.id, "e": user.email_key})
    with pytest.raises(InvalidInput, match="not valid"):
        accounts.verify_email(verify, secret="another-secret-key-1234")
    with pytest.raises(InvalidInput, match="not valid"):  # a link of another kind
        accounts.reset_password(verify, "amber-falcon-river-31", secret=secret)


def test_email_change_takes_effect_only_once_confirmed(client, mailbox):
    make_user()
    html_login(client)
    mailbox.expect(2)
    response = client.post("/auth/account/email", data={
        "email": "moved@example.org", "current_password": PASSWORD,
        "csrf_token": form_csrf(client, "/auth/account")})
    assert b"confirmation link" in response.data
    assert "about to change" in mailbox.last_to("reader@example.org")["Subject"]
    assert _user("reader").email == "reader@example.org"
    link = mailbox.link(mailbox.last_to("moved@example.org"), "/auth/email/")
    client.post(link, data={"csrf_token": form_csrf(client, link)})
    user = _user("reader")
    assert user.email == "moved@example.org"
    assert user.email_verified_at is not None


# ---------------------------------------------------------------- profile, tokens, CLI


def test_display_name_and_username_show_on_comments(client, site):
    make_user()
    html_login(client)
    client.post("/auth/account/profile", data={
        "display_name": "  Jessica   Jones ", "csrf_token": form_csrf(client, "/auth/account")})
    token = api_login(client)
    posted = client.post("/api/v1/comments", headers=bearer(token), json={
        "site": "demo", "key": "a1", "url": "https://news.example.com/a1", "body": "Hi"})
    author = posted.get_json()["author"]
    assert author["name"] == "Jessica Jones"
    assert author["username"] == "reader"
    assert author["avatar_url"].startswith("/avatars/")


def test_a_new_display_name_shows_at_once_where_readers_share_cached_answers(app, client,
                                                                          site):
    make_user()
    html_login(client)
    token = api_login(client)
    client.post("/api/v1/comments", headers=bearer(token), json={
        "site": "demo", "key": "a1", "url": "https://news.example.com/a1", "body": "Hi"})
    reader = app.test_client()
    thread_json, page = "/api/v1/threads?site=demo&key=a1", "/embed/demo?key=a1"
    for _ in range(2):  # built once, then served from each cache
        assert reader.get(thread_json).get_json()["comments"][0]["author"]["name"] == "reader"
        assert ">reader</strong>" in reader.get(page).get_data(as_text=True)

    client.post("/auth/account/profile", data={
        "display_name": "Jessica Jones", "csrf_token": form_csrf(client, "/auth/account")})

    assert reader.get(thread_json).get_json()["comments"][0]["author"]["name"] == \
        "Jessica Jones"
    assert ">Jessica Jones</strong>" in reader.get(page).get_data(as_text=True)


def test_api_tokens_are_listed_used_and_revoked_by_their_owner_only(client):
    make_user()
    make_user("other")
    session = api_login(client)
    created = client.post("/api/v1/tokens", json={"name": "my script"},
                          headers=bearer(session))
    assert created.status_code == 201
    token = created.get_json()
    listed = client.get("/api/v1/tokens", headers=bearer(session)).get_json()["tokens"]
    assert [t["name"] for t in listed] == ["my script"]
    assert "token" not in listed[0]
    assert client.get("/api/v1/me", headers=bearer(token["token"])).get_json()["id"]

    intruder = api_login(client, "other")
    assert client.delete(f"/api/v1/tokens/{token['id']}",
                         headers=bearer(intruder)).status_code == 404
    assert client.delete(f"/api/v1/tokens/{token['id']}",
                         headers=bearer(session)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token["token"])).get_json() is None


def test_token_pages_need_a_signed_in_reader(client):
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.get("/api/v1/me").get_json() is None
    assert client.get("/auth/account").headers["Location"].startswith("/auth/login?next=")


def test_account_page_creates_and_revokes_tokens(client):
    make_user()
    html_login(client)
    page = client.post("/auth/account/tokens", data={
        "name": "feed reader", "csrf_token": form_csrf(client, "/auth/account")})
    assert b"feed reader" in page.data
    assert b"data-discuss-new-token" in page.data
    token_id = db.session.scalar(db.select(AuthToken.id).where(AuthToken.name == "feed reader"))
    revoked = client.post(f"/auth/account/tokens/{token_id}/revoke",
                          data={"csrf_token": form_csrf(client, "/auth/account")})
    assert b"The token is revoked" in revoked.data
    assert b"feed reader" not in revoked.data


def test_cli_creates_users_with_roles_and_prints_tokens(client, runner, site):
    result = runner.invoke(args=["discuss", "create-user", "mod", "--email", "m@example.org",
                                 "--password", PASSWORD, "--moderator-of", "demo"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["discuss", "create-token", "mod"])
    assert result.exit_code == 0
    me = client.get("/api/v1/me", headers=bearer(result.output.strip())).get_json()
    assert me["moderator_of"] == ["demo"]
    assert me["is_admin"] is False
    admin = runner.invoke(args=["discuss", "create-user", "boss", "--email", "b@example.org",
                                "--password", PASSWORD, "--admin"])
    assert admin.exit_code == 0
    assert _user("boss").is_admin


@pytest.mark.parametrize(("args", "message"), [
    (["create-user", "x y", "--email", "a@example.org", "--password", PASSWORD], "username"),
    (["create-user", "abc", "--email", "a@example.org", "--password", "short"], "10 char"),
    (["create-user", "abc", "--email", "a@example.org", "--password", PASSWORD,
      "--moderator-of", "nope"], "No such site"),
    (["create-token", "nobody"], "No user"),
])
def test_cli_refuses_bad_input_with_a_message(runner, args, message):
    result = runner.invoke(args=["discuss", *args])
    assert result.exit_code != 0
    assert message in result.output


# ---------------------------------------------------------------- your data


def _signed_in_comment(client, site, body="My view", url="https://news.example.com/a1"):
    token = api_login(client)
    response = client.post("/api/v1/comments", headers=bearer(token), json={
        "site": "demo", "key": "a1", "url": url, "body": body})
    assert response.status_code == 201
    return token, response.get_json()["id"]


def test_reader_downloads_everything_held_about_them(client, site):
    make_user()
    token, comment_id = _signed_in_comment(client, site)
    client.post("/api/v1/tokens", json={"name": "script"}, headers=bearer(token))
    data = client.get("/api/v1/me/export", headers=bearer(token))
    assert "attachment" in data.headers["Content-Disposition"]
    export = data.get_json()
    assert export["profile"]["username"] == "reader"
    assert export["profile"]["email"] == "reader@example.org"
    assert [c["id"] for c in export["comments"]] == [comment_id]
    assert export["comments"][0]["body"] == "My view"
    assert {t["kind"] for t in export["tokens"]} == {"session", "api"}
    assert token not in data.get_data(as_text=True)
    html_login(client)
    page = client.get("/auth/account/export")
    assert page.get_json()["profile"]["username"] == "reader"


@pytest.mark.parametrize(("policy", "text"), [("keep", "My view"),
                                              ("remove", "removed with its author")])
def test_deleted_account_leaves_comments_as_deleted_user(client, app, site, policy, text):
    site.deleted_user_text = policy
    voter = make_user("voter")
    make_user()
    # (a URL per case: anonymous thread bodies are cached per process by ETag)
    token, comment_id = _signed_in_comment(client, site,
                                           url=f"https://news.example.com/{policy}")
    other = post(make_thread(site, "a1"), "Someone else's")
    client.post(f"/api/v1/comments/{other.id}/vote", json={"value": 1}, headers=bearer(token))
    client.post(f"/api/v1/comments/{other.id}/report", json={"reason": "spam"},
                headers=bearer(token))
    wrong = client.delete("/api/v1/me", json={"password": "nope"}, headers=bearer(token))
    assert wrong.status_code == 403
    assert client.delete("/api/v1/me", json={"password": PASSWORD},
                         headers=bearer(token)).status_code == 204

    page = app.test_client().get("/api/v1/threads?site=demo&key=a1").get_json()
    mine = next(c for c in page["comments"] if c["id"] == comment_id)
    assert mine["author"]["name"] == "deleted user"
    assert mine["author"]["username"] is None
    assert text in mine["html"]
    theirs = next(c for c in page["comments"] if c["id"] == other.id)
    assert theirs["score"] == 0
    db.session.expire_all()
    assert _user("reader") is None
    assert db.session.scalars(db.select(AuthToken.user_id)).all() == []
    assert db.session.get(type(other), other.id).report_count == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Report)) == 0
    remaining = db.session.get(type(other), comment_id)
    assert (remaining.user_id, remaining.ip_hash, remaining.guest_key_hash) == (None, "", "")
    assert _user("voter") == voter


def test_account_deletion_form_asks_for_the_password(client, site):
    make_user()
    html_login(client)
    wrong = client.post("/auth/account/delete", data={
        "password": "nope", "csrf_token": form_csrf(client, "/auth/account/delete")})
    assert wrong.status_code == 403
    done = client.post("/auth/account/delete", data={
        "password": PASSWORD, "csrf_token": form_csrf(client, "/auth/account/delete")})
    assert b"Account deleted" in done.data
    assert _user("reader") is None
    assert client.get("/auth/account").status_code == 302


@pytest.mark.parametrize("app_settings", [{"DISCUSS_RATELIMIT_LOGIN": "3/minute"}])
def test_sign_in_attempts_are_limited_per_address_and_per_account(app, app_settings):
    make_user()
    one = app.test_client()
    for _ in range(3):
        assert one.post("/api/v1/auth/login", json={"login": "reader", "password": "x"},
                        environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 401
    blocked = one.post("/api/v1/auth/login", json={"login": "reader", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    # Another address, the same account: still limited (per account).
    other = app.test_client().post("/api/v1/auth/login",
                                   json={"login": "READER", "password": PASSWORD},
                                   environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 429
    # Another account from a fresh address is fine.
    make_user("second")
    assert app.test_client().post("/api/v1/auth/login",
                                  json={"login": "second", "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 200

"""Accounts under attack (issue 12): no account inherits another's id, bans, links or tokens;
credential changes end every token; a token mints none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from discuss import account_data, accounts, moderation
from discuss.errors import Forbidden, InvalidInput
from discuss.extensions import db
from discuss.models import Comment, User
from discuss.permissions import Actor
from tests.accounts_helpers import PASSWORD, api_login, bearer, make_user
from tests.conftest import make_thread, post


def _links() -> tuple[list[str], accounts.LinkBuilder]:
    tokens: list[str] = []

    def link(purpose: str, token: str) -> str:
        tokens.append(token)
        return f"http://localhost/{purpose}/{token}"

    return tokens, link


def test_a_deleted_accounts_email_change_link_never_takes_over_the_next_registrant(app):
    """The reproduction: the highest account asks for an email change to the attacker's
    address and is deleted; the next registrant must not get its id, and the old link must
    not move anyone's address."""
    make_user("early")
    attacker = make_user("attacker")
    secret = app.config["SECRET_KEY"]
    tokens, link = _links()
    accounts.request_email_change(attacker, PASSWORD, "attacker@evil.example.org",
                                  secret=secret, link=link)
    attacker_id = attacker.id
    account_data.delete_account(attacker, PASSWORD)
    db.session.commit()

    victim = make_user("victim")
    assert victim.id != attacker_id  # ids are never handed out twice
    with pytest.raises(InvalidInput):
        accounts.confirm_email_change(tokens[-1], secret=secret)
    db.session.rollback()
    assert db.session.get(User, victim.id).email == "victim@example.org"


def test_a_mailed_link_is_bound_to_its_account_even_when_an_id_comes_back(app):
    """Defence in depth (a restored backup, a row made by hand): a link names the account's
    creation too, so another account with the same id cannot use it."""
    first = make_user("first")
    secret = app.config["SECRET_KEY"]
    uses = {
        "email-change": lambda token: accounts.confirm_email_change(token, secret=secret),
        "reset": lambda token: accounts.reset_password(token, "amber-falcon-river-31",
                                                       secret=secret),
        "verify": lambda token: accounts.verify_email(token, secret=secret),
    }
    for purpose, ask in (
        ("email-change", lambda u, link: accounts.request_email_change(
            u, PASSWORD, "elsewhere@example.org", secret=secret, link=link)),
        ("reset", lambda u, link: accounts.request_password_reset(
            u.username, secret=secret, link=link)),
        ("verify", lambda u, link: accounts.send_verification(u, secret=secret, link=link)),
    ):
        tokens, link = _links()
        ask(first, link)
        db.session.commit()
        same_id = first.id
        account_data.delete_account(first, PASSWORD)
        db.session.commit()
        first = User(id=same_id, username="first", username_key="first",
                     email="first@example.org", email_key="first@example.org",
                     password_hash=accounts.hash_password(PASSWORD))
        db.session.add(first)
        db.session.commit()
        with pytest.raises(InvalidInput):
            uses[purpose](tokens[-1])
        db.session.rollback()


def test_a_deleted_users_ban_is_not_inherited_by_the_next_registrant(app, site):
    moderator = make_user("moderator", moderator_of=[site])
    troll = make_user("troll")
    thread = make_thread(site)
    comment = post(thread, "Rude words", actor=Actor(user=troll, ip_hash="ip-troll"))
    moderation.ban_author(comment, Actor(user=moderator), reason="rude")
    db.session.commit()
    account_data.delete_account(troll, PASSWORD)
    db.session.commit()

    newcomer = make_user("newcomer")
    posted = post(thread, "Hello all", actor=Actor(user=newcomer, ip_hash="ip-new"))
    db.session.commit()
    assert db.session.scalar(select(Comment.user_id).where(Comment.id == posted.id)) \
        == newcomer.id


@pytest.mark.parametrize("end", ["change", "reset", "everywhere"])
def test_password_change_reset_and_sign_out_everywhere_end_every_api_token(app, client, end):
    user = make_user()
    raw, _ = accounts.create_api_token(user, "script", days=365)
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(raw)).get_json()["username"] == "reader"
    secret = app.config["SECRET_KEY"]
    user = db.session.get(User, user.id)
    if end == "change":
        accounts.change_password(user, PASSWORD, "amber-falcon-river-31")
    elif end == "reset":
        tokens, link = _links()
        accounts.request_password_reset("reader", secret=secret, link=link)
        accounts.reset_password(tokens[-1], "amber-falcon-river-31", secret=secret)
    else:
        accounts.end_all_sessions(user)
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    assert accounts.list_api_tokens(db.session.get(User, user.id)) == []


def test_an_api_token_cannot_mint_tokens(app, client):
    user = make_user()
    raw, _ = accounts.create_api_token(user, "script", days=365)
    db.session.commit()
    response = client.post("/api/v1/tokens", json={"name": "more"}, headers=bearer(raw))
    assert response.status_code == 403
    assert accounts.list_api_tokens(db.session.get(User, user.id))[0].name == "script"
    assert len(accounts.list_api_tokens(db.session.get(User, user.id))) == 1


def test_minting_a_token_needs_a_recent_password(app, client):
    make_user()
    session = api_login(client)
    # Just signed in with the password: allowed.
    fresh = client.post("/api/v1/tokens", json={"name": "ci"}, headers=bearer(session))
    assert fresh.status_code == 201
    # Later, the same session must give the password again.
    reader = db.session.scalar(select(User).where(User.username == "reader"))
    later = accounts.utcnow() + accounts.RECENT_PASSWORD * 2
    with pytest.raises(Forbidden, match="password again"):
        accounts.mint_api_token(reader, "late", days=1, session=accounts.live_token(session),
                                now=later)
    with pytest.raises(Forbidden, match="password again"):
        accounts.mint_api_token(reader, "late", days=1, session=accounts.live_token(session),
                                password="wrong-password-here", now=later)
    _, token = accounts.mint_api_token(reader, "late", days=1, password=PASSWORD, now=later,
                                       session=accounts.live_token(session))
    assert token.name == "late"


# ---------------------------------------------------------------- login CSRF (finding 7)

SIGN_IN_FORMS = [
    ("/auth/login", {"login": "attacker", "password": PASSWORD}),
    ("/auth/register", {"username": "planted", "email": "planted@example.org",
                        "password": PASSWORD}),
]
SIGN_IN_JSON = [
    ("/api/v1/auth/login", {"login": "attacker", "password": PASSWORD}),
    ("/api/v1/auth/register", {"username": "planted", "email": "planted@example.org",
                               "password": PASSWORD}),
]
CROSS_SITE = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost"},
    {},  # no Origin at all, no cookie, no token: a form needs the CSRF token then
]


@pytest.mark.parametrize(("path", "data"), SIGN_IN_FORMS)
@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_cross_site_form_never_signs_a_browser_in(app, path, data, headers):
    make_user("attacker")
    browser = app.test_client()
    response = browser.post(path, data=data, headers=headers)
    assert response.status_code == 400
    assert browser.get("/api/v1/me").get_json() is None
    assert db.session.scalar(select(User).where(User.username == "planted")) is None


@pytest.mark.parametrize(("path", "data"), SIGN_IN_JSON)
@pytest.mark.parametrize("headers", CROSS_SITE[:5])
def test_a_cross_site_api_call_never_signs_a_browser_in(app, path, data, headers):
    make_user("attacker")
    browser = app.test_client()
    response = browser.post(path, json=data, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf"
    assert browser.get("/api/v1/me").get_json() is None


def test_the_services_own_pages_still_sign_in(app, client):
    from tests.accounts_helpers import form_csrf

    make_user()
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    # The iframe's script: the JSON API from the service's own origin, no cookie needed.
    response = app.test_client(use_cookies=False).post(
        "/api/v1/auth/login", json={"login": "reader", "password": PASSWORD}, headers=same)
    assert response.status_code == 200
    # The plain form from the service's own page, even where its cookies are blocked.
    response = app.test_client(use_cookies=False).post(
        "/auth/login", data={"login": "reader", "password": PASSWORD}, headers=same)
    assert response.status_code == 302
    # An old browser without Origin: the form's CSRF token.
    token = form_csrf(client)
    response = client.post("/auth/login", data={"login": "reader", "password": PASSWORD,
                                                "csrf_token": token})
    assert response.status_code == 302


# ---------------------------------------------------------------- sign-in limits (finding 10)


LIMITED = pytest.mark.parametrize("app_settings", [{"DISCUSS_RATELIMIT_LOGIN": "5/minute;20/hour"}])


def _sign_in(app, address: str, password: str) -> int:
    return app.test_client(use_cookies=False).post(
        "/api/v1/auth/login", json={"login": "moderator", "password": password},
        environ_base={"REMOTE_ADDR": address}).status_code


@LIMITED
def test_wrong_passwords_from_many_addresses_never_lock_the_moderator_out(app, app_settings):
    """The reproduction: wrong passwords for a moderator's account from many addresses must
    not keep the moderator (at their own address) from signing in."""
    make_user("moderator")
    # Twice the limit (5 a minute), each from another address.
    for n in range(2, 12):
        assert _sign_in(app, f"127.0.1.{n}", "wrong-password-guess") == 401
    assert _sign_in(app, "127.0.0.9", PASSWORD) == 200


@LIMITED
def test_one_address_guessing_one_account_is_slowed_down(app, app_settings):
    make_user("moderator")
    statuses = [_sign_in(app, "127.0.2.1", "wrong-password-guess") for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # The same address is held back for this account, even with the right password…
    assert _sign_in(app, "127.0.2.1", PASSWORD) == 429
    # …while the owner elsewhere is not.
    assert _sign_in(app, "127.0.2.2", PASSWORD) == 200


# ---------------------------------------------------------------- email enumeration (finding 8)

NEW_PASSWORD = "violet-harbor-lantern-42"


def _probe(app, email: str) -> tuple[int, dict, int, int]:
    """What an attacker sees when registering a fresh username with ``email``: the answer,
    then whether that username now counts as taken, then whether it signs in."""
    client = app.test_client(use_cookies=False)
    first = client.post("/api/v1/auth/register", json={
        "username": "probe", "email": email, "password": NEW_PASSWORD})
    again = client.post("/api/v1/auth/register", json={
        "username": "probe", "email": "unrelated@example.org", "password": NEW_PASSWORD})
    sign_in = client.post("/api/v1/auth/login",
                          json={"login": "probe", "password": NEW_PASSWORD})
    db.session.execute(db.delete(User).where(User.username == "probe"))
    db.session.commit()
    return first.status_code, first.get_json(), again.status_code, sign_in.status_code


def test_registration_never_tells_whether_an_address_has_an_account(app):
    """The reproduction: "username taken" came back only when the first attempt's address
    was free (the account had been made); a sign-in told it too."""
    make_user("victim", "victim@corp.example")
    taken = _probe(app, "victim@corp.example")
    free = _probe(app, "nobody@corp.example")
    assert taken == free
    assert taken[0] == 202


def test_the_mailed_link_makes_the_account(app, client):
    from sqlalchemy import func

    from discuss.models import OutboxMessage

    response = client.post("/api/v1/auth/register", json={
        "username": "newbie", "email": "newbie@example.org", "password": NEW_PASSWORD})
    assert response.status_code == 202
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    body = db.session.scalar(select(OutboxMessage.body)
                             .where(OutboxMessage.recipient == "newbie@example.org"))
    link = body[body.index("/auth/verify/"):].split()[0]
    from tests.accounts_helpers import form_csrf

    confirmed = client.post(link, data={"csrf_token": form_csrf(client, link)})
    assert b"confirmed" in confirmed.data
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user.email_verified_at is not None
    assert app.test_client().post("/api/v1/auth/login", json={
        "login": "newbie", "password": NEW_PASSWORD}).status_code == 200

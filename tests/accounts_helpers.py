"""Helpers for account tests: users made through the domain, and signed-in API headers."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from discuss import accounts
from discuss.extensions import db
from discuss.models import User
from tests.conftest import csrf_header

PASSWORD = "violet-harbor-lantern-42"


def make_user(username: str = "reader", email: str | None = None,
              password: str = PASSWORD, **kwargs) -> User:
    user = accounts.create_user(username, email or f"{username}@example.org", password,
                                **kwargs)
    db.session.commit()
    return user


def api_login(client: FlaskClient, login: str = "reader", password: str = PASSWORD) -> str:
    # As the iframe's script does: the page's CSRF token goes along (the browser may hold
    # cookies of this service).
    response = client.post("/api/v1/auth/login", json={"login": login, "password": password},
                           headers=csrf_header(client))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def form_csrf(client: FlaskClient, path: str = "/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


def html_login(client: FlaskClient, login: str = "reader", password: str = PASSWORD,
               **extra) -> object:
    token = form_csrf(client)
    return client.post("/auth/login", data={"login": login, "password": password,
                                            "csrf_token": token, **extra})

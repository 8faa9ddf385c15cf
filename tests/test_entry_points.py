"""One way in per action: the JSON API and the plain form end in the same domain call, so they
refuse the same things the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, Site
from tests.conftest import csrf_header
from tests.test_thread_page import ARTICLE, PAGE, csrf_of, html_of

FOREIGN_URL = "https://evil.example/a"


@pytest.fixture
def app_settings():
    return {"DISCUSS_RATELIMIT_ENABLED": False}


@pytest.fixture
def site(site: Site) -> Site:
    site.min_submit_seconds = 0  # the form is sent at once
    db.session.commit()
    return site


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Comment))


def _by_api(client, **fields) -> tuple[int, str]:
    payload = {"site": "demo", **ARTICLE, "body": "A comment", "name": "Reader", **fields}
    headers = csrf_header(client) if client._cookies else {}
    response = client.post("/api/v1/comments", json=payload, headers=headers)
    data = response.get_json()
    return response.status_code, (data.get("error") or {}).get("message", "") if data else ""


def _by_form(client, **fields) -> tuple[int, str]:
    token = csrf_of(html_of(client.get(PAGE)))
    data = {"csrf_token": token, **ARTICLE, "body": "A comment", "name": "Reader", **fields}
    response = client.post("/embed/demo/comments", data=data)
    return response.status_code, html_of(response)


WAYS_IN = {"api": _by_api, "form": _by_form}


@pytest.mark.parametrize("way", WAYS_IN)
@pytest.mark.parametrize("thread_exists", [True, False], ids=["existing", "new"])
def test_a_url_off_the_sites_origins_is_refused_by_both_ways_in(client, site, way,
                                                                thread_exists):
    """Issue 12, finding 15: the API answered 201 for an existing thread, the form 403."""
    if thread_exists:
        assert _by_api(client, body="The first comment")[0] == 201
    before = _count()
    status, said = WAYS_IN[way](client, url=FOREIGN_URL, body="Posted from elsewhere")
    assert status == 403
    assert "not on an origin the site allows" in said.replace("&#39;", "'")
    assert _count() == before


@pytest.mark.parametrize("way", WAYS_IN)
def test_both_ways_in_accept_the_sites_own_url(client, site, way):
    status, _ = WAYS_IN[way](client, body="Hello from the article")
    assert status in (201, 303)
    assert _count() == 1

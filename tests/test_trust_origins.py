"""Site origins are scheme://host[:port] only (issue 12, finding 15): they go into the
Content-Security-Policy header, so a '*', a space, a quote or a ';' must never get there —
through the CLI, the admin page, the domain, or a row stored before the check existed."""

from __future__ import annotations

import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from discuss import create_app, sites
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Site
from tests.conftest import SECRET

BAD_ORIGINS = ["*", "https://*.example.com", "https://news.example.com 'unsafe-inline'",
               "'https://news.example.com'", '"https://news.example.com"',
               "https://news.example.com; script-src *", "https://news.example.com,https://x",
               "https://news.example.com:99999", "javascript://news.example.com",
               "https://news.example.com/path", "https://user@news.example.com",
               "https://news_example.com", "https://news.exa mple.com"]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_an_origin_is_scheme_host_and_port_only(app, origin):
    with pytest.raises(InvalidInput):
        sites.normalize_origin(origin)


@pytest.mark.parametrize(("given", "stored"), [
    ("https://News.Example.com/", "https://news.example.com"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("https://news.example.com:443", "https://news.example.com"),
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
])
def test_good_origins_are_normalised(app, given, stored):
    assert sites.normalize_origin(given) == stored


@pytest.mark.parametrize("origin", BAD_ORIGINS[:6])
def test_the_cli_refuses_a_bad_origin(app, runner, origin):
    result = runner.invoke(args=["discuss", "create-site", "news", "--origin", origin])
    assert result.exit_code != 0
    assert "is not an origin" in result.output
    assert db.session.query(Site).count() == 0


@pytest.mark.parametrize("origin", BAD_ORIGINS[:6])
def test_the_admin_page_refuses_a_bad_origin(client, origin):
    from tests.accounts_helpers import form_csrf, html_login, make_user

    make_user("boss", is_admin=True)
    html_login(client, "boss")
    response = client.post("/admin/sites/new", data={
        "csrf_token": form_csrf(client, "/admin/sites/new"), "slug": "news",
        "name": "News", "origins": origin, "moderation": "first"})
    assert response.status_code == 400
    assert "is not an origin" in response.get_data(as_text=True)
    assert db.session.query(Site).count() == 0


def test_a_stored_bad_origin_never_reaches_the_csp_header(app, client, site):
    db.session.execute(text("UPDATE sites SET origins = :o WHERE id = :i"), {
        "o": '["https://news.example.com", "* \'unsafe-inline\'; script-src *"]',
        "i": site.id})
    db.session.commit()
    policy = client.get("/embed/demo?key=a1").headers["Content-Security-Policy"]
    assert "frame-ancestors https://news.example.com" in policy
    assert "unsafe-inline" not in policy
    assert "script-src 'self'" in policy
    assert "*" not in policy


def test_the_migration_removes_stored_bad_origins(tmp_path):
    url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    os.environ["DISCUSS_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app({"DISCUSS_DATABASE_URL": url, "DISCUSS_SECRET_KEY": SECRET})
    with app.app_context():
        upgrade(revision="b5e3f1a9c2d4")
        db.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sites (slug, name, origins, moderation, allow_guests, "
            "require_guest_name, honeypot, min_submit_seconds, max_links, blocklist, "
            "blocklist_action, deleted_user_text, created_at) VALUES ('news', 'News', "
            "'[\"https://news.example.com\", \"*\", \"https://a.example \\u0027x\\u0027\"]', "
            "'first', 1, 1, 1, 3, 3, '', 'pending', 'keep', '2026-01-01 00:00:00')"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT origins FROM sites")).scalar_one()
    engine.dispose()
    assert stored in ('["https://news.example.com"]', ["https://news.example.com"])

"""A publisher's first steps (issue 13): `make run`'s demo moderator and its one-time sign-in
link, `discuss signin-link`, the installed `discuss` command without alembic's chatter."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from discuss import accounts
from discuss.extensions import db
from discuss.models import Site, SiteModerator
from tests.accounts_helpers import form_csrf


def _link(output: str) -> str:
    match = re.search(r"http://[^/\s]+(/auth/link/\S+)", output)
    assert match, output
    return match.group(1)


def test_demo_setup_prints_a_one_time_sign_in_link_for_the_demo_moderator(app, runner, client):
    result = runner.invoke(args=["discuss", "demo-setup"])
    assert result.exit_code == 0, result.output
    assert "/moderate/demo/pending" in result.output
    path = _link(result.output)
    assert "Sign in with this link" in client.get(path).get_data(as_text=True)
    signed_in = client.post(path, data={"csrf_token": form_csrf(client, path)})
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/moderate"
    assert client.get("/moderate/demo/pending").status_code == 200
    # It works once.
    other = app.test_client()
    again = other.post(path, data={"csrf_token": form_csrf(other, path)})
    assert again.status_code == 400
    assert "used already" in again.get_data(as_text=True)
    # Running it again keeps the one moderator and prints a fresh link.
    second = runner.invoke(args=["discuss", "demo-setup"])
    assert second.exit_code == 0, second.output
    assert _link(second.output) != path
    site = db.session.query(Site).filter_by(slug="demo").one()
    moderators = db.session.query(SiteModerator).filter_by(site_id=site.id).all()
    assert [m.user_id for m in moderators] == [accounts.find_user("demo-moderator").id]


def test_signin_link_names_an_existing_user_only(app, runner, client):
    runner.invoke(args=["discuss", "create-user", "alice", "--email", "alice@example.org",
                        "--password", "violet-harbor-lantern-42", "--admin"])
    path = _link(runner.invoke(args=["discuss", "signin-link", "alice"]).output)
    response = client.post(path, data={"csrf_token": form_csrf(client, path)})
    assert response.headers["Location"] == "/moderate"
    missing = runner.invoke(args=["discuss", "signin-link", "nobody"])
    assert missing.exit_code != 0
    assert "No user named nobody" in missing.output
    assert client.get("/auth/link/forged-token").status_code == 200  # the button page
    forged = client.post("/auth/link/forged-token",
                         data={"csrf_token": form_csrf(client, "/auth/link/forged")})
    assert forged.status_code == 400


def test_the_discuss_command_runs_the_admin_commands_quietly(tmp_path):
    env = {**os.environ, "DISCUSS_INSTANCE_PATH": str(tmp_path),
           "DISCUSS_DATABASE_URL": "sqlite:///" + str(tmp_path / "cli.sqlite3")}
    env.pop("DISCUSS_TEST_DATABASE_URL", None)

    def discuss(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from discuss.console import main; main()",
                               *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    assert discuss("db", "upgrade").returncode == 0
    made = discuss("create-site", "news", "--origin", "https://news.example.com")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Created site news (moderation: first, "
                                  "origins: https://news.example.com")
    assert made.stderr == ""  # no alembic start-up lines


def test_site_settings_changes_the_origins_after_creation(runner, site):
    result = runner.invoke(args=["discuss", "site-settings", "demo", "--origin",
                                 "https://news.example.com/", "--origin", "https://blog.example.org"])
    assert result.exit_code == 0, result.output
    assert "  origins: https://news.example.com, https://blog.example.org" in result.output
    db.session.refresh(site)
    assert site.origins == ["https://news.example.com", "https://blog.example.org"]
    bad = runner.invoke(args=["discuss", "site-settings", "demo", "--origin", "not a url"])
    assert bad.exit_code != 0
    db.session.refresh(site)
    assert site.origins == ["https://news.example.com", "https://blog.example.org"]
    cleared = runner.invoke(args=["discuss", "site-settings", "demo", "--any-origin"])
    assert "  origins: any (every web page may embed it)" in cleared.output
    both = runner.invoke(args=["discuss", "site-settings", "demo", "--any-origin",
                               "--origin", "https://x.example"])
    assert both.exit_code != 0


def test_a_moderator_turns_queue_mails_on_from_the_account_page_and_the_cli(
        app, runner, client, site):
    from tests.accounts_helpers import html_login, make_user

    moderator = make_user("moira", moderator_of=[site])
    reader = make_user("reader2")
    html_login(client, "moira")
    page = client.get("/auth/account").get_data(as_text=True)
    assert "Email me when comments wait" in page
    assert 'href="/moderate"' in page
    saved = client.post("/auth/account/queue-mail",
                        data={"csrf_token": form_csrf(client, "/auth/account"),
                              "notify_queue": "1"})
    assert saved.status_code in (200, 303)
    db.session.refresh(moderator)
    assert moderator.notify_queue is True
    off = runner.invoke(args=["discuss", "queue-mail", "moira", "--off"])
    assert off.output.strip() == "Queue mails for moira: off"
    db.session.refresh(moderator)
    assert moderator.notify_queue is False
    refused = runner.invoke(args=["discuss", "queue-mail", "reader2", "--on"])
    assert refused.exit_code != 0
    assert "Only moderators" in refused.output
    db.session.refresh(reader)
    assert reader.notify_queue is False


def test_admin_pages_send_a_signed_out_visitor_to_sign_in_and_link_back(app, client, site):
    from tests.accounts_helpers import html_login, make_user

    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/admin")
    make_user("reader3")
    html_login(client, "reader3")
    assert client.get("/admin").status_code == 404  # still hidden from other readers
    admin = app.test_client()
    make_user("root", is_admin=True)
    html_login(admin, "root")
    account = admin.get("/auth/account").get_data(as_text=True)
    assert 'href="/admin"' in account
    assert 'href="/moderate"' in account
    for path in ("/admin", "/moderate"):
        page = admin.get(path).get_data(as_text=True)
        assert 'href="/auth/account"' in page, path
        assert 'action="/auth/logout"' in page, path


def test_the_admin_snippet_has_the_noscript_fallback(app, client, site):
    from tests.accounts_helpers import html_login, make_user

    make_user("root", is_admin=True)
    html_login(client, "root")
    page = client.get("/admin/sites/demo").get_data(as_text=True)
    assert "&lt;noscript&gt;" in page
    assert ("/embed/demo?key=ARTICLE-ID&amp;amp;url=https%3A%2F%2Fnews.example.com"
            "%2FARTICLE-PATH") in page

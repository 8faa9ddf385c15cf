"""Spam rules and report settings per site: an admin changes them on the site's page or with
`flask discuss site-settings`, and the next real comment or report follows them."""

from __future__ import annotations

import html
import itertools
import re

import pytest

from discuss import account_data, sites
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import BlocklistAction, Comment, DeletedUserText, ModerationPolicy, Status
from discuss.permissions import Actor
from discuss.web.antispam import rendered_at_token
from tests.accounts_helpers import PASSWORD, form_csrf, html_login, make_user
from tests.conftest import make_thread, post

_addresses = itertools.count(1)


@pytest.fixture
def app_settings() -> dict:
    return {"DISCUSS_RATELIMIT_ENABLED": False, "DISCUSS_REPORT_THRESHOLD": 3}


@pytest.fixture
def admin_client(client):
    make_user("adaline", is_admin=True, verified=True)
    assert html_login(client, "adaline").status_code in (302, 303)
    return client


def spam_form(**overrides) -> dict:
    """The whole edit form as the page sends it, with the site fixture's settings."""
    data = {"name": "demo", "origins": "https://news.example.com", "moderation": "post",
            "allow_guests": "y", "require_guest_name": "y", "edit_window": "",
            "spam_rules": "1", "honeypot": "y", "min_submit_seconds": "3", "max_links": "3",
            "blocklist": "", "blocklist_action": "pending", "report_threshold": "",
            "deleted_user_text": "keep"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def save(client, **overrides):
    token = form_csrf(client, "/admin/sites/demo")
    return client.post("/admin/sites/demo", data={"csrf_token": token, **spam_form(**overrides)})


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def guest_posts(app, body: str, *, form: dict | None = None) -> dict:
    """A guest's comment through the public API, from a browser of its own."""
    reader = app.test_client()
    payload = {"site": "demo", "key": "article-1", "url": "https://news.example.com/a",
               "body": body, "name": "Guest"}
    if form is not None:
        payload["form"] = form
    response = reader.post("/api/v1/comments", json=payload,
                           environ_base={"REMOTE_ADDR": f"10.1.0.{next(_addresses)}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fresh_form(**extra) -> dict:
    """What a comment form sends the moment it is shown: an empty honeypot, a new timestamp."""
    return {"website": "", "rendered_at": rendered_at_token(), **extra}


def status_of(comment_id: int) -> Status:
    db.session.expire_all()
    return db.session.get(Comment, comment_id).status


# --- the page shows and saves every rule --------------------------------------------------

def test_edit_page_shows_the_spam_rules_with_their_current_values(admin_client, site):
    site.honeypot = False
    site.min_submit_seconds = 7
    site.max_links = -1
    site.blocklist = "casino\nfree money"
    site.blocklist_action = BlocklistAction.SPAM
    site.report_threshold = 2
    site.deleted_user_text = DeletedUserText.REMOVE
    db.session.commit()
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert "<legend>Spam rules and reports</legend>" in page
    assert re.search(r'<input[^>]*id="f-honeypot"', page)
    assert not re.search(r'<input[^>]*checked[^>]*id="f-honeypot"|id="f-honeypot"[^>]*checked',
                         page)
    assert re.search(r'name="min_submit_seconds" type="text" value="7"', page)
    assert re.search(r'name="max_links" type="text" value="-1"', page)
    assert "casino\nfree money</textarea>" in page
    assert re.search(r'<option selected value="spam">|<option value="spam" selected', page)
    assert re.search(r'name="report_threshold" type="text" value="2"', page)
    assert re.search(r'<option selected value="remove">|<option value="remove" selected', page)
    for help_text in ("Untick to switch the rule off.", "0 switches the rule off.",
                      "-1 switches the rule off.", "empty switches the rule off.",
                      "The service's default is 3 reports."):
        assert help_text in page
    assert 'aria-describedby="d-max_links"' in page


def test_new_site_starts_with_the_default_spam_rules_shown(admin_client, site):
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert re.search(r'<input[^>]*checked[^>]*id="f-honeypot"|id="f-honeypot"[^>]*checked', page)
    assert re.search(r'name="min_submit_seconds" type="text" value="3"', page)
    assert re.search(r'name="report_threshold" type="text" value=""', page)


def test_admin_saves_every_spam_rule(admin_client, site):
    response = save(admin_client, honeypot=None, min_submit_seconds="10", max_links="0",
                    blocklist="Casino, viagra\r\n\r\n  free   money \r\nCASINO",
                    blocklist_action="spam", report_threshold="5", deleted_user_text="remove")
    assert response.status_code == 303
    db.session.refresh(site)
    assert (site.honeypot, site.min_submit_seconds, site.max_links) == (False, 10, 0)
    assert site.blocklist == "Casino\nviagra\nfree money"
    assert (site.blocklist_action, site.report_threshold, site.deleted_user_text) == (
        BlocklistAction.SPAM, 5, DeletedUserText.REMOVE)
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert "The settings of demo were saved." in page
    assert "Casino\nviagra\nfree money</textarea>" in page


def test_form_sent_without_the_spam_fieldset_leaves_the_rules_alone(admin_client, site):
    site.max_links = 9
    site.honeypot = True
    db.session.commit()
    form = {k: v for k, v in spam_form(name="Renamed").items()
            if k in ("name", "origins", "moderation", "allow_guests", "require_guest_name",
                     "edit_window")}
    token = form_csrf(admin_client, "/admin/sites/demo")
    response = admin_client.post("/admin/sites/demo", data={"csrf_token": token, **form})
    assert response.status_code == 303
    db.session.refresh(site)
    assert (site.name, site.max_links, site.honeypot) == ("Renamed", 9, True)


# --- each saved rule takes effect on the next real comment --------------------------------

@pytest.mark.parametrize("action", ["pending", "spam"])
def test_blocklisted_word_holds_the_next_guest_comment(app, admin_client, site, action):
    assert save(admin_client, blocklist="casino\nfree money",
                blocklist_action=action).status_code == 303
    clean = guest_posts(app, "A thoughtful remark about the article.")
    held = guest_posts(app, "Visit the best CASINO in town")
    assert clean["status"] == "approved"
    assert held["status"] == action
    assert db.session.get(Comment, held["id"]).held_reasons == [
        {"rule": "blocklist", "detail": "casino"}]


def test_emptied_blocklist_lets_the_word_through_again(app, admin_client, site):
    site.blocklist = "casino"
    db.session.commit()
    assert guest_posts(app, "casino night was fun")["status"] == "pending"
    assert save(admin_client, blocklist="").status_code == 303
    assert guest_posts(app, "casino night was great fun")["status"] == "approved"


def test_max_links_holds_a_comment_with_more_links(app, admin_client, site):
    assert save(admin_client, max_links="1").status_code == 303
    one = guest_posts(app, "See https://a.example.com")
    two = guest_posts(app, "See https://a.example.com and https://b.example.com")
    assert (one["status"], two["status"]) == ("approved", "pending")
    assert save(admin_client, max_links="-1").status_code == 303
    many = " ".join(f"https://{n}.example.com" for n in range(8))
    assert guest_posts(app, many)["status"] == "approved"


def test_min_submit_seconds_zero_switches_the_timing_rule_off(app, admin_client, site):
    assert guest_posts(app, "Sent at once", form=fresh_form())["status"] == "spam"
    assert save(admin_client, min_submit_seconds="0").status_code == 303
    assert guest_posts(app, "Sent at once again", form=fresh_form())["status"] == "approved"


def test_unticked_honeypot_switches_that_rule_off(app, admin_client, site):
    assert save(admin_client, min_submit_seconds="0").status_code == 303
    assert guest_posts(app, "Filled the trap",
                       form=fresh_form(website="http://x.example"))["status"] == "spam"
    assert save(admin_client, min_submit_seconds="0", honeypot=None).status_code == 303
    assert guest_posts(app, "Filled the trap again",
                       form=fresh_form(website="http://x.example"))["status"] == "approved"


def test_report_threshold_one_hides_a_comment_after_one_report(app, admin_client, site):
    comment = post(make_thread(site))
    db.session.commit()
    assert save(admin_client, report_threshold="1").status_code == 303
    reader = app.test_client()
    response = reader.post(f"/api/v1/comments/{comment.id}/report", json={"reason": "abuse"},
                           environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert response.status_code == 202
    assert status_of(comment.id) == Status.PENDING
    page = app.test_client().get("/api/v1/threads?site=demo&key=article-1").get_json()
    assert page["comments"] == []


def test_empty_report_threshold_goes_back_to_the_service_default(app, admin_client, site):
    site.report_threshold = 1
    db.session.commit()
    assert save(admin_client, report_threshold="").status_code == 303
    db.session.refresh(site)
    assert site.report_threshold is None
    comment = post(make_thread(site))
    db.session.commit()
    reader = app.test_client()
    reader.post(f"/api/v1/comments/{comment.id}/report", json={"reason": "abuse"},
                environ_base={"REMOTE_ADDR": "10.2.0.2"})
    assert status_of(comment.id) == Status.APPROVED  # one report of the default three


def test_deleted_user_text_remove_clears_a_deleted_accounts_comments(admin_client, site):
    assert save(admin_client, deleted_user_text="remove").status_code == 303
    author = make_user("leaving", verified=True)
    comment = post(make_thread(site), "My opinion, soon gone", actor=Actor(user=author))
    db.session.commit()
    account_data.delete_account(author, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    assert "My opinion" not in db.session.get(Comment, comment.id).body


# --- bad values: a message next to the field, 400, nothing saved --------------------------

@pytest.mark.parametrize(("data", "message"), [
    ({"min_submit_seconds": "-1"}, "The minimum time must be 0–3600 seconds"),
    ({"min_submit_seconds": "3601"}, "The minimum time must be 0–3600 seconds"),
    ({"min_submit_seconds": ""}, "The minimum time must be 0–3600 seconds"),
    ({"min_submit_seconds": "2.5"}, "The minimum time must be 0–3600 seconds"),
    ({"max_links": "-2"}, "The most links must be -1–100"),
    ({"max_links": "101"}, "The most links must be -1–100"),
    ({"max_links": "many"}, "The most links must be -1–100"),
    ({"report_threshold": "0"}, "The report threshold must be 1–1000 reports"),
    ({"report_threshold": "1001"}, "The report threshold must be 1–1000 reports"),
    ({"blocklist": "x" * 5001}, "The blocklist must be at most 5,000 characters."),
    ({"blocklist": "\n".join(f"w{n}" for n in range(501))},
     "The blocklist must have at most 500 words or phrases (it has 501)."),
    ({"blocklist_action": "delete"}, "Not a valid choice"),
    ({"deleted_user_text": "shred"}, "Not a valid choice"),
])
def test_bad_spam_setting_shows_a_message_and_changes_nothing(admin_client, site, data,
                                                               message):
    response = save(admin_client, **{"name": "Changed", "honeypot": None, "max_links": "5",
                                     **data})
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert "The form was not saved." in page
    field = next(iter(data))
    assert re.search(rf'aria-invalid="true"[^>]*name="{field}"|name="{field}"[^>]*'
                     r'aria-invalid="true"|id="f-' + field + r'"[^>]*aria-invalid', page)
    db.session.refresh(site)
    assert (site.name, site.honeypot, site.max_links, site.min_submit_seconds) == (
        "demo", True, 3, 3)
    assert (site.blocklist, site.report_threshold) == ("", None)


# --- the domain: every way in checks the same --------------------------------------------

def test_update_site_checks_every_spam_setting_before_changing_any(app, site):
    with pytest.raises(InvalidInput) as caught:
        sites.update_site(site, moderation="pre", honeypot=False, max_links=10,
                          blocklist="casino", report_threshold=1001)
    assert caught.value.fields == {"report_threshold": "invalid"}
    assert (site.moderation, site.honeypot, site.max_links, site.blocklist) == (
        ModerationPolicy.POST, True, 3, "")
    for bad in ({"honeypot": "no"}, {"min_submit_seconds": True}, {"max_links": None},
                {"blocklist": 5}, {"blocklist_action": "hide"},
                {"deleted_user_text": None}, {"report_threshold": -3}):
        with pytest.raises(InvalidInput) as caught:
            sites.update_site(site, **{"min_submit_seconds": 9, **bad})
        assert set(caught.value.fields) == set(bad)
        assert site.min_submit_seconds == 3


def test_update_site_accepts_the_limits_and_leaves_unnamed_settings_alone(app, site):
    sites.update_site(site, min_submit_seconds=3600, max_links=-1, report_threshold="1000")
    assert (site.min_submit_seconds, site.max_links, site.report_threshold) == (3600, -1, 1000)
    sites.update_site(site, min_submit_seconds="0", max_links=100, report_threshold=None)
    assert (site.min_submit_seconds, site.max_links, site.report_threshold) == (0, 100, None)
    assert (site.moderation, site.origins, site.honeypot) == (
        ModerationPolicy.POST, ["https://news.example.com"], True)
    words = "\n".join(f"w{n}" for n in range(500))
    sites.update_site(site, blocklist=words)
    assert len(site.blocklist.splitlines()) == 500


# --- the command line ----------------------------------------------------------------------

def test_cli_sets_the_spam_rules_and_prints_the_settings(runner, site, tmp_path):
    words = tmp_path / "blocklist.txt"
    words.write_text("casino\nFree Money\ncasino\n", encoding="utf-8")
    result = runner.invoke(args=[
        "discuss", "site-settings", "demo", "--no-honeypot", "--min-submit-seconds", "0",
        "--max-links", "-1", "--blocklist-file", str(words), "--blocklist-action", "spam",
        "--report-threshold", "2", "--deleted-user-text", "remove", "--moderation", "pre",
        "--no-guests"])
    assert result.exit_code == 0, result.output
    db.session.refresh(site)
    assert (site.honeypot, site.min_submit_seconds, site.max_links) == (False, 0, -1)
    assert site.blocklist == "casino\nFree Money"
    assert (site.blocklist_action, site.report_threshold, site.deleted_user_text) == (
        BlocklistAction.SPAM, 2, DeletedUserText.REMOVE)
    assert (site.moderation, site.allow_guests) == (ModerationPolicy.PRE, False)
    assert result.output.splitlines() == [
        "Settings of site demo (saved):",
        "  moderation: pre",
        "  guests: not allowed",
        "  honeypot: off",
        "  min_submit_seconds: 0 (off)",
        "  max_links: -1 (off)",
        "  blocklist: 2 entries: casino, Free Money",
        "  blocklist_action: spam",
        "  report_threshold: 2",
        "  deleted_user_text: remove",
        "  trust_after: 1 approved comment(s) (applies under `first` moderation)",
        "  spam_filter: on",
        "  spam_threshold: 0.9",
    ]


def test_cli_without_options_prints_the_settings_and_changes_nothing(runner, site):
    result = runner.invoke(args=["discuss", "site-settings", "demo"])
    assert result.exit_code == 0, result.output
    assert "Settings of site demo:" in result.output
    assert "  report_threshold: default (3)" in result.output
    assert "  honeypot: on" in result.output


def test_cli_report_threshold_default_clears_the_sites_own(runner, site):
    site.report_threshold = 4
    db.session.commit()
    result = runner.invoke(args=["discuss", "site-settings", "demo",
                                 "--report-threshold", "default"])
    assert result.exit_code == 0, result.output
    db.session.refresh(site)
    assert site.report_threshold is None


@pytest.mark.parametrize(("args", "message"), [
    (["--max-links", "101", "--no-honeypot"], "The most links must be -1–100"),
    (["--min-submit-seconds", "soon"], "The minimum time must be 0–3600 seconds"),
    (["--report-threshold", "0"], "The report threshold must be 1–1000 reports"),
    (["--blocklist-action", "delete"], "Invalid value for '--blocklist-action'"),
    (["--deleted-user-text", "shred"], "Invalid value for '--deleted-user-text'"),
])
def test_cli_refuses_bad_values_and_changes_nothing(runner, site, args, message):
    result = runner.invoke(args=["discuss", "site-settings", "demo", *args])
    assert result.exit_code != 0
    assert message in result.output
    db.session.expire_all()
    assert (site.max_links, site.honeypot, site.min_submit_seconds) == (3, True, 3)
    assert site.report_threshold is None


def test_cli_refuses_an_overlong_blocklist_file(runner, site, tmp_path):
    words = tmp_path / "big.txt"
    words.write_text("\n".join(f"word{n}" for n in range(501)), encoding="utf-8")
    result = runner.invoke(args=["discuss", "site-settings", "demo",
                                 "--blocklist-file", str(words)])
    assert result.exit_code != 0
    assert "at most 500 words or phrases" in result.output
    db.session.expire_all()
    assert site.blocklist == ""


def test_cli_names_an_unknown_site(runner, app):
    result = runner.invoke(args=["discuss", "site-settings", "nope", "--max-links", "2"])
    assert result.exit_code != 0
    assert "No such site." in result.output

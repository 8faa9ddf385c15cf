"""Earned trust: --trust-after N approvals before an author skips the queue; spam takes it away."""

from __future__ import annotations

from datetime import timedelta

import pytest

from discuss import comments, moderation, sites, threads
from discuss.extensions import db
from discuss.models import ConfirmedEmail, Status, utcnow
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import guest, make_thread
from tests.test_moderation import token_for

_minutes = iter(range(1, 10**6))


@pytest.fixture
def mod(app):
    return make_user("mod", is_admin=True, verified=True)


def say(site, actor: Actor, body: str, **kwargs):
    """A new comment, each a minute after the one before (trust counts in time order)."""
    comment = comments.post_comment(site.slug, make_thread(site).key, actor, body, name="Guest",
                                    now=utcnow() - timedelta(days=1)
                                    + timedelta(minutes=next(_minutes)), **kwargs)
    db.session.commit()
    return comment


def decide(mod, comment, action: str) -> None:
    [result] = moderation.act_on_comments([comment.id], action, Actor(user=mod))
    assert result.result == "ok", result.message
    db.session.commit()


def test_create_site_trust_after_makes_authors_earn_n_approvals(app, runner, mod):
    result = runner.invoke(args=["discuss", "create-site", "careful", "--trust-after", "2"])
    assert result.exit_code == 0, result.output
    assert "trust after: 2" in result.output
    site = threads.get_site("careful")
    author = Actor(user=make_user("ann"))
    first = say(site, author, "My first comment")
    assert first.status == Status.PENDING
    decide(mod, first, "approve")
    second = say(site, author, "My second comment")
    assert second.status == Status.PENDING  # one approval is not enough here
    decide(mod, second, "approve")
    assert say(site, author, "My third comment").status == Status.APPROVED


def test_the_first_policy_is_trust_after_one(app, runner, mod):
    assert runner.invoke(args=["discuss", "create-site", "plain"]).exit_code == 0
    site = threads.get_site("plain")
    assert site.trust_after == 1
    author = Actor(user=make_user("ann"))
    decide(mod, say(site, author, "Hello"), "approve")
    assert say(site, author, "Hello again").status == Status.APPROVED


def test_a_comment_marked_spam_takes_the_trust_away_until_earned_again(app, mod):
    site = sites.create_site("news", trust_after=1)
    author = Actor(user=make_user("ann"))
    decide(mod, say(site, author, "A fair point"), "approve")
    trusted = say(site, author, "Another fair point")
    assert trusted.status == Status.APPROVED
    decide(mod, trusted, "spam")
    after_spam = say(site, author, "Please let me back in")
    assert after_spam.status == Status.PENDING
    decide(mod, after_spam, "approve")
    assert say(site, author, "Thanks").status == Status.APPROVED


def test_a_spam_decision_undone_gives_the_trust_back(app, mod):
    site = sites.create_site("news")
    author = Actor(user=make_user("ann"))
    decide(mod, say(site, author, "A fair point"), "approve")
    mistaken = say(site, author, "Another fair point")
    decide(mod, mistaken, "spam")
    decide(mod, mistaken, "approve")  # the moderator takes it back
    assert say(site, author, "Still here").status == Status.APPROVED


def test_trust_on_one_site_is_not_trust_on_another(app, mod):
    trusted_on, stranger_on = sites.create_site("one"), sites.create_site("two")
    author = Actor(user=make_user("ann"))
    decide(mod, say(trusted_on, author, "Hello"), "approve")
    assert say(stranger_on, author, "Hello there").status == Status.PENDING


def test_a_guest_earns_trust_only_with_a_confirmed_email(app, mod):
    site = sites.create_site("news")
    browser = guest(key="b" * 40, ip="ip-b")
    decide(mod, say(site, browser, "Hi", email="ann@example.org"), "approve")
    assert say(site, browser, "Hi again", email="ann@example.org").status == Status.PENDING
    db.session.add(ConfirmedEmail(email_key="ann@example.org"))
    db.session.commit()
    assert say(site, browser, "Hi once more", email="ann@example.org").status == \
        Status.APPROVED
    # Someone else typing her confirmed address is not her.
    assert say(site, guest(key="c" * 40, ip="ip-c"), "I am Ann",
               email="ann@example.org").status == Status.PENDING


def test_site_settings_changes_trust_after_and_refuses_nonsense(app, runner, mod):
    site = sites.create_site("news")
    db.session.commit()
    result = runner.invoke(args=["discuss", "site-settings", "news", "--trust-after", "3"])
    assert result.exit_code == 0, result.output
    assert "  trust_after: 3 approved comment(s)" in result.output
    db.session.refresh(site)
    assert site.trust_after == 3
    for bad in ("0", "101", "-1", "many", "2.5"):
        refused = runner.invoke(args=["discuss", "site-settings", "news", "--trust-after", bad])
        assert refused.exit_code != 0
        assert "Trust after must be 1–100 approved comments." in refused.output
    refused = runner.invoke(args=["discuss", "create-site", "bad", "--trust-after", "0"])
    assert refused.exit_code != 0
    assert "Trust after must be" in refused.output
    db.session.refresh(site)
    assert site.trust_after == 3


def test_the_queue_shows_each_authors_trust_at_a_glance(client, app, mod):
    site = sites.create_site("news", trust_after=2)
    ann, bob = Actor(user=make_user("ann")), Actor(user=make_user("bob"))
    decide(mod, say(site, ann, "Ann's first"), "approve")
    decide(mod, say(site, ann, "Ann's second"), "approve")
    decide(mod, say(site, bob, "Bob's first"), "approve")
    decide(mod, say(site, bob, "Bob's spam"), "spam")
    site.moderation = "pre"  # so that everything waits and both show in the queue
    db.session.commit()
    say(site, ann, "Ann waits")
    say(site, bob, "Bob waits")
    say(site, guest(key="g" * 40, ip="ip-g"), "A guest waits")
    headers = token_for(mod)
    items = client.get("/api/v1/moderation/queue?site=news&queue=pending",
                       headers=headers).get_json()["items"]
    trust = {i["comment"]["body"]: i["trust"] for i in items}
    assert trust["Ann waits"]["trusted"] is True
    assert trust["Ann waits"]["label"] == "trusted (2 approved)"
    assert trust["Bob waits"]["trusted"] is False
    assert trust["Bob waits"]["label"] == ("trust lost: 1 marked spam; 0 of 2 approvals to "
                                           "earn it back")
    assert trust["A guest waits"]["label"] == "not trusted: a guest without a confirmed email"
    page = client.get("/moderate/news/pending", headers=headers).get_data(as_text=True)
    assert "Trusted (2 approved)" in page
    assert "Trust lost: 1 marked spam" in page


def test_admin_page_sets_trust_and_the_filter(client, app):
    from tests.accounts_helpers import api_login, form_csrf

    make_user("admin", is_admin=True, verified=True)
    site = sites.create_site("news")
    db.session.commit()
    api_login(client, "admin")
    form = {"csrf_token": form_csrf(client, "/admin/sites/news"), "origins": "",
            "moderation": "first", "allow_guests": "y", "require_guest_name": "y", "learning": "1",
            "trust_after": "4", "spam_threshold": "0.95"}
    response = client.post("/admin/sites/news", data=form)
    assert response.status_code == 303
    db.session.refresh(site)
    assert (site.trust_after, site.spam_filter, site.spam_threshold) == (4, False, 0.95)
    page = client.get("/admin/sites/news").get_data(as_text=True)
    assert 'name="trust_after"' in page
    bad = client.post("/admin/sites/news", data={**form, "trust_after": "0"})
    assert bad.status_code == 400
    assert "Trust after must be 1–100 approved comments." in bad.get_data(as_text=True)

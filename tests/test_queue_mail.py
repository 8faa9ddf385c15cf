"""Moderators' queue mail: a mail as comments arrive or one daily digest, each with a one-click
unsubscribe (RFC 8058), read from a real SMTP server; the clock is the test's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from discuss import accounts, comments, sites, threads
from discuss.extensions import db
from discuss.models import OutboxMessage, Status, User, utcnow
from discuss.web.deliver import deliver_once
from tests.accounts_helpers import form_csrf, html_login, make_user
from tests.conftest import guest

PRE = "pre-site"
UNSUBSCRIBE = re.compile(r"^<http://localhost(/notify/unsubscribe/[A-Za-z0-9._-]+)>$")


@pytest.fixture
def pre_site(app):
    site = sites.create_site(PRE, origins=["https://news.example.com"], moderation="pre")
    db.session.commit()
    return site


def hold(site, n: int = 1, *, key: str = "article-1", title: str = "An article"):
    """``n`` guest comments that wait in the site's pending queue."""
    thread = threads.get_or_create_thread(site, key, "https://news.example.com/a", title)
    made = [comments.post_comment(site.slug, thread.key, guest(ip=f"ip-{i}"),
                                  f"Waiting comment {i} on {key}", name=f"Guest {i}")
            for i in range(n)]
    db.session.commit()
    return made


def moderator(site, name: str = "mod", choice: str = "each") -> User:
    user = make_user(name, moderator_of=[site], verified=True)
    accounts.set_queue_mail(user, choice)
    db.session.commit()
    return user


def queued_to(address: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage)
                                   .where(OutboxMessage.recipient == address)))


def one_click_path(message) -> str:
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = UNSUBSCRIBE.match(message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    return match.group(1)


def test_a_queue_mail_carries_a_one_click_unsubscribe_that_a_get_never_triggers(
        app, runner, pre_site, mailbox):
    mod = moderator(pre_site)
    hold(pre_site)
    mailbox.expect(1)
    assert runner.invoke(args=["discuss", "deliver"]).exit_code == 0
    message = mailbox.last_to("mod@example.org")
    assert message["Subject"] == "Comments wait for moderation on pre-site"
    path = one_click_path(message)
    assert f"Stop these mails: http://localhost{path}" in message.get_content()

    scanner = app.test_client().get(path)  # a mail scanner following the link
    assert scanner.status_code == 200
    assert "<button" in scanner.get_data(as_text=True)
    db.session.refresh(mod)
    assert mod.notify_queue is True

    # The mail program's one-click POST: no cookie, no CSRF token, the token in the URL.
    clicked = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert clicked.status_code == 200
    assert "No more queue mails" in clicked.get_data(as_text=True)
    db.session.refresh(mod)
    assert mod.queue_mail == "off"
    hold(pre_site, key="article-2")
    assert len(queued_to("mod@example.org")) == 1  # nothing more


def test_an_unsubscribe_token_is_signed_and_names_its_recipient(app, runner, pre_site,
                                                                mailbox):
    moderator(pre_site)
    other = moderator(pre_site, "other")
    hold(pre_site)
    mailbox.expect(2)
    runner.invoke(args=["discuss", "deliver"])
    path = one_click_path(mailbox.last_to("mod@example.org"))
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert app.test_client().post(forged, data={"List-Unsubscribe": "One-Click"}) \
        .status_code == 400
    assert app.test_client().post(path, data={"List-Unsubscribe": "One-Click"}) \
        .status_code == 200
    db.session.refresh(other)
    assert other.queue_mail == "each"  # only the mail's own recipient is unsubscribed

    # Once the account's address changes, a link mailed to the old one no longer works.
    other_path = one_click_path(mailbox.last_to("other@example.org"))
    other.email, other.email_key = "new@example.org", "new@example.org"
    db.session.commit()
    refused = app.test_client().post(other_path, data={"List-Unsubscribe": "One-Click"})
    assert refused.status_code == 400
    db.session.refresh(other)
    assert other.notify_queue is True


def test_a_daily_moderator_gets_one_digest_a_day_while_comments_wait(
        app, pre_site, mailbox):
    other_site = sites.create_site("second", origins=["https://news.example.com"],
                                   moderation="pre")
    db.session.commit()
    daily = moderator(pre_site, "daily", "daily")
    sites.appoint_moderator(other_site, "daily")
    moderator(pre_site, "eager", "each")
    db.session.commit()
    held = hold(pre_site, 4) + hold(other_site, 1, key="article-9", title="Other story")
    assert queued_to("daily@example.org") == []  # no mail as they arrive
    assert len(queued_to("eager@example.org")) == 1

    morning = utcnow().replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
    mailbox.expect(2)  # the eager moderator's mail, the digest
    sent = deliver_once(now=morning)
    assert (sent.digests, sent.mails) == (1, 2)
    digest = mailbox.last_to("daily@example.org")
    assert digest["Subject"] == "5 comments wait for moderation"
    one_click_path(digest)
    body = digest.get_content()
    assert "pre-site: 4 pending, 0 reported, 0 spam" in body
    assert "second: 1 pending, 0 reported, 0 spam" in body
    assert "Open the queue: http://localhost/moderate/pre-site/pending" in body
    assert "– Guest 0 on “An article”: Waiting comment 0 on article-1" in body
    assert "Waiting comment 3" not in body  # the three oldest per site are quoted
    assert "– Guest 0 on “Other story”: Waiting comment 0 on article-9" in body

    assert deliver_once(now=morning + timedelta(hours=15)).digests == 0  # the same day
    mailbox.expect(1)
    assert deliver_once(now=morning + timedelta(hours=16)).digests == 1  # the next day

    for comment in held:
        comments.set_status(comment, Status.APPROVED)
    db.session.commit()
    assert deliver_once(now=morning + timedelta(days=2)).digests == 0  # nothing waits
    db.session.refresh(daily)
    assert daily.queue_digest_at == morning + timedelta(hours=16)


def test_queue_mail_choices_from_the_cli_and_the_account_page(app, runner, client, pre_site):
    mod = make_user("moira", moderator_of=[pre_site], verified=True)

    def choose(*args: str) -> str:
        result = runner.invoke(args=["discuss", "queue-mail", "moira", *args])
        db.session.refresh(mod)
        return result.output.strip()

    assert choose("daily") == "Queue mails for moira: daily"
    assert mod.queue_mail == "daily"
    assert choose("--off") == "Queue mails for moira: off"
    assert mod.queue_mail == "off"
    assert choose("--on") == "Queue mails for moira: on"
    assert mod.queue_mail == "each"
    assert "Give one of off, each, daily" in choose("daily", "--off")
    assert "Invalid value" in choose("weekly")

    html_login(client, "moira")
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'name="queue_mail" value="each" checked' in page
    saved = client.post("/auth/account/queue-mail", data={
        "csrf_token": form_csrf(client, "/auth/account"), "queue_mail": "daily"})
    assert "You will get a daily summary of your queues." in saved.get_data(as_text=True)
    db.session.refresh(mod)
    assert mod.queue_mail == "daily"
    assert 'name="queue_mail" value="daily" checked' in saved.get_data(as_text=True)
    refused = client.post("/auth/account/queue-mail", data={
        "csrf_token": form_csrf(client, "/auth/account"), "queue_mail": "hourly"})
    assert refused.status_code == 400
    assert "Choose off, each or daily." in refused.get_data(as_text=True)

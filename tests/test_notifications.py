"""Reply notifications and guests' email confirmation, read from a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from discuss import comments, moderation, notifications, sites, threads
from discuss.extensions import db
from discuss.models import Comment, ConfirmedEmail, ModerationPolicy, OutboxMessage, Status, utcnow
from discuss.permissions import Actor
from discuss.web.mail_links import thread_link, token_link
from tests.accounts_helpers import make_user
from tests.conftest import csrf_header

URL = "https://news.example.com/2016/jj-s2"
ALICE = "alice@example.org"


@pytest.fixture
def app_settings():
    # Several readers post from one test address; limits are tested elsewhere.
    return {"DISCUSS_RATELIMIT_ENABLED": False}


def say(client, body, *, parent=None, name="Alice", site="demo", headers=None, **extra):
    """A comment or reply through the JSON API, as the iframe's script sends it."""
    payload = {"site": site, "key": "jj-s2", "url": URL, "title": "Jessica Jones Season 2",
               "body": body, "name": name, **extra}
    if parent is not None:
        payload["parent_id"] = parent
    headers = dict(headers or {})
    if client._cookies and "Authorization" not in headers:
        headers.update(csrf_header(client))
    response = client.post("/api/v1/comments", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def press_button(client, path: str):
    """Open a mailed link (it shows a button) and press the button."""
    page = client.get(path)
    assert page.status_code == 200
    assert "<button" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token.group(1)})


def confirm_address(app, mailbox, address: str = ALICE) -> None:
    message = mailbox.last_to(address)
    assert message["Subject"] == "Confirm your address"
    assert "to be notified of replies and to be recognised as a known commenter" in \
        message.get_content()
    path = mailbox.link(message, "/notify/confirm/")
    response = press_button(app.test_client(), path)  # e.g. opened on the phone
    assert response.status_code == 200
    assert "Address confirmed" in response.get_data(as_text=True)


def outbox_subjects() -> list[str]:
    db.session.expire_all()
    return [m.subject for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


@pytest.fixture
def alice_confirmed(app, site, mailbox):
    """Guest Alice asked for reply mails and confirmed her address: her comment's id."""
    alice = app.test_client()
    mailbox.expect(1)
    comment = say(alice, "Will Jessica appear in Luke Cage?", email=ALICE, notify=True)
    confirm_address(app, mailbox)
    return comment["id"]


def test_confirmed_guest_is_mailed_a_reply_with_its_link_and_an_unsubscribe_link(
        app, alice_confirmed, mailbox):
    bob = app.test_client()
    mailbox.expect(1)
    # The Host header never makes it into a mailed link: DISCUSS_PUBLIC_URL does.
    reply = say(bob, "Yes, in *episode 3*, I read.", parent=alice_confirmed, name="Bob",
                headers={"Host": "evil.example"})
    message = mailbox.last_to(ALICE)
    assert message["Subject"] == "Bob replied to your comment on Jessica Jones Season 2"
    body = message.get_content()
    assert "Yes, in *episode 3*, I read." in body
    assert f"Read the reply: {URL}#comment-{reply['id']}" in body
    assert "http://localhost/notify/unsubscribe/" in body
    assert "evil.example" not in body


def test_unsubscribing_stops_further_reply_mails(app, alice_confirmed, mailbox):
    bob = app.test_client()
    alice_again = say(app.test_client(), "And a second thought.", email=ALICE, notify=True)
    mailbox.expect(1)
    say(bob, "First answer", parent=alice_confirmed, name="Bob")
    path = mailbox.link(mailbox.last_to(ALICE), "/notify/unsubscribe/")

    page = app.test_client().get(path)
    assert "Jessica Jones Season 2" in page.get_data(as_text=True)
    assert db.session.get(Comment, alice_confirmed).notify  # opening the link changed nothing
    response = press_button(app.test_client(), path)
    assert response.status_code == 200
    assert "no more mails" in response.get_data(as_text=True)
    assert press_button(app.test_client(), path).status_code == 200  # twice is harmless

    say(bob, "Second answer", parent=alice_confirmed, name="Bob")
    say(bob, "An answer to the other one", parent=alice_again["id"], name="Bob")
    db.session.expire_all()
    assert not db.session.get(Comment, alice_again["id"]).notify


def test_a_reply_mail_offers_one_click_unsubscribe_to_mail_programs(app, alice_confirmed,
                                                                     mailbox):
    mailbox.expect(1)
    say(app.test_client(), "An answer", parent=alice_confirmed, name="Bob")
    message = mailbox.last_to(ALICE)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(http://localhost(/notify/unsubscribe/[^>]+))>",
                        message["List-Unsubscribe"])
    assert link
    assert f"Stop mails about replies in this discussion: {link.group(1)}" in \
        message.get_content()
    assert db.session.get(Comment, alice_confirmed).notify
    # RFC 8058: the mail program POSTs this body, with no cookie and no CSRF token.
    clicked = app.test_client().post(link.group(2), data={"List-Unsubscribe": "One-Click"})
    assert clicked.status_code == 200
    db.session.expire_all()
    assert not db.session.get(Comment, alice_confirmed).notify


def test_a_forged_unsubscribe_link_is_refused(app, site):
    response = app.test_client().post("/notify/unsubscribe/not-a-real-token")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_unconfirmed_address_gets_one_confirmation_a_day_and_never_a_reply_mail(
        app, site, mailbox):
    alice = app.test_client()
    mailbox.expect(1)
    first = say(alice, "First comment", email=ALICE, notify=True)
    say(alice, "Second comment", email="Alice@Example.org", notify=True)
    say(app.test_client(), "A reply nobody is told of", parent=first["id"], name="Bob")
    assert [m["Subject"] for m in mailbox.messages] == ["Confirm your address"]

    db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    mailbox.expect(1)
    say(alice, "Third comment, a day later", email=ALICE)
    assert [m["Subject"] for m in mailbox.to(ALICE)] == ["Confirm your address"] * 2


def test_a_confirmation_link_works_once(app, site, mailbox):
    mailbox.expect(1)
    say(app.test_client(), "Hello", email=ALICE)
    path = mailbox.link(mailbox.last_to(ALICE), "/notify/confirm/")
    assert press_button(app.test_client(), path).status_code == 200
    again = press_button(app.test_client(), path)
    assert again.status_code == 400
    assert "used already" in again.get_data(as_text=True)
    assert db.session.get(ConfirmedEmail, ALICE) is not None


def test_spam_gets_no_confirmation_mail(app, site):
    # Without the mailbox fixture, any SMTP send fails this test.
    thread = threads.get_or_create_thread(site, "jj-s2", URL, "JJ")
    comment = comments.post_comment(thread.site.slug, thread.key,
                                    Actor(guest_key="k" * 40), "Buy now",
                                    name="Spammer", email=ALICE)
    comments.set_status(comment, Status.SPAM)
    db.session.commit()
    assert outbox_subjects() == []


def test_reply_held_for_moderation_mails_once_when_a_moderator_approves_it(
        app, site, mailbox):
    site.moderation = ModerationPolicy.PRE
    mod = make_user("mod", moderator_of=[site])
    db.session.commit()
    alice = app.test_client()
    mailbox.expect(1)
    parent = say(alice, "Held at first", email=ALICE, notify=True)
    confirm_address(app, mailbox)
    moderation.act_on_comments([parent["id"]], "approve", Actor(user=mod))
    db.session.commit()

    reply = say(app.test_client(), "A held reply", parent=parent["id"], name="Bob")
    assert reply["status"] == "pending"
    assert len(mailbox.to(ALICE)) == 1  # only the confirmation so far

    mailbox.expect(1)
    from tests.test_moderation import token_for

    response = app.test_client().post("/api/v1/moderation/actions", headers=token_for(mod),
                                      json={"ids": [reply["id"]], "action": "approve"})
    assert response.get_json()["results"][0]["result"] == "ok"
    assert mailbox.last_to(ALICE)["Subject"].startswith("Bob replied")

    # Taken back and approved again: the reply was announced already.
    for action in ("reject", "approve"):
        moderation.act_on_comments([reply["id"]], action, Actor(user=mod))
        db.session.commit()
    assert outbox_subjects() == ["Confirm your address",
                                 "Bob replied to your comment on Jessica Jones Season 2"]


def test_replying_to_yourself_sends_nothing(app, alice_confirmed, mailbox):
    say(app.test_client(), "Answering myself", parent=alice_confirmed, email=ALICE)
    other_browser_same_address = app.test_client()
    say(other_browser_same_address, "Me again", parent=alice_confirmed, email="ALICE@example.org")
    assert len(mailbox.to(ALICE)) == 1  # the confirmation only


def test_a_request_that_fails_after_queueing_sends_nothing(app, alice_confirmed, mailbox,
                                                          monkeypatch):
    queue_then_fail = notifications.mail_reply_notices

    def failing(*args, **kwargs):
        assert queue_then_fail(*args, **kwargs) == 1
        raise RuntimeError("the database went away")

    monkeypatch.setattr(notifications, "mail_reply_notices", failing)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().post("/api/v1/comments", json={
        "site": "demo", "key": "jj-s2", "body": "Lost reply", "name": "Bob",
        "parent_id": alice_confirmed})
    assert response.status_code == 500
    assert outbox_subjects() == ["Confirm your address"]
    assert db.session.scalar(select(Comment).where(Comment.body == "Lost reply")) is None


def test_a_rolled_back_approval_mails_nobody(app, alice_confirmed, mailbox):
    thread = threads.get_thread(threads.get_site("demo"), "jj-s2")
    comments.post_comment(thread.site.slug, thread.key,
                          Actor(guest_key="b" * 40), "Never committed",
                          alice_confirmed, name="Bob")
    db.session.rollback()
    db.session.commit()
    assert outbox_subjects() == ["Confirm your address"]


def test_an_import_sends_nothing(app, alice_confirmed, mailbox):
    thread = threads.get_thread(threads.get_site("demo"), "jj-s2")
    parent = db.session.get(Comment, alice_confirmed)
    imported = comments.import_comment(thread, "From the old service", parent=parent,
                                       name="Old Bob", email=None, status=Status.PENDING,
                                       created_at=utcnow() - timedelta(days=400))
    comments.import_comment(thread, "Approved there", parent=parent, name="Old Carol",
                            email=None, status=Status.APPROVED, created_at=utcnow())
    db.session.commit()
    # Approving an imported reply later does not announce it either.
    admin = make_user("admin", is_admin=True)
    moderation.act_on_comments([imported.id], "approve", Actor(user=admin))
    db.session.commit()
    assert outbox_subjects() == ["Confirm your address"]


def test_an_account_with_a_verified_email_is_mailed_replies(app, site, mailbox):
    reader = make_user("reader", verified=True)
    unverified = make_user("unverified")
    thread = threads.get_or_create_thread(site, "jj-s2", URL, "Jessica Jones Season 2")
    watched = comments.post_comment(thread.site.slug, thread.key,
                                    Actor(user=reader), "Mine", notify=True)
    unheard = comments.post_comment(thread.site.slug, thread.key,
                                    Actor(user=unverified), "Also mine", notify=True)
    db.session.commit()
    bob = app.test_client()
    mailbox.expect(1)
    say(bob, "Reply to the verified reader", parent=watched.id, name="Bob")
    say(bob, "Reply to the unverified reader", parent=unheard.id, name="Bob")
    assert mailbox.last_to("reader@example.org")["Subject"].startswith("Bob replied")
    # The reader answering their own comment, signed in, tells nobody.
    from tests.test_moderation import token_for

    say(app.test_client(), "Answering myself", parent=watched.id, headers=token_for(reader))


def test_first_policy_trusts_a_guest_only_through_a_confirmed_address(app, mailbox):
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="first")
    mod = make_user("mod", moderator_of=[site])
    db.session.commit()
    alice, carol, impostor = app.test_client(), app.test_client(), app.test_client()

    mailbox.expect(2)
    first = say(alice, "My first comment", email=ALICE)
    carol_first = say(carol, "Carol's first", name="Carol", email="carol@example.org")
    assert first["status"] == carol_first["status"] == "pending"
    confirm_address(app, mailbox)
    moderation.act_on_comments([first["id"], carol_first["id"]], "approve", Actor(user=mod))
    db.session.commit()

    assert say(alice, "Trusted now", email=ALICE)["status"] == "approved"
    # Same approved history, but the typed address was never confirmed: still waits.
    assert say(carol, "Carol again", name="Carol", email="carol@example.org")["status"] == \
        "pending"
    # Typing Alice's confirmed address from another browser is not enough either.
    assert say(impostor, "I am Alice", email=ALICE)["status"] == "pending"


def test_mailed_links_work_outside_a_request(app, site):
    assert token_link("unsubscribe", "abc") == "http://localhost/notify/unsubscribe/abc"
    thread = threads.get_or_create_thread(site, "a b#c", None, "")
    assert thread_link(thread) == "http://localhost/embed/demo?key=a+b%23c"


def test_a_bulk_approval_with_a_conflict_still_announces_the_approved_reply(
        app, alice_confirmed, mailbox):
    site = threads.get_site("demo")
    site.moderation = ModerationPolicy.PRE
    mod = make_user("mod", moderator_of=[site])
    reply = say(app.test_client(), "Held reply", parent=alice_confirmed, name="Bob")
    # Alice's own comment is approved already: a conflict, rolled back to its savepoint.
    results = moderation.act_on_comments([reply["id"], alice_confirmed], "approve",
                                         Actor(user=mod))
    assert [r.result for r in results] == ["ok", "conflict"]
    db.session.commit()
    assert outbox_subjects() == ["Confirm your address",
                                 "Bob replied to your comment on Jessica Jones Season 2"]


def test_mails_speak_the_readers_language_and_reply_notices_the_sites(app, site, mailbox):
    """The confirmation goes out in the guest's request (their language); a reply notice when
    the reply is published, whoever publishes it, in the site's language."""
    sites.update_site(site, language="de")
    db.session.commit()
    alice = app.test_client()
    mailbox.expect(1)
    comment = say(alice, "Kommt Jessica in Luke Cage vor?", email=ALICE, notify=True,
                  headers={"Accept-Language": "fr"})
    message = mailbox.last_to(ALICE)
    assert message["Subject"] == "Confirmez votre adresse"
    assert message.get_content().startswith("Vous avez commenté « Jessica Jones Season 2 »")
    path = mailbox.link(message, "/notify/confirm/")
    assert press_button(app.test_client(), path).status_code == 200
    mailbox.expect(1)
    say(app.test_client(), "Ja, in Folge 3.", parent=comment["id"], name="Bob",
        headers={"Accept-Language": "ja"})
    notice = mailbox.last_to(ALICE)
    assert notice["Subject"] == "Bob hat auf Ihren Kommentar zu Jessica Jones Season 2 geantwortet"
    assert "Zur Antwort: " in notice.get_content()

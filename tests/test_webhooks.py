"""Webhooks: set per site, queued in the outbox, POSTed signed by `discuss deliver` to a real
HTTP server, retried with backoff on a 500 or a hang (the clock is the test's), given up after
the last attempt and shown on the admin page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from discuss import comments, webhooks
from discuss.extensions import db
from discuss.models import Comment, DeliveryState, Site, Status, WebhookDelivery, utcnow
from discuss.web.webhook_events import queue_test_event
from tests.accounts_helpers import form_csrf, html_login, make_user
from tests.conftest import make_thread, post
from tests.webhook_receiver import start_receiver

SECRET = "receiver-shared-secret-1234"


@pytest.fixture
def receiver():
    receiver, server = start_receiver(SECRET)
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def hooked(app, site, receiver) -> Site:
    webhooks.set_webhook(site, receiver.url, SECRET)
    db.session.commit()
    return site


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def queue_ping(site: Site) -> WebhookDelivery:
    delivery = queue_test_event(site)
    db.session.commit()
    return delivery


def deliver(now, *, timeout: float = webhooks.TIMEOUT) -> webhooks.Outcome:
    return webhooks.deliver_due(retry_seconds=30, timeout=timeout, now=now)


# --- settings ---------------------------------------------------------------------------


def test_site_settings_sets_checks_and_clears_the_webhook(runner, site):
    def settings(*args: str):
        return runner.invoke(args=["discuss", "site-settings", "demo", *args])

    for args, message in [
        (["--webhook-url", "ftp://example.net/x", "--webhook-secret", SECRET], "http://"),
        (["--webhook-url", "https://example.net/x", "--webhook-secret", "short"], "16 to 200"),
        (["--webhook-url", "https://example.net/x"], "Give the webhook a secret"),
        (["--webhook-url", "https://user:pw@example.net/x", "--webhook-secret", SECRET],
         "no user name or password"),
        (["--webhook-url", "https://exa mple.net/", "--webhook-secret", SECRET], "not valid"),
        (["--webhook-url", "https://example.net/" + "x" * 2100, "--webhook-secret", SECRET],
         "not valid"),
        (["--webhook-secret", SECRET], "URL as well"),
        (["--no-webhook", "--webhook-url", "https://example.net/x"], "not both"),
    ]:
        result = settings(*args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.session.get(Site, site.id).webhook_url == ""

    saved = settings("--webhook-url", "https://hooks.example.net/discuss",
                     "--webhook-secret", SECRET)
    assert saved.exit_code == 0, saved.output
    assert "webhook: https://hooks.example.net/discuss (signed)" in saved.output
    assert SECRET not in saved.output
    moved = settings("--webhook-url", "https://hooks.example.net/v2")  # the secret stays
    assert moved.exit_code == 0, moved.output
    db.session.expire_all()
    assert (site.webhook_url, site.webhook_secret) == ("https://hooks.example.net/v2", SECRET)

    cleared = settings("--webhook-url", "")
    assert "webhook: off" in cleared.output
    db.session.expire_all()
    assert (site.webhook_url, site.webhook_secret) == ("", "")
    settings("--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret", SECRET)
    assert "webhook: off" in settings("--no-webhook").output
    assert "webhook" not in settings().output  # off and untouched: not mentioned


# --- delivery ---------------------------------------------------------------------------


def test_discuss_deliver_posts_the_event_signed_to_the_receiver(runner, hooked, receiver):
    queued = queue_ping(hooked)
    assert receiver.received == []  # queued in the transaction, sent by the worker only

    result = runner.invoke(args=["discuss", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Webhooks: 1 delivered, 0 to retry, 0 given up." in result.output
    [got] = receiver.received
    assert got.signature_ok
    assert (got.event, got.delivery, got.path) == ("ping", queued.delivery, "/hooks/discuss?x=1")
    assert got.body == {"event": "ping", "delivery": queued.delivery, "site": "demo",
                        "thread": None, "comment": None}
    [delivery] = deliveries()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        DeliveryState.DELIVERED, 1, 200)
    assert runner.invoke(args=["discuss", "send-mail"]).output.strip() == "Sent 0 message(s)."
    assert len(receiver.received) == 1  # delivered once


def test_a_receiver_answering_500_is_retried_with_backoff_under_the_same_delivery_id(
        hooked, receiver):
    receiver.status = 500
    queued = queue_ping(hooked)
    start = utcnow()
    assert deliver(start).retrying == 1
    [delivery] = deliveries()
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert (delivery.last_status, delivery.last_error) == (500, "HTTP 500 Internal Server Error")

    assert deliver(start + timedelta(seconds=29)).attempted == 0  # not due yet
    assert deliver(start + timedelta(seconds=30)).retrying == 1
    assert deliveries()[0].next_attempt_at == start + timedelta(seconds=90)  # 30 s, then 60 s
    receiver.status = 204
    assert deliver(start + timedelta(seconds=90)).delivered == 1
    assert receiver.deliveries() == [queued.delivery] * 3
    assert all(r.signature_ok for r in receiver.received)
    assert deliveries()[0].attempts == 3
    assert deliver(start + timedelta(days=1)).attempted == 0


def test_a_receiver_that_hangs_is_given_up_on_at_the_timeout_and_retried(hooked, receiver):
    receiver.hang = True
    queued = queue_ping(hooked)
    start = utcnow()
    assert deliver(start, timeout=0.3).retrying == 1
    [delivery] = deliveries()
    assert delivery.last_error == "No answer within 0.3 seconds."
    assert delivery.last_status is None

    receiver.hang = False
    assert deliver(start + timedelta(seconds=30), timeout=0.3).delivered == 1
    assert receiver.deliveries() == [queued.delivery] * 2


def test_a_receiver_that_always_fails_is_given_up_and_shown_on_the_admin_page(
        client, hooked, receiver):
    receiver.status = 500
    queued = queue_ping(hooked)
    now = utcnow()
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        outcome = deliver(now)
        assert outcome.attempted == 1, attempt
        now += webhooks.retry_delay(attempt, 30)
    assert outcome.given_up == 1
    assert webhooks.MAX_ATTEMPTS >= 6  # the SPEC: retried at least five times
    assert deliver(now + timedelta(days=7)).attempted == 0
    assert receiver.deliveries() == [queued.delivery] * webhooks.MAX_ATTEMPTS
    [delivery] = deliveries()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, webhooks.MAX_ATTEMPTS)

    make_user("adaline", is_admin=True, verified=True)
    html_login(client, "adaline")
    page = html.unescape(client.get("/admin/sites/demo").get_data(as_text=True))
    row = re.search(rf'<tr data-delivery="{queued.delivery}" data-state="failed">(.*?)</tr>',
                    page, re.S)
    assert row, page
    assert "given up" in row.group(1)
    assert "HTTP 500 Internal Server Error" in row.group(1)
    assert f">{webhooks.MAX_ATTEMPTS}<" in row.group(1)


def test_a_refused_connection_is_retried_and_a_turned_off_webhook_is_given_up(app, site):
    webhooks.set_webhook(site, "http://127.0.0.1:9/nobody-listens", SECRET)
    db.session.commit()
    queue_ping(site)
    start = utcnow()
    assert deliver(start, timeout=2).retrying == 1
    assert "ConnectionRefusedError" in deliveries()[0].last_error
    webhooks.turn_off(site)
    db.session.commit()
    assert deliver(start + timedelta(minutes=1)).given_up == 1
    assert deliveries()[0].last_error == "The site's webhook was turned off."


def test_deliveries_wait_for_the_commit(app, hooked, receiver):
    queue_test_event(hooked)
    db.session.rollback()
    assert deliveries() == []
    assert deliver(utcnow()).attempted == 0


# --- the admin page ---------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    make_user("adaline", is_admin=True, verified=True)
    html_login(client, "adaline")
    return client


def test_admin_sets_a_webhook_with_a_generated_secret_and_sends_a_test_event(
        admin_client, site, receiver):
    path = "/admin/sites/demo/webhook"
    answer = admin_client.post(path, data={"csrf_token": form_csrf(admin_client,
                                                                   "/admin/sites/demo"),
                                           "action": "save", "webhook_url": receiver.url})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    shown = re.search(r'<code id="webhook-secret-value">([^<]+)</code>',
                      answer.get_data(as_text=True)).group(1)
    db.session.expire_all()
    assert site.webhook_secret == shown
    assert len(shown) >= 32
    receiver.secret = shown

    tested = admin_client.post(path + "/test", data={
        "csrf_token": form_csrf(admin_client, "/admin/sites/demo")}, follow_redirects=True)
    assert "The test event was delivered (HTTP 200)." in tested.get_data(as_text=True)
    [got] = receiver.received
    assert got.event == "ping"
    assert got.signature_ok

    receiver.status = 500
    failed = admin_client.post(path + "/test", data={
        "csrf_token": form_csrf(admin_client, "/admin/sites/demo")}, follow_redirects=True)
    assert "The test event was not delivered: HTTP 500 Internal Server Error It will be " \
           "retried." in html.unescape(failed.get_data(as_text=True))

    off = admin_client.post(path, data={"csrf_token": form_csrf(admin_client,
                                                                "/admin/sites/demo"),
                                        "action": "off"}, follow_redirects=True)
    assert "Webhooks of demo are off." in off.get_data(as_text=True)
    db.session.expire_all()
    assert site.webhook_url == ""


def test_the_admin_form_refuses_a_bad_url_beside_the_field(admin_client, site):
    answer = admin_client.post("/admin/sites/demo/webhook", data={
        "csrf_token": form_csrf(admin_client, "/admin/sites/demo"), "action": "save",
        "webhook_url": "javascript:alert(1)", "webhook_secret": SECRET})
    assert answer.status_code == 400
    assert "must start with http:// or https://" in answer.get_data(as_text=True)


def test_only_admins_may_send_a_test_event_and_only_with_the_csrf_token(
        client, hooked, receiver):
    make_user("reader", verified=True)
    html_login(client, "reader")
    assert client.post("/admin/sites/demo/webhook/test", data={
        "csrf_token": form_csrf(client, "/auth/account")}).status_code == 404
    client.post("/auth/logout", data={"csrf_token": form_csrf(client, "/auth/account")})
    make_user("adaline", is_admin=True, verified=True)
    html_login(client, "adaline")
    assert client.post("/admin/sites/demo/webhook/test").status_code == 400  # no CSRF token
    assert receiver.received == []
    assert deliveries() == []


# --- events ---------------------------------------------------------------------------


def test_comment_events_become_signed_deliveries_sent_only_by_the_worker(
        app, client, hooked, receiver):
    posted = client.post("/api/v1/comments", json={
        "site": "demo", "key": "jj-s2", "url": "https://news.example.com/jj", "title": "JJ",
        "body": "Will *she* appear?", "name": "Ann", "email": "ann@example.org"})
    assert posted.status_code == 201, posted.get_json()
    comment_id = posted.get_json()["id"]
    assert receiver.received == []  # posting never calls out
    comment = db.session.get(Comment, comment_id)
    comments.set_status(comment, Status.PENDING)
    comments.set_status(comment, Status.APPROVED)
    db.session.commit()
    comments.set_status(comment, Status.DELETED)
    db.session.commit()
    assert [d.event for d in deliveries()] == [
        "comment.created", "comment.approved", "comment.deleted"]

    assert deliver(utcnow()).delivered == 3
    created, approved, deleted = receiver.received
    assert all(r.signature_ok for r in receiver.received)
    assert [r.event for r in receiver.received] == [r.body["event"] for r in receiver.received]
    assert created.body["thread"] == {"key": "jj-s2", "url": "https://news.example.com/jj",
                                      "title": "JJ"}
    shown = created.body["comment"]
    assert (shown["id"], shown["status"], shown["body"]) == (
        comment_id, "approved", "Will *she* appear?")
    assert shown["html"] == "<p>Will <em>she</em> appear?</p>"
    assert shown["author"]["name"] == "Ann"
    assert shown["author"]["avatar_url"].startswith("http://localhost/avatars/")
    assert "replies" not in shown
    assert approved.body["comment"]["status"] == "approved"
    assert deleted.body["comment"]["author"] is None
    assert (deleted.body["comment"]["body"], deleted.body["comment"]["html"]) == ("", "")
    assert "ann@example.org" not in str([r.body for r in receiver.received])
    assert len({r.delivery for r in receiver.received}) == 3


def test_a_site_without_a_webhook_queues_no_delivery(app, site):
    thread = make_thread(site)
    post(thread, "Nobody listens")
    db.session.commit()
    assert deliveries() == []

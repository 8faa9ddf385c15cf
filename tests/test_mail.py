"""The outbox: mail queued in the request's transaction, sent after it, retried on failure."""

from __future__ import annotations

import logging
from datetime import timedelta

from discuss import mail
from discuss.extensions import db
from discuss.models import OutboxMessage, utcnow
from tests.accounts_helpers import PASSWORD
from tests.mailbox import free_port

REGISTER = {"username": "newreader", "email": "new@example.org", "password": PASSWORD}


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_mail_is_sent_over_smtp_after_the_request(client, mailbox):
    mailbox.expect(1)
    client.post("/api/v1/auth/register", json=REGISTER)
    message = mailbox.last_to("new@example.org")
    assert message["Subject"] == "Confirm your email address"
    assert message["From"] == "discuss@localhost"
    assert "http://localhost/auth/verify/" in message.get_content()
    [queued] = _outbox()
    assert queued.sent_at is not None
    assert queued.attempts == 1


def test_a_request_that_fails_sends_no_mail(client, mailbox):
    response = client.post("/api/v1/auth/register", json={**REGISTER, "password": "short"})
    assert response.status_code == 400
    assert _outbox() == []
    assert mailbox.messages == []


def test_without_a_mail_server_mail_goes_to_the_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="discuss.mail"):
        client.post("/api/v1/auth/register", json=REGISTER, buffered=True)
    assert "mail to new@example.org: Confirm your email address" in caplog.text
    assert _outbox()[0].sent_at is not None


def test_a_failed_send_is_kept_and_retried_later(app, mailbox):
    now = utcnow()
    mail.queue_mail("someone@example.org", "Hello", "Body", now=now)
    db.session.commit()
    working_port = app.config["DISCUSS_MAIL_PORT"]
    app.config["DISCUSS_MAIL_PORT"] = free_port()  # nobody listens there
    assert mail.send_due(app.config, now=now) == 0
    [message] = _outbox()
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.send_after == now + timedelta(minutes=1)
    assert "ConnectionRefusedError" in message.last_error

    app.config["DISCUSS_MAIL_PORT"] = working_port
    assert mail.send_due(app.config, now=now) == 0  # not due yet
    mailbox.expect(1)
    assert mail.send_due(app.config, now=now + timedelta(minutes=2)) == 1
    assert mailbox.last_to("someone@example.org").get_content().strip() == "Body"


def test_backoff_grows_and_is_capped():
    assert [mail.retry_delay(n).total_seconds() // 60 for n in (1, 2, 3, 9, 20)] == [
        1, 2, 4, 240, 240]


def test_send_mail_command_flushes_the_outbox(app, runner, mailbox):
    mail.queue_mail("a@example.org", "One", "1")
    mail.queue_mail("b@example.org", "Two", "2")
    db.session.commit()
    mailbox.expect(2)
    result = runner.invoke(args=["discuss", "send-mail"])
    assert result.exit_code == 0
    assert "Sent 2 message(s)." in result.output
    assert runner.invoke(args=["discuss", "send-mail"]).output.strip() == "Sent 0 message(s)."


def test_the_outbox_survives_a_restart(app, database_url, tmp_path, mailbox):
    """Mail queued while the mail server was down is sent by a process started later."""
    from tests.conftest import make_app

    now = utcnow()
    mail.queue_mail("later@example.org", "Still here", "Body", now=now)
    db.session.commit()
    working_port = app.config["DISCUSS_MAIL_PORT"]
    app.config["DISCUSS_MAIL_PORT"] = free_port()  # the mail server is down
    assert mail.send_due(app.config, now=now) == 0

    restarted = make_app(database_url, tmp_path, DISCUSS_MAIL_HOST="127.0.0.1",
                         DISCUSS_MAIL_PORT=working_port)
    mailbox.expect(1)
    with restarted.app_context():
        assert mail.send_due(restarted.config, now=now + timedelta(minutes=2)) == 1
        db.session.remove()
        db.engine.dispose()
    assert mailbox.last_to("later@example.org")["Subject"] == "Still here"

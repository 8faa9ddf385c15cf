"""Spent single-use tokens (form tokens, mailed links, sign-up claims) are remembered while they
could still be presented, and forgotten by `discuss deliver` once they expired long ago: the
table does not grow by a row with every comment for ever. The clock is the test's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from discuss import formtokens, links
from discuss.extensions import db
from discuss.models import UsedToken, utcnow
from discuss.web.antispam import FORM_MAX_AGE
from discuss.web.deliver import FORGET_SPENT_EVERY, deliver_once


def spent(age: timedelta, name: str) -> str:
    key = formtokens.spent_key(name)
    formtokens.spend(key, now=utcnow() - age)
    db.session.commit()
    return key


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(UsedToken))


def test_tokens_spent_long_ago_are_forgotten_and_recent_ones_still_refused(app):
    now = utcnow()
    old = spent(links.SPENT_KEPT + timedelta(minutes=1), "old")
    recent = spent(timedelta(hours=1), "recent")
    edge = spent(links.SPENT_KEPT - timedelta(minutes=1), "edge")
    assert count() == 3

    deliver_once(now=now)

    assert not formtokens.is_spent(old)
    assert formtokens.is_spent(recent)  # the same form cannot post twice
    assert formtokens.is_spent(edge)
    assert count() == 2


def test_every_kind_of_token_expires_well_before_its_record_is_forgotten():
    assert max(links.LINK_MAX_AGE.values()) < links.SPENT_KEPT
    assert timedelta(seconds=FORM_MAX_AGE) < links.SPENT_KEPT


def test_the_housekeeping_runs_once_an_hour_not_on_every_pass(app):
    now = utcnow()
    deliver_once(now=now)
    stale = spent(links.SPENT_KEPT + timedelta(days=1), "stale")
    deliver_once(now=now + FORGET_SPENT_EVERY - timedelta(seconds=1))
    assert formtokens.is_spent(stale)  # not yet: the last sweep was under an hour ago
    deliver_once(now=now + FORGET_SPENT_EVERY)
    assert not formtokens.is_spent(stale)

"""Spam rules, each a per-site setting: honeypot, form timing, links, blocklist, duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from discuss import comments, spam
from discuss.errors import Conflict
from discuss.extensions import db
from discuss.models import BlocklistAction, Status, utcnow
from discuss.permissions import Actor
from discuss.web.antispam import checked_form, form_age, rendered_at_token
from tests.conftest import guest, make_thread


def _post(site, body, *, form=None, actor=None, now=None, email=None):
    thread = make_thread(site)
    return comments.post_comment(thread.site.slug, thread.key,
                                 actor or guest(), body, name="Reader", email=email,
                                 form=form, now=now or utcnow())


def test_filled_honeypot_sends_the_comment_to_spam(site):
    comment = _post(site, "Buy now", form={"website": "http://spam.example",
                                           "form_age_seconds": 30.0})
    assert comment.status == Status.SPAM
    assert comment.held_reasons[0]["rule"] == "honeypot"


def test_honeypot_rule_can_be_switched_off_per_site(site):
    site.honeypot = False
    comment = _post(site, "Hello", form={"website": "x", "form_age_seconds": 30.0})
    assert comment.status == Status.APPROVED


def test_form_sent_faster_than_the_minimum_waits_for_a_moderator_not_spam(site):
    site.min_submit_seconds = 5
    comment = _post(site, "Quick!", form={"website": "", "form_age_seconds": 1.0})
    assert comment.status == Status.PENDING
    assert comment.held_reasons[0]["rule"] == "timing"


def test_a_signed_in_reader_with_an_approved_comment_skips_the_timing_rule(site):
    from tests.accounts_helpers import make_user

    site.min_submit_seconds = 5
    from discuss.models import ModerationPolicy

    site.moderation = ModerationPolicy.POST
    user = make_user("carol")
    reader = Actor(user=user, ip_hash="ip-c")
    first = _post(site, "My first, typed fast", actor=reader,
                  form={"website": "", "form_age_seconds": 1.0})
    assert first.status == Status.PENDING  # nothing approved yet: held, not spam
    comments.set_status(first, Status.APPROVED)
    second = _post(site, "Another quick one", actor=reader,
                   form={"website": "", "form_age_seconds": 0.5})
    assert second.status == Status.APPROVED
    assert not second.held_reasons


def test_form_without_a_valid_timestamp_waits(site):
    comment = _post(site, "No token", form={"website": "", "form_age_seconds": None})
    assert comment.status == Status.PENDING
    assert comment.held_reasons == [{"rule": "timing",
                                     "detail": "the form's timestamp is missing or forged"}]


def test_api_write_without_a_form_skips_the_form_rules(site):
    assert _post(site, "From a script").status == Status.APPROVED


def test_patient_form_is_published(site):
    comment = _post(site, "Took my time", form={"website": "", "form_age_seconds": 12.0})
    assert comment.status == Status.APPROVED


def test_signed_timestamp_gives_the_form_age_and_rejects_forgeries(app):
    with app.test_request_context():
        token = rendered_at_token()
        age = form_age({"rendered_at": token})
        assert age is not None
        assert 0 <= age < 5
        later = form_age({"rendered_at": token}, now=utcnow().timestamp() + 60)
        assert later is not None
        assert later >= 59
        value, _, signature = token.rpartition(".")
        other = "y" if signature[0] == "x" else "x"  # always a different signature
        assert form_age({"rendered_at": value + "." + other + signature[1:]}) is None
        assert form_age({"rendered_at": "comment-form.AAAA.BBBB"}) is None
        assert form_age({}) is None
        assert checked_form(None) is None
        assert checked_form({"website": "w", "rendered_at": token})["website"] == "w"


def test_too_many_links_wait_for_a_moderator(site):
    site.max_links = 2
    body = "See https://a.example and http://b.example and www.c.example.org"
    comment = _post(site, body)
    assert comment.status == Status.PENDING
    assert comment.held_reasons == [{"rule": "links", "detail": "3 links (more than 2)"}]
    assert _post(site, "Only https://a.example and https://b.example").status == \
        Status.APPROVED


@pytest.mark.parametrize(("body", "held"), [
    ("Win at the CASINO tonight", True),
    ("Win at the cásíno tonight", True),
    ("Casinos are fine", False),  # whole words only
    ("occasional casinoish", False),
    ("try cheap   PILLS now", True),  # a phrase across any spaces
    ("cheap, pills", False),
])
def test_blocklist_matches_whole_words_ignoring_case_and_accents(site, body, held):
    site.blocklist = "casino\ncheap pills"
    comment = _post(site, body)
    assert (comment.status == Status.PENDING) is held
    if held:
        assert comment.held_reasons[0]["rule"] == "blocklist"


def test_blocklist_action_spam_marks_the_comment_spam_and_names_the_word(site):
    site.blocklist = "Viagra, crypto giveaway"
    site.blocklist_action = BlocklistAction.SPAM
    comment = _post(site, "Huge crypto   giveaway here")
    assert comment.status == Status.SPAM
    assert comment.held_reasons == [{"rule": "blocklist", "detail": "crypto giveaway"}]


def test_same_body_again_within_an_hour_is_refused(site):
    now = utcnow()
    _post(site, "Same words", now=now)
    with pytest.raises(Conflict) as caught:
        _post(site, "  same   WORDS ", now=now + timedelta(minutes=10))
    assert caught.value.message == "You already posted this."
    assert caught.value.status == 409
    # Another reader may say the same; the same reader may after an hour.
    _post(site, "Same words", actor=guest("h" * 40, ip="ip-2"), now=now)
    _post(site, "Same words", now=now + timedelta(minutes=61))


def test_same_guest_is_recognised_by_email_or_ip_for_duplicates(site):
    now = utcnow()
    _post(site, "Repeated", email="a@example.org", now=now)
    other_browser_same_email = Actor(guest_key="z" * 40, ip_hash="ip-9")
    with pytest.raises(Conflict):
        _post(site, "Repeated", actor=other_browser_same_email, email="a@example.org", now=now)
    with pytest.raises(Conflict):
        _post(site, "Repeated", actor=Actor(guest_key="y" * 40, ip_hash="ip-1"), now=now)


def test_edit_passes_the_rules_again(site):
    site.max_links = 1
    now = utcnow()
    comment = _post(site, "Harmless", now=now)
    assert comment.status == Status.APPROVED
    comments.edit_comment(comment, guest(), "Now with https://a.example https://b.example",
                          now=now + timedelta(minutes=1))
    assert comment.status == Status.PENDING
    assert comment.held_reasons[0]["rule"] == "links"


def test_edit_into_a_duplicate_of_another_comment_is_refused(site):
    now = utcnow()
    _post(site, "First text", now=now)
    second = _post(site, "Second text", now=now)
    with pytest.raises(Conflict):
        comments.edit_comment(second, guest(), "First text", now=now + timedelta(minutes=1))


def test_verdict_spam_outranks_pending():
    verdict = spam.Verdict()
    verdict.hold(spam.PENDING, "links", "4")
    verdict.hold(spam.SPAM, "honeypot", "x")
    verdict.hold(spam.PENDING, "blocklist", "y")
    assert verdict.action == spam.SPAM
    assert [r["rule"] for r in verdict.reasons] == ["links", "honeypot", "blocklist"]


def test_api_form_object_is_checked_at_the_edge(client, site):
    db.session.commit()
    response = client.post("/api/v1/comments", json={
        "site": "demo", "key": "k1", "url": "https://news.example.com/a", "body": "Bot text",
        "name": "Bot", "form": {"website": "http://x.example", "rendered_at": "forged"}})
    assert response.status_code == 201
    assert response.get_json()["status"] == "spam"

"""What readers write, under attack (issue 12): an edit goes through the rules a new comment
does (finding 3); a comment renders to at most 50,000 bytes of HTML and the links rule counts
the links a reader can click (finding 5)."""

from __future__ import annotations

import pytest

from discuss import comments, moderation, sites
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Comment, Status
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import make_thread, post

# A 10,000-character body of reference links, all to one definition.
AMPLIFIED = "[click][r] " * 900 + "\n\n[r]: https://spam.example.com/buy-now-cheap-pills"


def _api_post(app, **fields):
    client = app.test_client(use_cookies=False)
    response = client.post("/api/v1/comments", json={
        "site": "demo", "key": "a1", "url": "https://news.example.com/a1", "name": "Ann",
        **fields})
    return client, response


def _approve(comment_id: int, site) -> None:
    moderator = make_user("moderator", moderator_of=[site])
    moderation.act_on_comments([comment_id], "approve", Actor(user=moderator))
    db.session.commit()


@pytest.mark.parametrize("policy", ["pre", "first"])
def test_an_approved_comment_edited_on_a_pre_site_waits_in_the_queue_again(app, site, policy):
    """The reproduction: approved, then edited by its author: the new text must not be
    published without a moderator on a site that holds new comments."""
    sites.update_site(site, moderation=policy)
    site.min_submit_seconds = 0
    db.session.commit()
    _, created = _api_post(app, body="A harmless first version")
    assert created.get_json()["status"] == "pending"
    key = created.headers["X-Discuss-Guest-Key"]
    comment_id = created.get_json()["id"]
    _approve(comment_id, site)

    author = app.test_client(use_cookies=False)
    edited = author.patch(f"/api/v1/comments/{comment_id}", headers={"X-Discuss-Guest": key},
                          json={"body": "Now with a scam: buy at spam.example.com"})
    assert edited.status_code == 200
    assert edited.get_json()["status"] == "pending"
    reader = app.test_client(use_cookies=False).get("/api/v1/threads?site=demo&key=a1")
    assert reader.get_json()["comments"] == []
    assert reader.get_json()["thread"]["comment_count"] == 0


def test_an_edit_on_a_post_site_stays_published_when_no_rule_fires(app, site):
    site.min_submit_seconds = 0
    db.session.commit()
    _, created = _api_post(app, body="First version")
    key = created.headers["X-Discuss-Guest-Key"]
    edited = app.test_client(use_cookies=False).patch(
        f"/api/v1/comments/{created.get_json()['id']}", headers={"X-Discuss-Guest": key},
        json={"body": "Second version"})
    assert edited.get_json()["status"] == "approved"


def test_reference_links_count_as_the_links_a_reader_sees(app, site):
    thread = make_thread(site, "a1")
    body = "[one][r] [two][r] [three][r] [four][r] [five][r]\n\n[r]: https://spam.example.com"
    comment = post(thread, body, actor=Actor(guest_key="k" * 40, ip_hash="ip"),
                                    name="Ann")
    assert comment.status == Status.PENDING
    assert comment.held_reasons[0]["rule"] == "links"
    assert comment.held_reasons[0]["detail"].startswith("5 links")


def test_links_added_by_an_edit_are_counted_in_the_rendered_html(app, site):
    thread = make_thread(site, "a1")
    author = Actor(guest_key="k" * 40, ip_hash="ip")
    comment = post(thread, "Nothing to see", actor=author, name="Ann")
    assert comment.status == Status.APPROVED
    comments.edit_comment(comment, author, "[a][r] [b][r] [c][r] [d][r]\n\n[r]: https://x.example")
    assert comment.status == Status.PENDING


def test_a_url_in_a_code_block_is_not_a_link(app, site):
    thread = make_thread(site, "a1")
    body = "```\nhttps://a.example https://b.example https://c.example https://d.example\n```"
    comment = post(thread, body, actor=Actor(guest_key="k" * 40, ip_hash="ip"),
                                    name="Ann")
    assert comment.status == Status.APPROVED


def test_html_amplification_is_refused_with_a_clear_message(app, site):
    assert len(AMPLIFIED) <= 10_000
    _, response = _api_post(app, body=AMPLIFIED)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["fields"]["body"] == "too_large"
    assert "50,000" in error["message"]
    assert db.session.query(Comment).count() == 0


def test_html_amplification_is_refused_in_the_plain_form_and_in_edits(app, site):
    form = app.test_client(use_cookies=False).post("/embed/demo/comments", data={
        "key": "a1", "body": AMPLIFIED, "name": "Ann"})
    assert form.status_code == 400
    assert "50,000" in form.get_data(as_text=True)
    thread = make_thread(site, "a1")
    author = Actor(guest_key="k" * 40, ip_hash="ip")
    comment = post(thread, "Short", actor=author, name="Ann")
    with pytest.raises(InvalidInput, match="50,000"):
        comments.edit_comment(comment, author, AMPLIFIED)


def test_a_long_ordinary_comment_still_fits(app, site):
    paragraph = ("Jessica Jones *will* appear, says **the** showrunner, and "
                 "[here](https://news.example.com/jj) is why.\n\n")
    body = (paragraph * 200)[:10_000]
    _, response = _api_post(app, body=body)
    assert response.status_code == 201
    assert len(response.get_json()["html"].encode()) <= 50_000


def _avatar_of(app, comment_id: int) -> str:
    data = app.test_client(use_cookies=False).get("/api/v1/threads?site=demo&key=a1").get_json()
    found = {c["id"]: c["author"]["avatar_url"] for c in data["comments"]}
    return found[comment_id]


def test_an_avatar_never_confirms_a_guessed_email(app, site):
    """Finding 4: an attacker who types the victim's name and a guessed address must not get
    the victim's avatar (that would confirm the address)."""
    site.min_submit_seconds = 0
    db.session.commit()
    _, victim = _api_post(app, body="My real comment", name="Vera",
                          email="vera@corp.example")
    _, right_guess = _api_post(app, body="Probing one", name="Vera",
                               email="vera@corp.example")
    _, wrong_guess = _api_post(app, body="Probing two", name="Vera",
                               email="vera@other.example")
    avatar = _avatar_of(app, victim.get_json()["id"])
    assert _avatar_of(app, right_guess.get_json()["id"]) != avatar
    assert _avatar_of(app, wrong_guess.get_json()["id"]) != avatar


def test_a_guests_avatar_follows_their_browser_on_one_site_only(app, site):
    site.min_submit_seconds = 0
    other = sites.create_site("other", origins=["https://other.example.com"],
                              moderation="post")
    other.min_submit_seconds = 0
    db.session.commit()
    client, first = _api_post(app, body="First", name="Gus")
    key = first.headers["X-Discuss-Guest-Key"]
    again = client.post("/api/v1/comments", headers={"X-Discuss-Guest": key}, json={
        "site": "demo", "key": "a1", "body": "Second", "name": "Gus"})
    elsewhere = client.post("/api/v1/comments", headers={"X-Discuss-Guest": key}, json={
        "site": "other", "key": "a1", "body": "Third", "name": "Gus"})
    assert again.get_json()["author"]["avatar_url"] == first.get_json()["author"]["avatar_url"]
    assert elsewhere.get_json()["author"]["avatar_url"] \
        != first.get_json()["author"]["avatar_url"]


# ---------------------------------------------------------------- finding 9: form tokens


def _aged_token(seconds: float, site_slug: str = "demo", key: str = "a1") -> str:
    """A ``rendered_at`` token as if the page had been shown ``seconds`` ago."""
    import time
    from unittest import mock

    from discuss.web.antispam import rendered_at_token

    with mock.patch("itsdangerous.timed.time") as clock:
        clock.time.return_value = time.time() - seconds
        return rendered_at_token(site_slug, key)


def _form_post(app, body: str, token: str) -> dict:
    _, response = _api_post(app, body=body, form={"website": "", "rendered_at": token})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_form_token_passes_the_timing_rule_once(app, site):
    """The reproduction: one token taken from a page passed the timing rule forever."""
    with app.test_request_context():
        token = _aged_token(60)
    assert _form_post(app, "First, patiently", token)["status"] == "approved"
    again = _form_post(app, "Second, with the same token", token)
    assert again["status"] != "approved"
    held = db.session.get(Comment, again["id"])
    assert held.held_reasons[0]["rule"] == "timing"


@pytest.mark.parametrize(("age", "site_slug", "key"), [
    (7 * 3600, "demo", "a1"),      # expired
    (60, "demo", "another-article"),  # shown for another thread
    (60, "other", "a1"),           # shown for another site
])
def test_an_expired_or_misplaced_form_token_does_not_pass(app, site, age, site_slug, key):
    with app.test_request_context():
        token = _aged_token(age, site_slug, key)
    posted = _form_post(app, "Patient, but with an old or borrowed token", token)
    assert posted["status"] != "approved"


def test_each_posted_comment_hands_the_page_a_fresh_token(app, site):
    from discuss.web.antispam import form_age

    with app.test_request_context():
        token = _aged_token(60)
    _, response = _api_post(app, body="First", form={"website": "", "rendered_at": token})
    fresh = response.headers["X-Discuss-Form-Token"]
    with app.test_request_context():
        assert form_age({"rendered_at": token}, site_slug="demo", key="a1") is None  # spent
        age = form_age({"rendered_at": fresh}, site_slug="demo", key="a1")
    assert age is not None
    assert 0 <= age < 5

"""Names under attack (issue 12, finding 13): invisible and direction-changing characters go,
names are NFKC-normalised, no one but staff takes a name that looks like a moderator's or an
admin's, and bylines mark staff."""

from __future__ import annotations

import pytest

from discuss import accounts
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.permissions import Actor
from tests.accounts_helpers import make_user
from tests.conftest import make_thread, post


@pytest.mark.parametrize(("typed", "kept"), [
    ("Bob\u202eevil", "Bobevil"),              # right-to-left override
    ("Ann\u200b\u200c\u200d\u2060e", "Anne"),  # zero-width space, joiners, word joiner
    ("a\u2066b\u2069c\u200fd", "abcd"),        # isolates and a direction mark
    ("Ｊｅｓｓｉｃａ", "Jessica"),              # fullwidth
    ("𝐉𝐞𝐬𝐬𝐢𝐜𝐚", "Jessica"),                # mathematical bold
    ("Luke\u3164", "Luke"),                    # Hangul filler
    ("Luke\ufe0f  Cage", "Luke Cage"),         # variation selector, doubled space
])
def test_a_guest_name_loses_invisible_characters(app, site, typed, kept):
    thread = make_thread(site)
    comment = post(thread, "Hello there", name=typed)
    assert comment.guest_name == kept


def test_a_display_name_loses_invisible_characters(app):
    user = make_user()
    accounts.update_profile(user, display_name="Re\u202eader\u200b")
    assert user.display_name == "Reader"


@pytest.mark.parametrize("taken", ["Moderator Mia", "moderator mia", "M0derator_Mia",
                                   "Моderator Mia",  # Cyrillic М and о
                                   "Mod\u200berator Mia", "ＭＯＤＥＲＡＴＯＲ ＭＩＡ",
                                   "mia-the-mod", "boss"])
def test_no_guest_takes_a_name_that_looks_like_staff(app, site, taken):
    mod = make_user("mia-the-mod", moderator_of=[site])
    accounts.update_profile(mod, display_name="Moderator Mia")
    make_user("boss", is_admin=True)
    db.session.commit()
    thread = make_thread(site)
    with pytest.raises(InvalidInput, match="looks like a moderator"):
        post(thread, "I am in charge here", name=taken)


def test_a_guest_name_unlike_staff_is_fine(app, site):
    make_user("mia-the-mod", moderator_of=[site])
    thread = make_thread(site)
    comment = post(thread, "Hello", name="Miami Vice")
    assert comment.guest_name == "Miami Vice"


def test_no_reader_takes_a_staff_name_by_display_name_or_username(app, client, site):
    make_user("mia-the-mod", moderator_of=[site])
    reader = make_user("reader")
    with pytest.raises(InvalidInput, match="looks like a moderator"):
        accounts.update_profile(reader, display_name="Mia The Mod")
    db.session.rollback()
    response = client.post("/api/v1/auth/register", json={
        "username": "mia_the_m0d", "email": "fake@example.org",
        "password": "violet-harbor-lantern-42"})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["username"] == "staff_lookalike"


def test_a_staff_member_may_keep_their_own_name(app, site):
    mod = make_user("mia-the-mod", moderator_of=[site])
    accounts.update_profile(mod, display_name="Mia The Mod")
    assert mod.display_name == "Mia The Mod"


def test_bylines_mark_staff(app, client, site):
    mod = make_user("mia-the-mod", moderator_of=[site])
    thread = make_thread(site, "a1")
    post(thread, "Please keep it civil.", actor=Actor(user=mod))
    post(thread, "Sure thing", name="Mia")
    db.session.commit()
    data = client.get("/api/v1/threads?site=demo&key=a1").get_json()
    roles = {c["author"]["name"]: c["author"]["role"] for c in data["comments"]}
    assert roles == {"mia-the-mod": "moderator", "Mia": None}
    page = client.get("/embed/demo?key=a1").get_data(as_text=True)
    assert page.count('class="discuss-badge discuss-staff"') == 1
    assert ">Moderator</span>" in page

"""Who may do what, tested as the table it is: every action, every kind of actor, the answer
(allowed, or the 401/403 and code the refusal carries)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from discuss import sites
from discuss.errors import DiscussError
from discuss.extensions import db
from discuss.models import Ban, BanKind, Status, User, utcnow
from discuss.permissions import PERMISSIONS, Actor, can, require
from tests.accounts_helpers import make_user
from tests.conftest import make_thread, post

WINDOW = timedelta(minutes=15)


@pytest.fixture
def world(app, site):
    """Two sites, their people and things: the targets of the table below."""
    other_site = sites.create_site("other")
    admin = make_user("admin", is_admin=True)
    mod = make_user("mod", moderator_of=[site])
    author = make_user("author")
    stranger = make_user("stranger")
    thread = make_thread(site)
    now = utcnow()
    fresh = post(thread, "Fresh", actor=Actor(user=author), now=now)
    old = post(thread, "Old", actor=Actor(user=author), now=now - timedelta(hours=1))
    gone = post(thread, "Gone", actor=Actor(user=author), now=now)
    gone.status = Status.DELETED
    by_guest = post(thread, "By a guest", actor=Actor(guest_key="g" * 40, ip_hash="ip-g"),
                    now=now)
    site_ban = Ban(site_id=site.id, kind=BanKind.IP, value="ab", created_at=now)
    every_site_ban = Ban(site_id=None, kind=BanKind.IP, value="cd", created_at=now)
    # A reader signed in by the other site's own accounts (SSO).
    other_sites_user = User(username="~0a1b2c", username_key="~0a1b2c", email="",
                            email_key="sso~other~0a1b2c", site_id=other_site.id,
                            external_id="42")
    db.session.add_all([site_ban, every_site_ban, other_sites_user])
    db.session.commit()
    return {
        "actors": {
            "admin": Actor(user=admin), "mod": Actor(user=mod), "author": Actor(user=author),
            "stranger": Actor(user=stranger), "guest": Actor(guest_key="g" * 40, ip_hash="ip-g"),
            "nobody": Actor(), "other_sites_user": Actor(user=other_sites_user),
        },
        "targets": {
            "fresh": fresh, "old": old, "gone": gone, "by_guest": by_guest, "site": site,
            "other_site": other_site, "every_site": None, "site_ban": site_ban,
            "every_site_ban": every_site_ban,
        },
        "now": now,
    }


OK = "ok"
# (action, target, {actor: answer}); an answer is OK, or (status, code) of the refusal.
TABLE = [
    ("edit_comment", "fresh", {"author": OK, "mod": OK, "admin": OK, "stranger": (403, "forbidden"),
                               "guest": (403, "forbidden"), "nobody": (403, "forbidden")}),
    ("edit_comment", "old", {"author": (403, "edit_window_passed"), "mod": OK,
                             "stranger": (403, "forbidden")}),
    ("edit_comment", "gone", {"author": (403, "edit_window_passed"), "mod": (403, "forbidden")}),
    ("edit_comment", "by_guest", {"guest": OK, "nobody": (403, "forbidden"),
                                  "stranger": (403, "forbidden")}),
    ("delete_comment", "fresh", {"author": OK, "mod": OK, "stranger": (403, "forbidden"),
                                 "guest": (403, "forbidden")}),
    ("delete_comment", "old", {"author": (403, "edit_window_passed"), "admin": OK}),
    ("delete_comment", "gone", {"author": (403, "forbidden"), "mod": (403, "forbidden")}),
    ("vote", "fresh", {"stranger": OK, "mod": OK, "author": (403, "own_comment"),
                       "guest": (401, "not_signed_in"), "nobody": (401, "not_signed_in"),
                       "other_sites_user": (403, "other_site_account")}),
    ("write_on_site", "site", {"author": OK, "guest": OK, "nobody": OK, "admin": OK,
                               "other_sites_user": (403, "other_site_account")}),
    ("write_on_site", "other_site", {"other_sites_user": OK, "author": OK}),
    ("report", "fresh", {"stranger": OK, "guest": OK, "author": (403, "own_comment"),
                         "nobody": (403, "unknown_reporter")}),
    ("report", "by_guest", {"guest": (403, "own_comment"), "stranger": OK}),
    ("moderate", "site", {"mod": OK, "admin": OK, "author": (403, "forbidden"),
                          "guest": (401, "not_signed_in")}),
    ("moderate", "other_site", {"mod": (403, "forbidden"), "admin": OK}),
    ("moderate", "every_site", {"mod": (403, "forbidden"), "admin": (403, "forbidden"),
                                "nobody": (401, "not_signed_in")}),
    ("ban", "site", {"mod": OK, "admin": OK, "stranger": (403, "forbidden"),
                     "guest": (401, "not_signed_in")}),
    ("ban", "every_site", {"admin": OK, "mod": (403, "forbidden"), "guest": (403, "forbidden")}),
    ("lift_ban", "site_ban", {"mod": OK, "admin": OK, "stranger": (403, "forbidden"),
                              "nobody": (401, "not_signed_in")}),
    ("lift_ban", "every_site_ban", {"admin": OK, "mod": (403, "forbidden")}),
    ("admin", "every_site", {"admin": OK, "mod": (403, "forbidden"),
                             "guest": (401, "not_signed_in")}),
]
def _answer(actor: Actor, action: str, thing: object, context: dict) -> object:
    """What the table says in practice: OK, or (status, code) of require's refusal; and can()
    must agree with require()."""
    try:
        require(actor, action, thing, **context)
    except DiscussError as refused:
        assert not can(actor, action, thing, **context)
        return refused.status, refused.code
    assert can(actor, action, thing, **context)
    return OK


def test_who_may_do_what(world):
    # One test over the whole table (the world is built once: its users' passwords are slow
    # to hash on purpose); a wrong cell is named in the failure.
    context = {"now": world["now"], "window": WINDOW}
    wrong = {}
    for action, target, answers in TABLE:
        for who, expected in answers.items():
            got = _answer(world["actors"][who], action, world["targets"][target], context)
            if got != expected:
                wrong[f"{action} {target} by {who}"] = (got, expected)
    assert wrong == {}


def test_every_action_of_the_table_is_tested():
    assert {action for action, _, _ in TABLE} == set(PERMISSIONS)

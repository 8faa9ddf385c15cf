"""A guest's name and email, remembered for their next comment in the (signed, HttpOnly,
partitioned where the browser allows) session cookie: the form shows them again even where
the iframe's own storage is refused. Both the plain form and the JSON API remember them."""

from __future__ import annotations

from flask import request, session

from discuss.comments import MAX_NAME_LENGTH

SESSION_NAME = "discuss_guest_name"
SESSION_EMAIL = "discuss_guest_email"


def remember(name: object, email: object) -> None:
    """Keep what the guest typed, for a browser (a request that came with cookies)."""
    if not request.cookies:
        return  # a script without cookies: nothing to keep it in
    session[SESSION_NAME] = name.strip()[:MAX_NAME_LENGTH] if isinstance(name, str) else ""
    session[SESSION_EMAIL] = email.strip()[:254] if isinstance(email, str) else ""


def recalled() -> tuple[str, str]:
    """The remembered name and email ("" when none)."""
    return session.get(SESSION_NAME, ""), session.get(SESSION_EMAIL, "")

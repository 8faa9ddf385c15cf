"""POST /api/v1/auth/sso: a reader signed in by the publisher's own site becomes signed in here.

Parse, call discuss.sso.sign_on, commit once, present as /auth/login does: the same session
token (for `Authorization: Bearer` in the iframe) and the session cookie. Any refusal is a 401.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from discuss import sso
from discuss.extensions import db
from discuss.threads import get_site
from discuss.web.api import json_body
from discuss.web.api_account import user_json
from discuss.web.sessions import sign_in, sign_out

bp = Blueprint("api_sso", __name__, url_prefix="/api/v1")


@bp.post("/auth/sso")
def sign_on() -> Response:
    """POST /api/v1/auth/sso: exchange the publisher's signed token for a session."""
    # Not under the sign-in rate limit: every page view of a signed-in reader exchanges a
    # fresh token, and a token cannot be guessed (it is signed with the site's secret).
    data = json_body()
    site = get_site(data.get("site"))
    user = sso.sign_on(site, data.get("token"))
    # The browser's previous session (another reader of this device, or an older sign-on)
    # ends: one sign-in per browser, and no pile of sessions from page views.
    sign_out()
    token = sign_in(user, remember=True, user_agent=request.user_agent.string or "")
    db.session.commit()
    return jsonify({"token": token, "user": user_json(user)})

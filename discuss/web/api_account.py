"""The JSON API of accounts under /api/v1: sign-in, sign-up, sign-out, me, votes, reports,
personal API tokens, and the reader's own data (export, delete).

Parse, call one domain function, commit once, present. The iframe's script signs in here and
keeps the returned token in the iframe's own storage (or memory) for `Authorization: Bearer`;
the session cookie (partitioned where the public URL is https or loopback) is set as well and
carries the sign-in across reloads where the iframe has no storage.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from discuss import account_data, accounts, comments, reports, votes
from discuss.errors import NotSignedIn
from discuss.extensions import db
from discuss.i18n import N_, _
from discuss.models import AuthToken, User
from discuss.web.api import json_body
from discuss.web.limits import limit_reporting, limit_voting
from discuss.web.mail_links import token_link
from discuss.web.present import avatar_url, iso, site_slug
from discuss.web.security import current_actor, refuse_ended_sign_in, request_auth_token
from discuss.web.sessions import limit_signin_attempts, sign_in, sign_out

bp = Blueprint("api_account", __name__, url_prefix="/api/v1")

CHECK_INBOX = N_("Check your inbox: we sent a link to confirm your email address. "
                 "Your account is ready to sign in once it is opened.")
RESET_SENT = N_("If an account has that username or address, we sent it a link to reset the "
                "password.")


def user_json(user: User, *, private: bool = True) -> dict:
    """A user as the account API shows them to themselves."""
    data = {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "display_name": user.display_name,
        "avatar_url": avatar_url(user=user),
        "is_admin": user.is_admin,
        "moderator_of": sorted(s.slug for s in user.moderated_sites),
        "created_at": iso(user.created_at),
        # The site whose own accounts signed this reader in (SSO), else None.
        "site": site_slug(user),
    }
    if private:
        data["email"] = user.email
        data["email_verified"] = user.email_verified_at is not None
    return data


def token_json(token: AuthToken) -> dict:
    """An API token's metadata (never its value after creation)."""
    return {"id": token.id, "name": token.name, "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at), "last_used_at": iso(token.last_used_at)}


def _signed_in_user() -> User:
    user = current_actor().user
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


@bp.post("/auth/login")
@limit_signin_attempts
def login() -> Response:
    """POST /auth/login: sign in; answers the user and a bearer token."""
    data = json_body()
    user = accounts.authenticate(data.get("login"), data.get("password"))
    remember = data.get("remember", True) is not False
    token = sign_in(user, remember=remember, user_agent=request.user_agent.string or "")
    db.session.commit()
    return jsonify({"token": token, "user": user_json(user)})


@bp.post("/auth/register")
@limit_signin_attempts
def register() -> tuple[Response, int]:
    """POST /auth/register: mail the link that makes the account (the same answer whether
    or not the address has one)."""
    data = json_body()
    accounts.register(data.get("username"), data.get("email"), data.get("password"),
                      secret=current_app.config["SECRET_KEY"], link=token_link)
    db.session.commit()
    return jsonify({"message": _(CHECK_INBOX)}), 202


@bp.post("/auth/reset")
@limit_signin_attempts
def request_reset() -> tuple[Response, int]:
    """POST /auth/reset: mail a password reset link (the same answer either way)."""
    data = json_body()
    accounts.request_password_reset(data.get("login"), secret=current_app.config["SECRET_KEY"],
                                    link=token_link)
    db.session.commit()
    return jsonify({"message": _(RESET_SENT)}), 202


@bp.post("/auth/logout")
def logout() -> tuple[str, int]:
    """POST /auth/logout: end this session or token."""
    sign_out()
    db.session.commit()
    return "", 204


@bp.get("/me")
def me() -> Response:
    """GET /me: the signed-in user."""
    user = current_actor().user
    return jsonify(user_json(user) if user is not None else None)


@bp.get("/me/export")
def export_me() -> Response:
    """GET /me/export: everything the service holds about the account, as JSON."""
    response = jsonify(account_data.export_user_data(_signed_in_user()))
    response.headers["Content-Disposition"] = 'attachment; filename="discuss-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/me")
def delete_me() -> tuple[str, int]:
    """DELETE /me: delete the account after checking its password."""
    data = json_body()
    account_data.delete_account(_signed_in_user(), data.get("password"))
    sign_out()
    db.session.commit()
    return "", 204


@bp.post("/comments/<int:comment_id>/vote")
@limit_voting
def vote(comment_id: int) -> Response:
    """POST /comments/<id>/vote: vote 1 or -1, or 0 to take the vote back."""
    data = json_body()
    comment = comments.get_comment(comment_id)
    refuse_ended_sign_in(posting=False)
    score, my_vote = votes.vote(comment, current_actor(), data.get("value"))
    db.session.commit()
    return jsonify({"score": score, "my_vote": my_vote})


@bp.post("/comments/<int:comment_id>/report")
@limit_reporting
def report(comment_id: int) -> tuple[Response, int]:
    """POST /comments/<id>/report: report a comment to the site's moderators (202)."""
    data = json_body()
    comment = comments.get_comment(comment_id)
    refuse_ended_sign_in(posting=False)
    reports.report_comment(comment, current_actor(), data.get("reason"), data.get("note"),
                           default_threshold=current_app.config["DISCUSS_REPORT_THRESHOLD"])
    db.session.commit()
    return jsonify({"reported": True}), 202


@bp.get("/tokens")
def list_tokens() -> Response:
    """GET /tokens: the caller's personal API tokens that still work."""
    tokens = accounts.list_api_tokens(_signed_in_user())
    return jsonify({"tokens": [token_json(t) for t in tokens]})


@bp.post("/tokens")
def create_token() -> tuple[Response, int]:
    """POST /tokens: a new personal API token (its value shown once)."""
    data = json_body()
    raw, token = accounts.mint_api_token(_signed_in_user(), data.get("name"),
                                         days=current_app.config["DISCUSS_TOKEN_DAYS"],
                                         session=request_auth_token(),
                                         password=data.get("password"))
    db.session.commit()
    return jsonify({**token_json(token), "token": raw}), 201


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> tuple[str, int]:
    """DELETE /tokens/<id>: revoke one of the caller's tokens (204)."""
    accounts.revoke_api_token(_signed_in_user(), token_id)
    db.session.commit()
    return "", 204

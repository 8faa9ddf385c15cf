"""The moderation API under /api/v1/moderation: queues, bulk actions, threads, bans, audit log.

Everything a moderator does in the /moderate pages, for bots and scripts (bearer token). Site
scoped: a moderator of one site gets 403 for another; admins moderate every site.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from discuss import audit, comments, moderation, queue_signals, queues
from discuss.errors import Forbidden, InvalidInput, NotSignedIn
from discuss.extensions import db
from discuss.models import Ban, Site, utcnow
from discuss.permissions import Actor, can
from discuss.web.api import json_body
from discuss.web.present import comment_json, iso
from discuss.web.security import current_actor

bp = Blueprint("api_moderation", __name__, url_prefix="/api/v1")

MAX_BAN_DAYS = 36500


def moderator() -> Actor:
    actor = current_actor()
    if actor.user is None:
        raise NotSignedIn("Sign in as a moderator.")
    return actor


def moderated_site(slug: object) -> tuple[Site, Actor]:
    """The site a request names, when the signed-in user moderates it (else 401/403/404)."""
    actor = moderator()
    site = comments.get_site(slug)
    if not can(actor, "moderate", site):
        raise Forbidden("You do not moderate this site.")
    return site, actor


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise InvalidInput(f"{name} must be a positive number.", {name: "invalid"})
    return int(raw)


def signals_json(signals: queue_signals.Signals | None) -> dict:
    """The author's trust, the learned filter's opinion and the latest edit of a queue entry."""
    if signals is None:
        return {}
    glance, score = signals.trust, signals.score
    return {
        "trust": {"trusted": glance.trusted, "known": glance.known, "approved": glance.approved,
                  "spam": glance.spam, "needed": glance.needed, "label": glance.label},
        "spam_score": ({"probability": round(score.probability, 4), "words": score.words}
                       if score is not None else None),
        "edits": max(0, len(signals.versions) - 1),
        "last_change": [{"kind": kind, "text": text} for kind, text in signals.diff],
    }


def item_json(item: queues.QueueItem, signals: queue_signals.Signals | None = None) -> dict:
    """A queue entry: the comment (with its source text and why it waits), thread, author,
    and the signals beside it (trust, the filter's score, the latest edit)."""
    c = item.comment
    data = comment_json(c)
    data.pop("replies", None)
    data.update({
        "body": c.body,
        "held_reasons": c.held_reasons or [],
        "report_count": c.report_count,
        "shadowed": c.shadowed,
        "url": f"{item.thread.url}#comment-{c.id}" if item.thread.url else None,
    })
    author = item.author
    return {
        "comment": data,
        "thread": {"id": item.thread.id, "key": item.thread.key, "url": item.thread.url,
                   "title": item.thread.title, "closed": item.thread.closed},
        "parent": ({"id": c.parent_id, "author": item.parent_author,
                    "excerpt": item.parent_excerpt} if c.parent_id else None),
        "author": {
            "key": author.key, "name": author.name, "username": author.username,
            "guest": author.is_guest, "email": author.email or None,
            "ip_hash": author.ip_hash or None, "joined_at": iso(author.joined_at),
            "history": {s: author.counts.get(s, 0)
                        for s in ("approved", "pending", "rejected", "spam", "deleted")},
            "earlier": [{**e, "created_at": iso(e["created_at"])} for e in author.earlier],
        },
        "reports": [{"reason": str(r.reason), "note": r.note, "created_at": iso(r.created_at)}
                    for r in item.reports],
        **signals_json(signals),
    }


@bp.get("/moderation/sites")
def sites() -> Response:
    """The dashboard: each site the caller moderates with its queue sizes and oldest items."""
    actor = moderator()
    return jsonify({"sites": [
        {"site": q.site.slug, "sizes": q.sizes,
         "oldest": {name: iso(value) for name, value in q.oldest.items()}}
        for q in queues.dashboard(actor)
    ]})


@bp.get("/moderation/queue")
def queue() -> Response:
    site, _ = moderated_site(request.args.get("site"))
    page = queues.list_queue(
        site, request.args.get("queue", "pending"), secret=current_app.config["SECRET_KEY"],
        order=request.args.get("order", "oldest"), cursor=request.args.get("cursor") or None,
        thread_key=request.args.get("thread") or None,
        author=request.args.get("author") or None, page_size=_int_arg("limit", 25),
    )
    signals = queue_signals.signals_for(site, page.items)
    return jsonify({"site": site.slug, "queue": page.queue, "order": page.order,
                    "items": [item_json(i, signals.get(i.comment.id)) for i in page.items],
                    "next_cursor": page.next_cursor})


def _expected(data: dict, ids: list[int]) -> dict[int, str]:
    raw = data.get("expected_status")
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict.fromkeys(ids, raw)
    if isinstance(raw, dict):
        expected = {}
        for key, value in raw.items():
            if not (isinstance(key, str) and key.isdigit() and isinstance(value, str)):
                raise InvalidInput("expected_status maps comment ids to statuses.",
                                   {"expected_status": "invalid"})
            expected[int(key)] = value
        return expected
    raise InvalidInput("expected_status must be a status or an object of them.",
                       {"expected_status": "invalid"})


@bp.post("/moderation/actions")
def actions() -> tuple[Response, int]:
    """Act on comments; every id gets its own result (ok, conflict, not_found, forbidden…)."""
    data = json_body()
    actor = moderator()
    ids = moderation.check_ids(data.get("ids"))
    results = moderation.act_on_comments(ids, data.get("action"), actor, note=data.get("note"),
                                         expected=_expected(data, ids))
    db.session.commit()
    body: dict = {"results": [r.to_dict() for r in results],
                  "ok": sum(r.result == "ok" for r in results)}
    if all(r.result == "forbidden" for r in results):
        body["error"] = {"code": "forbidden", "message": "You do not moderate these comments."}
        return jsonify(body), 403
    return jsonify(body), 200


def _thread_closed(closed: bool) -> Response:
    data = json_body()
    site, actor = moderated_site(data.get("site"))
    thread = comments.get_thread(site, data.get("key"))
    moderation.set_thread_closed(thread, actor, closed, note=data.get("note"))
    db.session.commit()
    return jsonify({"thread": {"key": thread.key, "url": thread.url, "title": thread.title,
                               "closed": thread.closed,
                               "comment_count": thread.comment_count}})


@bp.post("/moderation/threads/close")
def close_thread() -> Response:
    return _thread_closed(True)


@bp.post("/moderation/threads/reopen")
def reopen_thread() -> Response:
    return _thread_closed(False)


@bp.post("/moderation/comments/<int:comment_id>/edit")
def edit_comment(comment_id: int) -> Response:
    """A moderator's edit of a comment's text, with a note for the audit log."""
    data = json_body()
    actor = moderator()
    comment = comments.get_comment(comment_id)
    if not can(actor, "moderate", comment.site_id):
        raise Forbidden("You do not moderate this comment's site.")
    moderation.edit_as_moderator(comment, actor, data.get("body"), note=data.get("note"),
                                 default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return jsonify(comment_json(comment))


def ban_json(ban: Ban, now: datetime) -> dict:
    return {"id": ban.id, "kind": str(ban.kind), "value": ban.value, "shadow": ban.shadow,
            "reason": ban.reason, "site": ban.site_id is not None,
            "created_at": iso(ban.created_at), "expires_at": iso(ban.expires_at),
            "lifted_at": iso(ban.lifted_at), "active": moderation.is_active(ban, now)}


def expiry(data: dict, now: datetime) -> datetime | None:
    """A ban's end from ``days`` (a number) or ``expires_at`` (ISO 8601); None: no end."""
    days = data.get("days")
    if days is not None and days != "":
        if isinstance(days, str) and days.strip().isdigit():
            days = int(days)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_BAN_DAYS:
            raise InvalidInput("days must be a whole number of days.", {"days": "invalid"})
        return now + timedelta(days=days)
    raw = data.get("expires_at")
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("expires_at must be an ISO 8601 time.", {"expires_at": "invalid"}) \
            from exc
    if value.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone (e.g. Z).", {"expires_at": "invalid"})
    return value


@bp.get("/moderation/bans")
def list_bans() -> Response:
    site, _ = moderated_site(request.args.get("site"))
    now = utcnow()
    return jsonify({"bans": [ban_json(b, now) for b in moderation.list_bans(site, now=now)]})


@bp.post("/moderation/bans")
def create_ban() -> tuple[Response, int]:
    data = json_body()
    site, actor = moderated_site(data.get("site"))
    now = utcnow()
    ban = moderation.ban(site, actor, data.get("kind"), data.get("value"),
                         shadow=data.get("shadow", False), reason=data.get("reason"),
                         expires_at=expiry(data, now), now=now)
    db.session.commit()
    return jsonify(ban_json(ban, now)), 201


@bp.post("/moderation/bans/<int:ban_id>/lift")
def lift_ban(ban_id: int) -> Response:
    data = request.get_json(silent=True) if request.is_json else None
    actor = moderator()
    ban = moderation.get_ban(ban_id)
    if ban.site_id is not None and not can(actor, "moderate", ban.site_id):
        raise Forbidden("You do not moderate this ban's site.")
    now = utcnow()
    moderation.lift_ban(ban, actor, note=(data or {}).get("note"), now=now)
    db.session.commit()
    return jsonify(ban_json(ban, now))


@bp.post("/moderation/ban-author")
def ban_author() -> tuple[Response, int]:
    """Ban a comment's author and, in one step, remove all their comments on the site."""
    data = json_body()
    actor = moderator()
    comment_id = data.get("comment_id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int):
        raise InvalidInput("comment_id must be a comment id.", {"comment_id": "invalid"})
    comment = comments.get_comment(comment_id)
    if not can(actor, "moderate", comment.site_id):
        raise Forbidden("You do not moderate this comment's site.")
    now = utcnow()
    bans, removed = moderation.ban_author(
        comment, actor, remove=data.get("remove"), shadow=data.get("shadow", False),
        reason=data.get("reason"), expires_at=expiry(data, now), now=now)
    db.session.commit()
    return jsonify({"bans": [ban_json(b, now) for b in bans], "removed": removed}), 201


@bp.get("/moderation/audit")
def audit_log() -> Response:
    site, _ = moderated_site(request.args.get("site"))
    page = audit.list_entries(site, secret=current_app.config["SECRET_KEY"],
                              action=request.args.get("action") or None,
                              moderator=request.args.get("moderator") or None,
                              cursor=request.args.get("cursor") or None)
    return jsonify({"entries": [
        {"id": e.id, "created_at": iso(e.created_at), "moderator": e.actor_name,
         "action": e.action, "comment_id": e.comment_id, "thread_id": e.thread_id,
         "target": e.target, "status_before": e.status_before or None,
         "status_after": e.status_after or None, "note": e.note}
        for e in page.entries], "next_cursor": page.next_cursor})


def _describe() -> None:
    """Add the moderation endpoints to the OpenAPI document."""
    from discuss.openapi import PATHS, _errors, _json, _param

    site = _param("site", "Site slug", required=True)
    obj = {"type": "object"}
    body = {"required": True, "content": {"application/json": {"schema": obj}}}
    PATHS.update({
        "/moderation/sites": {"get": {
            "summary": "Sites the caller moderates with queue sizes and oldest items",
            "responses": {"200": _json(obj), **_errors(401)}}},
        "/moderation/queue": {"get": {
            "summary": "A page of a moderation queue (comment, thread, parent, author, reports)",
            "parameters": [site,
                           _param("queue", "pending | reported | spam (default pending)"),
                           _param("order", "oldest (default) | newest"),
                           _param("thread", "Only this thread key"),
                           _param("author", "Username, email, or author key (u:/e:/i:)"),
                           _param("limit", "Items per page (1–100, default 25)"),
                           _param("cursor", "next_cursor of the previous page")],
            "responses": {"200": _json(obj), **_errors(400, 401, 403, 404)}}},
        "/moderation/actions": {"post": {
            "summary": "Approve, reject, spam, delete, pin or unpin comments; one result per id "
                       "(ok | conflict | not_found | forbidden | invalid). Body: ids, action, "
                       "note?, expected_status? (a status, or {id: status})",
            "requestBody": body,
            "responses": {"200": _json(obj), **_errors(400, 401, 403)}}},
        "/moderation/threads/close": {"post": {
            "summary": "Close a thread (body: site, key, note?)", "requestBody": body,
            "responses": {"200": _json(obj), **_errors(400, 401, 403, 404, 409)}}},
        "/moderation/threads/reopen": {"post": {
            "summary": "Reopen a closed thread (body: site, key, note?)", "requestBody": body,
            "responses": {"200": _json(obj), **_errors(400, 401, 403, 404, 409)}}},
        "/moderation/comments/{comment_id}/edit": {"post": {
            "summary": "Edit a comment's text as moderator (body: body, note?)",
            "parameters": [_param("comment_id", "Comment id", required=True,
                                  schema={"type": "integer"}, where="path")],
            "requestBody": body,
            "responses": {"200": _json(obj), **_errors(400, 401, 403, 404)}}},
        "/moderation/bans": {
            "get": {"summary": "A site's bans", "parameters": [site],
                    "responses": {"200": _json(obj), **_errors(401, 403, 404)}},
            "post": {"summary": "Ban (body: site, kind user|email|ip, value, shadow?, reason?, "
                                "days? | expires_at?)", "requestBody": body,
                     "responses": {"201": _json(obj), **_errors(400, 401, 403, 404)}}},
        "/moderation/bans/{ban_id}/lift": {"post": {
            "summary": "Lift a ban early (body: note?)",
            "parameters": [_param("ban_id", "Ban id", required=True,
                                  schema={"type": "integer"}, where="path")],
            "responses": {"200": _json(obj), **_errors(401, 403, 404, 409)}}},
        "/moderation/ban-author": {"post": {
            "summary": "Ban a comment's author and remove all their comments (body: "
                       "comment_id, remove? deleted|spam, shadow?, reason?, days?)",
            "requestBody": body,
            "responses": {"201": _json(obj), **_errors(400, 401, 403, 404)}}},
        "/moderation/audit": {"get": {
            "summary": "A site's audit log, newest first",
            "parameters": [site, _param("action", "Only this action"),
                           _param("moderator", "Only this moderator's username"),
                           _param("cursor", "next_cursor of the previous page")],
            "responses": {"200": _json(obj), **_errors(400, 401, 403, 404)}}},
    })


_describe()

"""The moderation API under /api/v1/moderation: queues, bulk actions, threads, bans, audit log.

Everything a moderator does in the /moderate pages, for bots and scripts (bearer token). Site
scoped: a moderator of one site gets 403 for another; admins moderate every site.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from discuss import audit, bans, comments, moderation, queue_signals, queues, threads
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.models import Ban, utcnow
from discuss.web.api import json_body
from discuss.web.present import comment_json, iso
from discuss.web.security import moderated_site, moderator

bp = Blueprint("api_moderation", __name__, url_prefix="/api/v1")

MAX_BAN_DAYS = 36500


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
    """GET /moderation/queue: a page of a site's pending, reported or spam queue."""
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


@bp.post("/moderation/actions")
def actions() -> tuple[Response, int]:
    """Act on comments; every id gets its own result (ok, conflict, not_found, forbidden…)."""
    data = json_body()
    actor = moderator()
    results = moderation.act_on_comments(data.get("ids"), data.get("action"), actor,
                                         note=data.get("note"),
                                         expected=data.get("expected_status"))
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
    thread = threads.get_thread(site, data.get("key"))
    moderation.set_thread_closed(thread, actor, closed, note=data.get("note"))
    db.session.commit()
    return jsonify({"thread": {"key": thread.key, "url": thread.url, "title": thread.title,
                               "closed": thread.closed,
                               "comment_count": thread.comment_count}})


@bp.post("/moderation/threads/close")
def close_thread() -> Response:
    """POST /moderation/threads/close: make a thread read-only."""
    return _thread_closed(True)


@bp.post("/moderation/threads/reopen")
def reopen_thread() -> Response:
    """POST /moderation/threads/reopen: let a closed thread take comments again."""
    return _thread_closed(False)


@bp.post("/moderation/comments/<int:comment_id>/edit")
def edit_comment(comment_id: int) -> Response:
    """A moderator's edit of a comment's text, with a note for the audit log."""
    data = json_body()
    actor = moderator()
    comment = comments.get_comment(comment_id)
    moderation.edit_as_moderator(comment, actor, data.get("body"), note=data.get("note"),
                                 default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return jsonify(comment_json(comment))


def ban_json(ban: Ban, now: datetime) -> dict:
    """A ban as the moderation API shows it."""
    return {"id": ban.id, "kind": str(ban.kind), "value": ban.value, "shadow": ban.shadow,
            "reason": ban.reason, "site": ban.site_id is not None,
            "created_at": iso(ban.created_at), "expires_at": iso(ban.expires_at),
            "lifted_at": iso(ban.lifted_at), "active": bans.is_active(ban, now)}


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
    """GET /moderation/bans: a site's bans, those in force first."""
    site, _ = moderated_site(request.args.get("site"))
    now = utcnow()
    return jsonify({"bans": [ban_json(b, now) for b in bans.list_bans(site, now=now)]})


@bp.post("/moderation/bans")
def create_ban() -> tuple[Response, int]:
    """POST /moderation/bans: ban a user, an email address or an IP hash (201)."""
    data = json_body()
    site, actor = moderated_site(data.get("site"))
    now = utcnow()
    ban = bans.ban(site, actor, data.get("kind"), data.get("value"),
                   shadow=data.get("shadow", False), reason=data.get("reason"),
                   expires_at=expiry(data, now), now=now)
    db.session.commit()
    return jsonify(ban_json(ban, now)), 201


@bp.post("/moderation/bans/<int:ban_id>/lift")
def lift_ban(ban_id: int) -> Response:
    """POST /moderation/bans/<id>/lift: end a ban early."""
    data = request.get_json(silent=True) if request.is_json else None
    actor = moderator()
    ban = bans.get_ban(ban_id)
    now = utcnow()
    bans.lift_ban(ban, actor, note=(data or {}).get("note"), now=now)
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
    now = utcnow()
    made, removed = moderation.ban_author(
        comment, actor, remove=data.get("remove"), shadow=data.get("shadow", False),
        reason=data.get("reason"), expires_at=expiry(data, now), now=now)
    db.session.commit()
    return jsonify({"bans": [ban_json(b, now) for b in made], "removed": removed}), 201


@bp.get("/moderation/audit")
def audit_log() -> Response:
    """GET /moderation/audit: a site's audit log, newest first."""
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

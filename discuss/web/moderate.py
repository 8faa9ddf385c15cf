"""The moderators' pages under /moderate: dashboard, queues, audit log, bans, thread controls.

Pages answer 404 for a site the user does not moderate (they do not reveal what is there) and
send someone not signed in to the sign-in page. The forms work without JavaScript; moderate.js
adds keyboard shortcuts and acts through the JSON API without reloading.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import NotFound as HTTPNotFound

from discuss import audit, bans, moderation, queue_signals, queues, reading, undo
from discuss.errors import DiscussError, NotSignedIn
from discuss.extensions import db
from discuss.ids import parse_id
from discuss.models import BanKind, Comment, Site, Thread, utcnow
from discuss.permissions import Actor
from discuss.reading import Node
from discuss.web.antispam import rendered_at_token
from discuss.web.api_moderation import expiry
from discuss.web.security import moderated_site, moderator

bp = Blueprint("moderate", __name__, url_prefix="/moderate")

RESULT_WORDS = {"ok": "done", "conflict": "already handled by someone else",
                "not_found": "not found", "forbidden": "not yours to moderate",
                "invalid": "not possible"}


class _SignIn(Exception):
    """Raised to send someone who is not signed in to the sign-in page."""


def _moderator() -> Actor:
    try:
        return moderator()
    except NotSignedIn:
        raise _SignIn from None


def _site(slug: str) -> tuple[Site, Actor]:
    _moderator()
    try:
        return moderated_site(slug)
    except DiscussError:
        abort(404)  # another site's queue does not exist as far as this user can tell


def _comment(site: Site, comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.site_id != site.id:
        abort(404)
    return comment


def _thread(site: Site, thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.site_id != site.id:
        abort(404)
    return thread


@bp.errorhandler(_SignIn)
def _to_sign_in(exc: _SignIn) -> Response:
    if "auth.login" in current_app.view_functions:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    raise HTTPNotFound()


def _back_url(site: Site, default_queue: str = "pending") -> str:
    """Where a form goes back to: its ``next`` when that is one of our own queue pages (never
    an open redirect), else the site's queue."""
    target = request.values.get("next", "")
    if not target.startswith(f"/moderate/{site.slug}/") or "//" in target or "\\" in target:
        target = url_for("moderate.queue", slug=site.slug, queue=default_queue)
    return target


def _back(site: Site, default_queue: str = "pending") -> Response:
    return redirect(_back_url(site, default_queue), 303)


def _flash_error(exc: DiscussError) -> None:
    db.session.rollback()
    flash(exc.message, "error")


@bp.get("")
def dashboard() -> str:
    """GET /moderate: the sites the caller moderates with their queue sizes."""
    actor = _moderator()
    sites = queues.dashboard(actor)
    if not sites:
        abort(404)
    return render_template("moderate/dashboard.html", sites=sites, now=utcnow())


@bp.get("/<slug>")
def site_home(slug: str) -> Response:
    """GET /moderate/<slug>: a redirect to the site's pending queue."""
    _site(slug)
    return redirect(url_for("moderate.queue", slug=slug, queue="pending"))


@bp.get("/<slug>/<any(pending, reported, spam, deleted):queue>")
def queue(slug: str, queue: str) -> str | tuple[str, int]:
    """GET /moderate/<slug>/<queue>: a page of the pending, reported or spam queue."""
    site, actor = _site(slug)
    args = request.args
    try:
        page = queues.list_queue(
            site, queue, secret=current_app.config["SECRET_KEY"],
            order=args.get("order", "oldest"), cursor=args.get("cursor") or None,
            thread_key=args.get("thread") or None, author=args.get("author") or None)
    except DiscussError as exc:
        return render_template("error.html", status=exc.status, message=exc.message), 400
    sizes = next((q for q in queues.dashboard(actor) if q.site.id == site.id), None)
    return render_template(
        "moderate/queue.html", site=site, page=page, sizes=sizes, now=utcnow(),
        nodes={item.comment.id: Node(item.comment) for item in page.items},
        signals=queue_signals.signals_for(site, page.items),
        filters={k: args.get(k, "") for k in ("thread", "author")},
        order=page.order, all_sites=queues.moderated_sites(actor),
    )


@bp.post("/<slug>/actions")
def act(slug: str) -> Response:
    """POST /moderate/<slug>/actions: approve, reject, spam, delete, pin or unpin comments."""
    site, actor = _site(slug)
    form = request.form
    raw_ids = form.getlist("ids")
    action = form.get("action")
    one = form.get("one", "")
    if one:  # a single comment's own button (no JavaScript): "<id>:<action>"
        one_id, _, action = one.partition(":")
        raw_ids = [one_id]
    if not raw_ids:
        flash("Select at least one comment.", "error")
        return _back(site)
    try:
        ids = [i for i in map(parse_id, raw_ids) if i is not None]
        if len(ids) != len(raw_ids):
            raise ValueError("not an id")
    except ValueError:
        flash("The selection is not valid.", "error")
        return _back(site)
    expected = {i: form[f"expected_{i}"] for i in ids if form.get(f"expected_{i}")}
    try:
        results = moderation.act_on_comments(ids, action, actor,
                                             note=form.get("note"), expected=expected)
        db.session.commit()
    except DiscussError as exc:
        _flash_error(exc)
        return _back(site)
    done = [r.id for r in results if r.result == "ok"]
    if done:
        flash(done_message(action, done), "ok")
        if action in moderation.TARGET_STATUS or action == "restore":
            flash(",".join(map(str, done)), "undo")
    for r in results:
        if r.result != "ok":
            flash(f"Comment {r.id}: {RESULT_WORDS.get(r.result, r.result)}. {r.message}",
                  "error")
    return _back(site)


DONE_WORDS = {"approve": "Approved", "reject": "Rejected", "spam": "Marked as spam",
              "delete": "Deleted", "pin": "Pinned", "unpin": "Unpinned", "restore": "Restored"}


def done_message(action: str, ids: list[int]) -> str:
    """Which comments an action changed, by author and first words (the first three)."""
    named = []
    for comment_id in ids[:3]:
        comment = db.session.get(Comment, comment_id)
        if comment is not None:
            named.append(f"{reading.author_name(comment)}’s “{undo.excerpt(comment.body, 40)}”")
    more = f" and {len(ids) - len(named)} more" if len(ids) > len(named) else ""
    return f"{DONE_WORDS.get(action, action)}: {', '.join(named)}{more}."


@bp.post("/<slug>/threads/<int:thread_id>/<any(close, reopen):what>")
def thread_control(slug: str, thread_id: int, what: str) -> Response:
    """POST: close or reopen a thread."""
    site, actor = _site(slug)
    thread = _thread(site, thread_id)
    try:
        moderation.set_thread_closed(thread, actor, what == "close", note=request.form.get("note"))
        db.session.commit()
        flash(f"The discussion “{thread.title or thread.key}” is now "
              f"{'closed' if thread.closed else 'open'}.", "ok")
    except DiscussError as exc:
        _flash_error(exc)
    return _back(site)


@bp.route("/<slug>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(slug: str, comment_id: int) -> Response | str | tuple[str, int]:
    """GET/POST: a moderator's edit of a comment's text, with a note for the audit log."""
    site, actor = _site(slug)
    comment = _comment(site, comment_id)
    error = None
    if request.method == "POST":
        try:
            moderation.edit_as_moderator(comment, actor, request.form.get("body"),
                                         note=request.form.get("note"),
                                         default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
            db.session.commit()
            flash(f"Comment {comment.id} was edited.", "ok")
            return _back(site)
        except DiscussError as exc:
            db.session.rollback()
            error = exc.message
    body = request.form.get("body", comment.body) if request.method == "POST" else comment.body
    return render_template("moderate/edit.html", site=site, comment=comment, body=body,
                           error=error, back=_back_url(site)), \
        (400 if error else 200)


@bp.get("/<slug>/comments/<int:comment_id>/ban-author")
def ban_author_preview(slug: str, comment_id: int) -> str:
    """What "Ban author" would remove, with the form that does it (and a way back)."""
    site, _actor = _site(slug)
    comment = _comment(site, comment_id)
    total, shown = undo.ban_preview(comment)
    return render_template("moderate/ban_author.html", site=site, comment=comment,
                           author=reading.author_name(comment), total=total, shown=shown,
                           excerpt=undo.excerpt, back=_back_url(site), now=utcnow())


@bp.post("/<slug>/comments/<int:comment_id>/ban-author")
def ban_author(slug: str, comment_id: int) -> Response:
    """POST: ban a comment's author and remove their comments on the site."""
    site, actor = _site(slug)
    comment = _comment(site, comment_id)
    form = request.form
    try:
        now = utcnow()
        changing = undo.removable_ids(comment, form.get("remove"))
        made, removed = moderation.ban_author(
            comment, actor, remove=form.get("remove") or None, shadow=form.get("shadow") == "1",
            reason=form.get("reason"), expires_at=expiry(form, now), now=now)
        db.session.commit()
        flash(f"Banned {reading.author_name(comment)} ({len(made)} ban(s)); {removed} "
              f"comment(s) removed" + (": the Deleted list keeps them." if removed else "."),
              "ok")
        if removed:
            flash(",".join(map(str, changing)), "undo")
    except DiscussError as exc:
        _flash_error(exc)
    return _back(site)


@bp.route("/<slug>/bans", methods=["GET", "POST"], endpoint="bans")
def bans_page(slug: str) -> Response | str:
    """GET/POST /moderate/<slug>/bans: the site's bans, and a new ban."""
    site, actor = _site(slug)
    if request.method == "POST":
        form = request.form
        try:
            now = utcnow()
            bans.ban(site, actor, form.get("kind"), form.get("value"),
                     shadow=form.get("shadow") == "1", reason=form.get("reason"),
                     expires_at=expiry(form, now), now=now)
            db.session.commit()
            flash("The ban is in force.", "ok")
        except DiscussError as exc:
            _flash_error(exc)
        return redirect(url_for("moderate.bans", slug=site.slug), 303)
    now = utcnow()
    listed = bans.list_bans(site, now=now)
    return render_template("moderate/bans.html", site=site, now=now, kinds=list(BanKind),
                           bans=listed, labels=undo.ban_labels(listed),
                           is_active=bans.is_active)


@bp.post("/<slug>/bans/<int:ban_id>/lift")
def lift_ban(slug: str, ban_id: int) -> Response:
    """POST: end a ban early."""
    site, actor = _site(slug)
    try:
        ban = bans.get_ban(ban_id)
        if ban.site_id not in (None, site.id):
            abort(404)
        bans.lift_ban(ban, actor, note=request.form.get("note"))
        db.session.commit()
        flash("The ban was lifted.", "ok")
    except DiscussError as exc:
        _flash_error(exc)
    return redirect(url_for("moderate.bans", slug=site.slug), 303)


@bp.get("/<slug>/audit")
def audit_log(slug: str) -> str | tuple[str, int]:
    """GET /moderate/<slug>/audit: the site's audit log."""
    site, _ = _site(slug)
    args = request.args
    try:
        page = audit.list_entries(site, secret=current_app.config["SECRET_KEY"],
                                  action=args.get("action") or None,
                                  moderator=args.get("moderator") or None,
                                  cursor=args.get("cursor") or None)
    except DiscussError as exc:
        return render_template("error.html", status=exc.status, message=exc.message), 400
    return render_template("moderate/audit.html", site=site, page=page, actions=audit.ACTIONS,
                           filters={k: args.get(k, "") for k in ("action", "moderator")},
                           named=undo.audit_comments(page.entries), excerpt=undo.excerpt)


def age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, shortly: '5 min', '3 h', '2 d'."""
    if value is None:
        return "—"
    seconds = max(0, int(((now or utcnow()) - value).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def init_app(app: Flask) -> None:
    """Template helpers of the moderators' pages."""
    app.jinja_env.globals["rendered_at_token"] = rendered_at_token
    app.jinja_env.filters["age"] = age

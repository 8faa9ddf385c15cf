"""The JSON API under /api/v1: parse, call one domain function, commit once, present."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import get_locale
from werkzeug.http import generate_etag

from discuss import comments, reading, threads, votes
from discuss.errors import InvalidInput
from discuss.extensions import db, reads_first
from discuss.openapi import openapi_document
from discuss.permissions import ANONYMOUS, Actor
from discuss.web import guest_fields
from discuss.web.antispam import FORM_TOKEN_HEADER, checked_form, rendered_at_token
from discuss.web.infra.assets import conditional
from discuss.web.infra.caching import (
    bodies,
    json_for_viewer,
    not_modified,
    shared_json,
    thread_etag,
    viewer_key,
)
from discuss.web.language import count_labels, use_site_language
from discuss.web.limits import limit_posting
from discuss.web.present import comment_json, iter_nodes, page_json, personal_json
from discuss.web.security import current_actor, refuse_ended_sign_in

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_COUNT_KEYS = 100


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.is_json:
        raise InvalidInput("Send a JSON object with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("The request body is not a JSON object.")
    return data


def _query_arg(name: str) -> str:
    values = request.args.getlist(name)
    if len(values) != 1 or not values[0]:
        raise InvalidInput(f"Give exactly one '{name}' parameter.", {name: "required"})
    return values[0]


@bp.get("/threads")
def get_thread() -> Response:
    # The ETag comes from one light query; most readers then get a 304 or a cached body, and
    # only a change to the thread (or a viewer of their own) builds the tree again.
    """GET /threads: a page of the thread's visible comments as a tree (ETag, 304)."""
    site, key = _query_arg("site"), _query_arg("key")
    actor = current_actor()
    # A reader of their own: the thread's state and what is theirs in it, in one read.
    state, sliver = reading.thread_state_and_sliver(site, key, actor)
    sort = request.args.get("sort", "oldest")
    cursor = request.args.get("cursor") or None
    page_size = current_app.config["DISCUSS_PAGE_SIZE"]
    etag = thread_etag(state, actor, "json", sort, cursor, page_size)
    unchanged = not_modified(etag, actor)
    if unchanged is not None:
        return unchanged

    def build(viewer: Actor) -> dict:
        thread = threads.get_thread_by_id(state.id)
        page = reading.load_thread_page(
            thread, viewer, sort=sort, cursor=cursor, page_size=page_size,
            secret=current_app.config["SECRET_KEY"],
        )
        my_votes = None
        if viewer.user is not None:
            my_votes = votes.my_votes(viewer.user,
                                      [n.comment.id for n in iter_nodes(page.nodes)])
        return page_json(page, my_votes=my_votes)

    if viewer_key(actor) == "anyone":
        return json_for_viewer(etag, actor, lambda: build(actor))
    # A reader of their own: the page as everyone sees it (built once per thread state), made
    # theirs from one small query. Only one with a comment that only they see (held, or
    # shadow-banned) gets the page built for them: everyone's page lacks it.
    if sliver.held:
        return json_for_viewer(etag, actor, lambda: build(actor))
    everyones = thread_etag(state, ANONYMOUS, "json", sort, cursor, page_size)
    if not sliver.own and sliver.votes is None:  # a guest who wrote nothing here: as anyone
        return json_for_viewer(etag, actor, lambda: build(ANONYMOUS), everyones=everyones)
    shared = shared_json(everyones, lambda: build(ANONYMOUS))
    return json_for_viewer(etag, actor, lambda: personal_json(shared, sliver))


@bp.post("/comments")
@limit_posting
def post_comment() -> tuple[Response, int]:
    """POST /comments: a comment or reply (201 with it); the thread is made on first use."""
    data = json_body()
    # The first transaction only reads: on SQLite the write lock waits for the checks' end.
    reads_first()
    actor = current_actor()
    if actor.user is None:
        refuse_ended_sign_in()
    comment = comments.post_comment(
        data.get("site"), data.get("key"), actor, data.get("body"),
        data.get("parent_id"), url=data.get("url"), title=data.get("title"),
        name=data.get("name"), email=data.get("email"), notify=data.get("notify", False),
        form=checked_form(data.get("form"), site_slug=data.get("site"), key=data.get("key")),
    )
    answer = comment_json(comment, mine=True)  # from what was written: no reload after commit
    # The page's form token is spent with the comment: the page gets a fresh one for its next.
    next_form_token = rendered_at_token(data["site"], data["key"])
    db.session.commit()
    if actor.user is None:
        guest_fields.remember(data.get("name"), data.get("email"))
    response = jsonify(answer)
    response.headers[FORM_TOKEN_HEADER] = next_form_token
    return response, 201


@bp.patch("/comments/<int:comment_id>")
@limit_posting
def edit_comment(comment_id: int) -> Response:
    """PATCH /comments/<id>: change a comment's text (author in the window, or moderator)."""
    data = json_body()
    comment = comments.get_comment(comment_id)
    refuse_ended_sign_in(posting=False)
    comments.edit_comment(comment, current_actor(), data.get("body"),
                          default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return jsonify(comment_json(comment, mine=True))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> tuple[str, int]:
    """DELETE /comments/<id>: delete a comment (204); replies keep their place."""
    comment = comments.get_comment(comment_id)
    refuse_ended_sign_in(posting=False)
    comments.delete_comment(comment, current_actor(),
                            default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return "", 204


@bp.get("/counts")
def counts() -> Response:
    """GET /counts: approved comments per thread key, for article lists on any origin."""
    slug = _query_arg("site")
    keys = request.args.getlist("key")
    if not keys:
        raise InvalidInput("Give at least one 'key' parameter.", {"key": "required"})
    if len(keys) > MAX_COUNT_KEYS:
        raise InvalidInput(f"At most {MAX_COUNT_KEYS} keys per request.", {"key": "too_many"})
    for key in keys:
        threads.check_key(key)
    # Article lists on any origin read counts (no cookies); the same answer for everyone, so
    # shared caches may keep it briefly and browsers revalidate with the ETag.
    counted, site_language = reading.count_comments_and_language(slug, keys)
    use_site_language(site_language)
    body, etag = _counts_answer(counted)
    response = Response(body, mimetype="application/json")
    response.headers.add("Access-Control-Allow-Origin", "*")
    response.headers.add("Cache-Control", "public, max-age=30")
    response.set_etag(etag, weak=True)
    return conditional(response)


def _counts_answer(counted: dict[str, int]) -> tuple[bytes, str]:
    """The counts answer's body and tag, with the words for each count in the page's language
    (lang=, else Accept-Language, else the site's) and CLDR's plural category so a page's own
    wording can follow it too. Article lists ask for the same few counts again and again:
    each answer is built once per process and kept while the counts stay the same."""
    key = "counts:" + str(get_locale()) + ":" + "\x1f".join(
        f"{name}\x1e{n}" for name, n in counted.items())
    cache = bodies()
    answer = cache.get(key)
    if answer is None:
        body = jsonify({"counts": counted, **count_labels(counted)}).get_data()
        answer = (body, generate_etag(body))
        cache.put(key, answer, size=len(body) + len(key))
    return answer


@bp.get("/openapi.json")
def openapi() -> Response:
    """GET /openapi.json: the API's OpenAPI document."""
    return jsonify(openapi_document())

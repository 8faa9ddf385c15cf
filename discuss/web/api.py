"""The JSON API under /api/v1: parse, call one domain function, commit once, present."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.http import generate_etag

from discuss import comments, votes
from discuss.errors import InvalidInput, NotFound
from discuss.extensions import begin_writes, db, reads_first
from discuss.openapi import openapi_document
from discuss.web import guest_fields
from discuss.web.antispam import checked_form
from discuss.web.assets import conditional
from discuss.web.caching import json_for_viewer, not_modified, thread_etag
from discuss.web.limits import limit_posting
from discuss.web.present import comment_json, iter_nodes, page_json
from discuss.web.security import current_actor, ensure_guest_key, refuse_ended_sign_in

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
    state = comments.thread_state(_query_arg("site"), _query_arg("key"))
    actor = current_actor()
    sort = request.args.get("sort", "oldest")
    cursor = request.args.get("cursor") or None
    page_size = current_app.config["DISCUSS_PAGE_SIZE"]
    etag = thread_etag(state, actor, "json", sort, cursor, page_size)
    unchanged = not_modified(etag, actor)
    if unchanged is not None:
        return unchanged

    def build() -> dict:
        thread = comments.get_thread_by_id(state.id)
        page = comments.load_thread_page(
            thread, actor, sort=sort, cursor=cursor, page_size=page_size,
            secret=current_app.config["SECRET_KEY"],
        )
        my_votes = None
        if actor.user is not None:
            my_votes = votes.my_votes(actor.user,
                                      [n.comment.id for n in iter_nodes(page.nodes)])
        return page_json(page, my_votes=my_votes)

    return json_for_viewer(etag, actor, build)


@bp.post("/comments")
@limit_posting
def post_comment() -> tuple[Response, int]:
    data = json_body()
    actor = current_actor()
    # Rendered and sanitised first, then the checks read, then a short write transaction: on
    # SQLite, where writers take turns, each holds the lock only for its own INSERT/UPDATEs.
    body = comments.Body.of(data.get("body"))
    reads_first()
    thread = comments.thread_to_post_in(data.get("site"), data.get("key"), data.get("url"),
                                        data.get("title"))
    if actor.user is None:
        refuse_ended_sign_in()
        ensure_guest_key(actor)
    new = comments.check_new_comment(
        thread, actor, body, data.get("parent_id"),
        name=data.get("name"), email=data.get("email"), notify=data.get("notify", False),
        form=checked_form(data.get("form")),
    )
    begin_writes()
    comment = comments.add_comment(new)
    answer = comment_json(comment, mine=True)  # from what was written: no reload after commit
    db.session.commit()
    if actor.user is None:
        guest_fields.remember(data.get("name"), data.get("email"))
    return jsonify(answer), 201


@bp.patch("/comments/<int:comment_id>")
@limit_posting
def edit_comment(comment_id: int) -> Response:
    data = json_body()
    comment = comments.get_comment(comment_id)
    comments.edit_comment(comment, current_actor(), data.get("body"),
                          default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return jsonify(comment_json(comment, mine=True))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> tuple[str, int]:
    comment = comments.get_comment(comment_id)
    comments.delete_comment(comment, current_actor(),
                            default_window=current_app.config["DISCUSS_EDIT_WINDOW"])
    db.session.commit()
    return "", 204


@bp.get("/counts")
def counts() -> Response:
    slug = _query_arg("site")
    keys = request.args.getlist("key")
    if not keys:
        raise InvalidInput("Give at least one 'key' parameter.", {"key": "required"})
    if len(keys) > MAX_COUNT_KEYS:
        raise InvalidInput(f"At most {MAX_COUNT_KEYS} keys per request.", {"key": "too_many"})
    for key in keys:
        comments.check_key(key)
    # Article lists on any origin read counts (no cookies); the same answer for everyone, so
    # shared caches may keep it briefly and browsers revalidate with the ETag.
    response = jsonify({"counts": comments.count_comments(slug, keys)})
    response.headers.add("Access-Control-Allow-Origin", "*")
    response.headers.add("Cache-Control", "public, max-age=30")
    response.set_etag(generate_etag(response.get_data()), weak=True)
    return conditional(response)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(anything: str) -> Response:
    raise NotFound("No such API endpoint.", code="unknown_endpoint")

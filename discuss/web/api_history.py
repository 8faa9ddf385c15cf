"""A comment's edit history in the JSON API: ``GET /api/v1/comments/<id>/history``.

The site's moderators see any comment's history, its author their own (discuss.history
decides); the versions are the Markdown source as typed, oldest first, the current last.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from discuss import comments, history
from discuss.web.present import iso
from discuss.web.security import current_actor

bp = Blueprint("api_history", __name__, url_prefix="/api/v1")


def version_json(version: history.Version) -> dict:
    """One version of a comment's text as the history endpoint shows it."""
    return {"body": version.body, "written_at": iso(version.written_at),
            "by_moderator": version.by_moderator, "replaced_at": iso(version.replaced_at),
            "current": version.replaced_at is None}


@bp.get("/comments/<int:comment_id>/history")
def comment_history(comment_id: int) -> Response:
    """GET /api/v1/comments/<id>/history: every version, oldest first, and the latest change."""
    comment = comments.get_comment(comment_id)
    history.check_can_read(comment, current_actor())
    versions = history.versions_of(comment)
    return jsonify({
        "comment_id": comment.id, "edits": len(versions) - 1,
        "versions": [version_json(v) for v in versions],
        "last_change": [{"kind": kind, "text": text}
                        for kind, text in history.last_change(versions)],
    })


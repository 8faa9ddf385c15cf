"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": "Error", "content": {"application/json": {"schema": _ERROR}}}
        for s in statuses
    }


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str, *, required: bool = False,
           schema: dict | None = None, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


COMMENT_ID = _param("comment_id", "Comment id", required=True, schema={"type": "integer"},
                    where="path")

PATHS: dict[str, Any] = {
    "/threads": {"get": {
        "summary": "A thread and its visible comments as a tree",
        "parameters": [
            _param("site", "Site slug", required=True),
            _param("key", "Thread key (1–512 characters)", required=True),
            _param("sort", "Order of top-level comments",
                   schema={"type": "string", "enum": ["oldest", "newest", "top"]}),
            _param("cursor", "next_cursor of the previous page"),
        ],
        "responses": {"200": _json(_ref("ThreadPage")), **_errors(400, 404)},
    }},
    "/threads/stream": {"get": {
        "summary": "New comments of a thread as they become public (Server-Sent Events)",
        "description": "Event `comment`, data: the comment as in the thread tree without "
                       "`replies`, `id:` the event id. `Last-Event-ID` resumes after it.",
        "parameters": [
            _param("site", "Site slug", required=True),
            _param("key", "Thread key", required=True),
            _param("last_event_id", "The last event id seen (instead of Last-Event-ID)"),
        ],
        "responses": {"200": {"description": "An open stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **_errors(400, 404)},
    }},
    "/comments": {"post": {
        "summary": "Post a comment or a reply",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("NewComment")}}},
        "responses": {"201": _json(_ref("Comment"), "Created; status tells if it waits"),
                      **_errors(400, 401, 403, 404, 409, 413, 429)},
    }},
    "/comments/{comment_id}": {
        "patch": {
            "summary": "Edit a comment (author within the edit window, or a moderator)",
            "parameters": [COMMENT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["body"],
                "properties": {"body": {"type": "string", "minLength": 1,
                                        "maxLength": 10000}}}}}},
            "responses": {"200": _json(_ref("Comment")), **_errors(400, 401, 403, 404, 429)},
        },
        "delete": {
            "summary": "Delete a comment (author or moderator)",
            "parameters": [COMMENT_ID],
            "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
        },
    },
    "/counts": {"get": {
        "summary": "Approved comments per thread key (up to 100 keys)",
        "parameters": [
            _param("site", "Site slug", required=True),
            {"name": "key", "in": "query", "required": True, "explode": True,
             "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 100}},
        ],
        "responses": {"200": _json({"type": "object", "properties": {"counts": {
            "type": "object", "additionalProperties": {"type": "integer"}}}}),
            **_errors(400, 404)},
    }},
}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "fields": {"type": "object",
                                  "additionalProperties": {"type": "string"}}}}}},
    "Author": {"type": "object", "nullable": True, "properties": {
        "name": {"type": "string"}, "username": {"type": "string", "nullable": True},
        "avatar_url": {"type": "string"},
        "role": {"type": "string", "nullable": True, "enum": ["admin", "moderator", None],
                 "description": "Staff of the comment's site, marked in the byline"},
        "site_user": {"type": "boolean",
                      "description": "Signed in by the publisher's own accounts (SSO)"}}},
    "Comment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "parent_id": {"type": "integer", "nullable": True},
        "author": _ref("Author"), "html": {"type": "string"},
        "status": {"type": "string",
                   "enum": ["pending", "approved", "spam", "rejected", "deleted"]},
        "created_at": {"type": "string", "format": "date-time"},
        "edited_at": {"type": "string", "format": "date-time", "nullable": True},
        "score": {"type": "integer"}, "pinned": {"type": "boolean"},
        "my_vote": {"type": "integer", "enum": [-1, 0, 1]},
        "replies": {"type": "array", "items": _ref("Comment")}}},
    "NewComment": {"type": "object", "required": ["site", "key", "body"], "properties": {
        "site": {"type": "string"}, "key": {"type": "string", "maxLength": 512},
        "url": {"type": "string"}, "title": {"type": "string"},
        "parent_id": {"type": "integer", "nullable": True},
        "body": {"type": "string", "minLength": 1, "maxLength": 10000},
        "name": {"type": "string", "maxLength": 64}, "email": {"type": "string"},
        "notify": {"type": "boolean"}}},
    "Thread": {"type": "object", "properties": {
        "key": {"type": "string"}, "url": {"type": "string"}, "title": {"type": "string"},
        "closed": {"type": "boolean"}, "comment_count": {"type": "integer"}}},
    "ThreadPage": {"type": "object", "properties": {
        "thread": _ref("Thread"),
        "comments": {"type": "array", "items": _ref("Comment")},
        "next_cursor": {"type": "string", "nullable": True}}},
}


def openapi_document() -> dict[str, Any]:
    """The whole document: every path and schema of the API, written out above."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "discuss API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


# ------------------------------------------------ accounts (discuss.web.api_account)

def _body(properties: dict, required: list[str] = ()) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": list(required), "properties": properties}}}}


_STR = {"type": "string"}
TOKEN_ID = _param("token_id", "Token id", required=True, schema={"type": "integer"},
                  where="path")
SCHEMAS["User"] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "username": _STR, "name": _STR, "display_name": _STR,
    "avatar_url": _STR, "is_admin": {"type": "boolean"},
    "moderator_of": {"type": "array", "items": _STR},
    "created_at": {"type": "string", "format": "date-time"},
    "email": _STR, "email_verified": {"type": "boolean"},
    "site": {"type": "string", "nullable": True,
             "description": "The site whose own accounts signed this reader in (SSO)"}}}
SCHEMAS["ApiToken"] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": _STR,
    "created_at": {"type": "string", "format": "date-time"},
    "expires_at": {"type": "string", "format": "date-time"},
    "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
    "token": {"type": "string", "description": "Only in the answer that creates it"}}}
_MESSAGE = _json({"type": "object", "properties": {"message": _STR}}, "Accepted")
PATHS.update({
    "/auth/login": {"post": {
        "summary": "Sign in (login = username or email); returns a bearer session token and "
                   "sets the session cookie",
        "requestBody": _body({"login": _STR, "password": _STR, "remember": {
            "type": "boolean", "default": True}}, ["login", "password"]),
        "responses": {"200": _json({"type": "object", "properties": {
            "token": _STR, "user": _ref("User")}}), **_errors(400, 401, 429)},
    }},
    "/auth/sso": {"post": {
        "summary": "Sign in a reader of the site's own accounts with its signed token (a JWT "
                   "signed HS256 with the site's SSO secret; see docs/sso.md); answers as "
                   "/auth/login does",
        "requestBody": _body({"site": _STR, "token": _STR}, ["site", "token"]),
        "responses": {"200": _json({"type": "object", "properties": {
            "token": _STR, "user": _ref("User")}}), **_errors(400, 401, 404)},
    }},
    "/auth/register": {"post": {
        "summary": "Create an account; the same answer whether or not the email has one",
        "requestBody": _body({"username": _STR, "email": _STR, "password": _STR},
                             ["username", "email", "password"]),
        "responses": {"202": _MESSAGE, **_errors(400, 409, 429)},
    }},
    "/auth/reset": {"post": {
        "summary": "Mail a password reset link; the same answer whether or not it exists",
        "requestBody": _body({"login": _STR}, ["login"]),
        "responses": {"202": _MESSAGE, **_errors(400, 429)},
    }},
    "/auth/logout": {"post": {
        "summary": "End the session the request came with (bearer token or cookie)",
        "responses": {"204": {"description": "Signed out"}},
    }},
    "/me": {
        "get": {"summary": "The signed-in user, or null",
                "responses": {"200": _json({**_ref("User"), "nullable": True})}},
        "delete": {"summary": "Delete the account (comments stay as \"deleted user\")",
                   "requestBody": _body({"password": _STR}, ["password"]),
                   "responses": {"204": {"description": "Deleted"}, **_errors(400, 401, 403)}},
    },
    "/me/export": {"get": {
        "summary": "Everything held about the signed-in user",
        "responses": {"200": _json({"type": "object"}), **_errors(401)},
    }},
    "/comments/{comment_id}/vote": {"post": {
        "summary": "Vote 1 or -1 (0 takes the vote back); one vote per account",
        "parameters": [COMMENT_ID],
        "requestBody": _body({"value": {"type": "integer", "enum": [1, -1, 0]}}, ["value"]),
        "responses": {"200": _json({"type": "object", "properties": {
            "score": {"type": "integer"}, "my_vote": {"type": "integer"}}}),
            **_errors(400, 401, 403, 404, 409, 429)},
    }},
    "/comments/{comment_id}/report": {"post": {
        "summary": "Report a comment (once per reader)",
        "parameters": [COMMENT_ID],
        "requestBody": _body({"reason": {"type": "string", "enum": [
            "spam", "abuse", "off-topic", "other"]}, "note": {"type": "string",
                                                            "maxLength": 500}}, ["reason"]),
        "responses": {"202": _json({"type": "object"}, "Received"),
                      **_errors(400, 403, 404, 409, 429)},
    }},
    "/tokens": {
        "get": {"summary": "The signed-in user's personal API tokens",
                "responses": {"200": _json({"type": "object", "properties": {"tokens": {
                    "type": "array", "items": _ref("ApiToken")}}}), **_errors(401)}},
        "post": {"summary": "Create a personal API token (its value is shown once)",
                 "requestBody": _body({"name": {"type": "string", "maxLength": 100}}),
                 "responses": {"201": _json(_ref("ApiToken")), **_errors(400, 401)}},
    },
    "/tokens/{token_id}": {"delete": {
        "summary": "Revoke one of one's own tokens",
        "parameters": [TOKEN_ID],
        "responses": {"204": {"description": "Revoked"}, **_errors(401, 404)},
    }},
})

# The moderation API (discuss.web.api_moderation).
_SITE = _param("site", "Site slug", required=True)
_OBJ = {"type": "object"}
_ANY_BODY = {"required": True, "content": {"application/json": {"schema": _OBJ}}}
PATHS.update({
    "/moderation/sites": {"get": {
        "summary": "Sites the caller moderates with queue sizes and oldest items",
        "responses": {"200": _json(_OBJ), **_errors(401)}}},
    "/moderation/queue": {"get": {
        "summary": "A page of a moderation queue (comment, thread, parent, author, reports)",
        "parameters": [_SITE,
                       _param("queue", "pending | reported | spam (default pending)"),
                       _param("order", "oldest (default) | newest"),
                       _param("thread", "Only this thread key"),
                       _param("author", "Username, email, or author key (u:/e:/i:)"),
                       _param("limit", "Items per page (1–100, default 25)"),
                       _param("cursor", "next_cursor of the previous page")],
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403, 404)}}},
    "/moderation/actions": {"post": {
        "summary": "Approve, reject, spam, delete, pin or unpin comments; one result per id "
                   "(ok | conflict | not_found | forbidden | invalid). Body: ids, action, "
                   "note?, expected_status? (a status, or {id: status})",
        "requestBody": _ANY_BODY,
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403)}}},
    "/moderation/threads/close": {"post": {
        "summary": "Close a thread (body: site, key, note?)", "requestBody": _ANY_BODY,
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403, 404, 409)}}},
    "/moderation/threads/reopen": {"post": {
        "summary": "Reopen a closed thread (body: site, key, note?)", "requestBody": _ANY_BODY,
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403, 404, 409)}}},
    "/moderation/comments/{comment_id}/edit": {"post": {
        "summary": "Edit a comment's text as moderator (body: body, note?)",
        "parameters": [_param("comment_id", "Comment id", required=True,
                              schema={"type": "integer"}, where="path")],
        "requestBody": _ANY_BODY,
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403, 404)}}},
    "/moderation/bans": {
        "get": {"summary": "A site's bans", "parameters": [_SITE],
                "responses": {"200": _json(_OBJ), **_errors(401, 403, 404)}},
        "post": {"summary": "Ban (body: site, kind user|email|ip, value, shadow?, reason?, "
                            "days? | expires_at?)", "requestBody": _ANY_BODY,
                 "responses": {"201": _json(_OBJ), **_errors(400, 401, 403, 404)}}},
    "/moderation/bans/{ban_id}/lift": {"post": {
        "summary": "Lift a ban early (body: note?)",
        "parameters": [_param("ban_id", "Ban id", required=True,
                              schema={"type": "integer"}, where="path")],
        "responses": {"200": _json(_OBJ), **_errors(401, 403, 404, 409)}}},
    "/moderation/ban-author": {"post": {
        "summary": "Ban a comment's author and remove all their comments (body: "
                   "comment_id, remove? deleted|spam, shadow?, reason?, days?)",
        "requestBody": _ANY_BODY,
        "responses": {"201": _json(_OBJ), **_errors(400, 401, 403, 404)}}},
    "/moderation/audit": {"get": {
        "summary": "A site's audit log, newest first",
        "parameters": [_SITE, _param("action", "Only this action"),
                       _param("moderator", "Only this moderator's username"),
                       _param("cursor", "next_cursor of the previous page")],
        "responses": {"200": _json(_OBJ), **_errors(400, 401, 403, 404)}}},
    "/comments/{comment_id}/history": {"get": {
        "summary": "A comment's edit history (the site's moderators, or its author): every "
                   "version's source text and times, oldest first, and the latest change as "
                   "a word diff",
        "parameters": [_param("comment_id", "Comment id", required=True,
                              schema={"type": "integer"}, where="path")],
        "responses": {"200": _json(_OBJ), **_errors(401, 403, 404)}}},
})

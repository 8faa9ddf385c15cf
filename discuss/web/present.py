"""How comments, threads and users look in JSON and templates: one shape for both."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app, has_request_context, request, url_for
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value

from discuss.extensions import db
from discuss.models import Comment, Site, Status, Thread, User
from discuss.reading import Node, Sliver, ThreadPage, author_name


def avatar_seed(comment: Comment | None = None, user: User | None = None) -> str:
    """A keyed seed for a generated avatar that nothing a reader types can reproduce.

    An account's avatar follows the account. A guest's follows their browser (its guest key)
    on that one site, never the name or email they typed: anyone can type a name and a guessed
    address, and an avatar made from those would confirm the guess and link one guest across
    sites. A guest comment without a browser key (imported, or its author deleted) has its own.
    """
    if user is None and comment is not None and comment.user_id is not None:
        user = comment.author
    if user is not None:
        material = f"user:{user.id}"
    elif comment is not None and comment.guest_key_hash:
        material = f"guest:{comment.site_id}:{comment.guest_key_hash}"
    elif comment is not None:
        material = f"comment:{comment.site_id}:{comment.id}"
    else:
        material = "deleted"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:20]


def avatar_url(comment: Comment | None = None, user: User | None = None) -> str:
    """The avatar shown for a user or a comment's author (Gravatar or identicon)."""
    if user is None and comment is not None and comment.user_id is not None:
        user = comment.author
    if user is not None and current_app.config["DISCUSS_GRAVATAR"]:
        digest = hashlib.md5(user.email_key.encode(), usedforsecurity=False).hexdigest()
        return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"
    # Pages show dozens of these and every post one: the route is built once per app and
    # mount point (the path the app is served under), then filled in.
    known = current_app.extensions.setdefault("discuss.avatar_url_parts", {})
    root = request.script_root if has_request_context() else None
    around = known.get(root)
    if around is None:
        prefix, _, suffix = url_for("pages.avatar", seed="0", _external=False).rpartition("0")
        around = known[root] = (prefix, suffix)
    return around[0] + avatar_seed(comment, user) + around[1]


def iso(value) -> str | None:
    """A UTC time as ISO 8601 with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _load_author(comment: Comment) -> None:
    # A commit expires the comment's author; fetch it (usually from the identity map) rather
    # than trip lazy="raise".
    if comment.user_id is not None and "author" in sa_inspect(comment).unloaded:
        set_committed_value(comment, "author", db.session.get(User, comment.user_id))


def author_role(comment: Comment) -> str | None:
    """"admin" or "moderator" when the comment's author is staff of its site (shown in the
    byline, so a look-alike name cannot pass for theirs), else None."""
    if comment.user_id is None:
        return None
    _load_author(comment)
    user = comment.author
    if user is None:
        return None
    if user.is_admin:
        return "admin"
    if any(site.id == comment.site_id for site in user.moderated_sites):
        return "moderator"
    return None
def site_slug(user: User) -> str | None:
    """The slug of the site a site user (SSO) belongs to; None for a local account."""
    if user.site_id is None:
        return None
    site = db.session.get(Site, user.site_id)  # usually in the identity map already
    return site.slug if site is not None else None


def author_json(comment: Comment) -> dict:
    """A comment's author as the API shows it (name, username, avatar)."""
    _load_author(comment)
    user = comment.author if comment.user_id is not None else None
    site_user = user is not None and user.is_site_user
    return {
        "name": author_name(comment),
        # A site user's handle is internal: they are known by name and by their site.
        "username": user.username if user is not None and not site_user else None,
        "avatar_url": avatar_url(comment),
        "role": author_role(comment),
        # Signed in by the publisher's own accounts (shown with the publisher's mark).
        "site_user": site_user,
    }


def comment_json(comment: Comment, *, replies: list[dict] | None = None,
                 placeholder: bool = False, my_vote: int | None = None,
                 mine: bool = False) -> dict:
    """A comment in the API's shape; placeholders keep their place without author or text."""
    status = str(comment.status)
    if comment.shadowed and mine and comment.status in (Status.SPAM, Status.APPROVED):
        status = str(Status.APPROVED)  # a shadow-banned author sees their comment published
    # The reader's own keys come right after the id: personal_json adds them there to the
    # body everyone shares, and gives the same bytes as building it for the reader.
    data: dict = {"id": comment.id}
    if my_vote is not None:
        data["my_vote"] = my_vote
    if mine and not placeholder:
        data["mine"] = True
    data |= {
        "parent_id": comment.parent_id,
        "author": None if placeholder else author_json(comment),
        "html": "" if placeholder else comment.html,
        "status": str(Status.DELETED) if placeholder else status,
        "created_at": iso(comment.created_at),
        "edited_at": None if placeholder else iso(comment.edited_at),
        "edited_by_moderator": comment.edited_by_moderator and not placeholder,
        "score": comment.score,
        "pinned": comment.pinned,
        "replies": replies if replies is not None else [],
    }
    return data


def node_json(node: Node, my_votes: dict[int, int]) -> dict:
    """A comment with its visible replies, as the API shows it."""
    return comment_json(
        node.comment,
        replies=[node_json(r, my_votes) for r in node.replies],
        placeholder=node.placeholder,
        my_vote=my_votes.get(node.comment.id, 0) if my_votes is not None else None,
        mine=node.mine,
    )


def thread_json(thread: Thread) -> dict:
    """A thread as the API shows it."""
    return {
        "key": thread.key,
        "url": thread.url,
        "title": thread.title,
        "closed": thread.closed,
        "comment_count": thread.comment_count,
    }


def page_json(page: ThreadPage, my_votes: dict[int, int]) -> dict:
    """A page of a thread as GET /threads answers it."""
    return {
        "thread": thread_json(page.thread),
        "comments": [node_json(n, my_votes) for n in page.nodes],
        "next_cursor": page.next_cursor,
        "sort": page.sort,
    }


# A comment's second key in a thread's JSON, as json.dumps writes it without spaces (the
# first is its id): no other object has it, and text inside strings cannot hold it (their
# quotes are escaped).
_PARENT_KEY = b',"parent_id":'
_AUTHOR = re.compile(rb'"parent_id":(?:\d+|null),"author":(null)?')


def personal_json(shared: bytes, sliver: Sliver) -> bytes:
    """The page everyone sees (``page_json`` as JSON bytes) made the reader's own without
    parsing it: ``my_vote`` on every comment for a signed-in reader, ``mine`` on what they
    wrote (not on a placeholder). The same bytes as ``page_json`` built for them, for a reader
    with nothing held (``sliver.held`` false): every comment gets ``"my_vote":0`` in one
    replacement, then the few the reader wrote or voted on are found and written anew."""
    own, votes = sliver.own, sliver.votes
    if votes is None:
        page, blank = shared, b""
    else:
        blank = b'"my_vote":0,'
        page = shared.replace(_PARENT_KEY, b"," + blank + _PARENT_KEY[1:])
    changes = []
    for comment_id in own | {i for i, value in (votes or {}).items() if value}:
        head = b'{"id":%d,%s' % (comment_id, blank)
        start = page.find(head + _PARENT_KEY[1:])
        if start < 0:
            continue  # not on this page
        end = start + len(head)
        extra = b'"my_vote":%d,' % votes.get(comment_id, 0) if votes is not None else b""
        if comment_id in own and _AUTHOR.match(page, end)[1] is None:
            extra += b'"mine":true,'
        changes.append((start, end, b'{"id":%d,%s' % (comment_id, extra)))
    if not changes:
        return page
    pieces, at = [], 0
    for start, end, replacement in sorted(changes):
        pieces += [page[at:start], replacement]
        at = end
    pieces.append(page[at:])
    return b"".join(pieces)


def iter_nodes(nodes: list[Node]):
    """Every node of a tree, parents before their replies."""
    for node in nodes:
        yield node
        yield from iter_nodes(node.replies)

"""Spam rules: each looks at a new or edited comment and returns reasons, never a side effect.

``check_comment`` returns a Verdict (``allow``, ``pending`` or ``spam`` with the reasons a
moderator sees in the queue) or raises Conflict when the comment must be refused outright (the
same body again from the same author within an hour). Each rule is a per-site setting (columns
of Site). The form rules read a form already checked by the web edge
(``discuss.web.antispam.checked_form``): ``website`` (the honeypot) and ``form_age_seconds``
(seconds since the signed ``rendered_at`` token was made, None when missing or forged); this
module never sees the app's secret.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, or_, select

from discuss.errors import Conflict
from discuss.extensions import FastRead, read_rows
from discuss.models import BlocklistAction, Comment, Site, Status
from discuss.permissions import Actor
from discuss.rendering import count_html_links

ALLOW = "allow"
PENDING = "pending"
SPAM = "spam"

DUPLICATE_WINDOW = timedelta(hours=1)
# A link is anything a reader's browser would follow: a scheme URL or a bare www. host.
_LINK_RE = re.compile(r"(?i)(?:\b(?:https?|ftp)://|\bwww\.[a-z0-9-]+\.|\bmailto:)")


@dataclass
class Verdict:
    action: str = ALLOW
    reasons: list[dict[str, str]] = field(default_factory=list)

    def hold(self, action: str, rule: str, detail: str) -> None:
        """Add a reason; spam outranks pending, which outranks allow."""
        self.reasons.append({"rule": rule, "detail": detail})
        order = (ALLOW, PENDING, SPAM)
        if order.index(action) > order.index(self.action):
            self.action = action


def body_fingerprint(body: str) -> str:
    flat = " ".join(body.casefold().split())
    return hashlib.sha256(flat.encode()).hexdigest()


def fold(text: str) -> str:
    """Text for matching: accents stripped (NFKD, no combining marks) and case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def blocklist_entries(blocklist: str) -> list[str]:
    """The site's blocklist: one word or phrase per line (commas separate too), folded."""
    entries = []
    for raw in re.split(r"[\n,]", blocklist or ""):
        entry = " ".join(fold(raw).split())
        if entry and entry not in entries:
            entries.append(entry)
    return entries


@lru_cache(maxsize=256)
def _blocklist_pattern(blocklist: str) -> re.Pattern[str] | None:
    entries = blocklist_entries(blocklist)
    if not entries:
        return None
    # Whole words: no word character may touch either end; any run of spaces between words.
    alternatives = sorted((r"\s+".join(map(re.escape, e.split())) for e in entries),
                          key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def blocked_phrase(blocklist: str, body: str) -> str | None:
    """The first blocklisted word or phrase in body (whole words, any case or accents)."""
    pattern = _blocklist_pattern(blocklist or "")
    if pattern is None:
        return None
    match = pattern.search(fold(body))
    return " ".join(match.group(0).split()) if match else None


def count_links(body: str) -> int:
    return len(_LINK_RE.findall(body))


# The duplicate guard, prebuilt once. The author is a user id, or a guest matched by any of
# their keys; a missing key is bound as NULL, which matches nothing.
_DUPLICATE = FastRead(select(Comment.id).where(
    Comment.site_id == bindparam("site_id"),
    Comment.body_hash == bindparam("body_hash"),
    Comment.created_at >= bindparam("since"),
    Comment.status != Status.DELETED,
    Comment.id != bindparam("except_id"),
    or_(Comment.user_id == bindparam("user_id"),
        Comment.user_id.is_(None) & or_(Comment.guest_key_hash == bindparam("guest_key_hash"),
                                          Comment.guest_email_key == bindparam("email_key"),
                                          Comment.ip_hash == bindparam("ip_hash"))),
).limit(1))


def _author_keys(actor: Actor, email_key: str, editing: Comment | None) -> dict[str, object]:
    """The author of a new comment (the actor) or of the one being edited, as _DUPLICATE's
    parameters."""
    if editing is not None:
        user_id, keys = editing.user_id, (editing.guest_key_hash, editing.guest_email_key,
                                          editing.ip_hash)
    else:
        user_id = actor.user.id if actor.user is not None else None
        keys = (actor.guest_key_hash, email_key, actor.ip_hash)
    if user_id is not None:
        keys = ("", "", "")
    return {"user_id": user_id, **{name: value or None for name, value in
                                   zip(("guest_key_hash", "email_key", "ip_hash"), keys,
                                       strict=True)}}


def check_duplicate(site: Site, actor: Actor, body: str, *, email_key: str, now: datetime,
                    editing: Comment | None = None, fingerprint: str | None = None) -> None:
    """Refuse the same body from the same author within an hour (a double submit or a bot)."""
    author = _author_keys(actor, email_key, editing)
    if not any(author.values()):
        return
    found = read_rows(_DUPLICATE, {
        "site_id": site.id, "body_hash": fingerprint or body_fingerprint(body),
        "since": now - DUPLICATE_WINDOW, "except_id": editing.id if editing else 0, **author})
    if found:
        raise Conflict("You already posted this.", {"body": "duplicate"}, code="duplicate")


def check_form(site: Site, form: dict, verdict: Verdict,
               trusted: Callable[[], bool] | None = None) -> None:
    """The honeypot and the minimum time between showing the form and sending it.

    The timing rule alone only holds a comment for a moderator (a quick typist is not a
    spammer), and a signed-in reader with an approved comment on the site skips it."""
    if site.honeypot and str(form.get("website") or "").strip():
        verdict.hold(SPAM, "honeypot", "the hidden website field was filled in")
    if site.min_submit_seconds and site.min_submit_seconds > 0 and "form_age_seconds" in form:
        age = form.get("form_age_seconds")
        if not isinstance(age, int | float) or isinstance(age, bool):
            detail = "the form's timestamp is missing or forged"
        elif age < site.min_submit_seconds:
            detail = (f"sent {max(age, 0):.1f}s after the form was shown "
                      f"(minimum {site.min_submit_seconds}s)")
        else:
            return
        if trusted is None or not trusted():
            verdict.hold(PENDING, "timing", detail)


def check_comment(site: Site, actor: Actor, body: str, *, form: dict | None,
                  html: str | None = None,
                  email_key: str = "", now: datetime, editing: Comment | None = None,
                  fingerprint: str | None = None,
                  trusted: Callable[[], bool] | None = None) -> Verdict:
    """Run the site's spam rules on a body (form is None or empty for API writes and edits).

    ``trusted`` answers whether the author may skip the timing rule (a signed-in reader with an
    approved comment here); it is asked only when that rule would hold the comment."""
    check_duplicate(site, actor, body, email_key=email_key, now=now, editing=editing,
                    fingerprint=fingerprint)
    verdict = Verdict()
    if actor.moderates(site):
        return verdict  # moderators are trusted; only the double-post guard applies
    if form:
        check_form(site, form, verdict, trusted)
    if site.max_links is not None and site.max_links >= 0:
        # What a reader can click: the links in the rendered HTML (one reference definition
        # used a thousand times is a thousand links; a URL in a code block is none).
        links = count_html_links(html) if html is not None else count_links(body)
        if links > site.max_links:
            verdict.hold(PENDING, "links", f"{links} links (more than {site.max_links})")
    phrase = blocked_phrase(site.blocklist, body)
    if phrase is not None:
        action = SPAM if site.blocklist_action == BlocklistAction.SPAM else PENDING
        verdict.hold(action, "blocklist", phrase)
    return verdict

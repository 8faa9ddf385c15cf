"""Spam rules: each looks at a new or edited comment and returns reasons, never a side effect.

``check_comment`` returns a Verdict (``allow``, ``pending`` or ``spam`` with the reasons a
moderator sees in the queue) or raises when the comment must be refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from discuss.models import Comment, Site
from discuss.permissions import Actor

ALLOW = "allow"
PENDING = "pending"
SPAM = "spam"


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


def check_comment(site: Site, actor: Actor, body: str, *, form: dict | None,
                  email_key: str = "", now: datetime,
                  editing: Comment | None = None) -> Verdict:
    """Run the site's spam rules on a body (form is None for API writes and edits)."""
    return Verdict()

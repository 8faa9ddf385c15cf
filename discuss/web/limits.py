"""Rate limits on posting, voting, reporting and signing in: per IP and per signed-in account.

Each decorator applies the configured limit (DISCUSS_RATELIMIT_POST/VOTE/REPORT/LOGIN, e.g.
"5/minute;60/hour") twice: keyed by the keyed hash of the client's IP, and, when someone is
signed in, by their account. The limit is shared by every view with the same decorator (the
embed form and the JSON API count together). Counters live in Flask-Limiter's storage: memory,
or Redis when DISCUSS_REDIS_URL is set, so that several processes share them. A breach answers
429 with Retry-After (discuss.web.errors). DISCUSS_RATELIMIT_ENABLED=0 switches them off.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request

from discuss.extensions import limiter
from discuss.web.security import current_actor

F = TypeVar("F", bound=Callable)


def _disabled() -> bool:
    return not current_app.config.get("DISCUSS_RATELIMIT_ENABLED", True)


def _no_account_or_disabled() -> bool:
    return _disabled() or current_actor().user is None


def ip_key() -> str:
    # The keyed hash, never the address itself, is what reaches Redis.
    """The rate limits' key for the caller's address."""
    return "ip:" + (current_actor().ip_hash or request.remote_addr or "unknown")


def account_key() -> str:
    """The rate limits' key for the signed-in account (the address for a guest)."""
    user = current_actor().user
    return f"user:{user.id}" if user is not None else ip_key()


def _limited(setting: str, scope: str) -> Callable[[F], F]:
    def limit_value() -> str:
        return current_app.config[setting]

    def decorate(view: F) -> F:
        limited = limiter.shared_limit(limit_value, scope=f"{scope}:account",
                                       key_func=account_key,
                                       exempt_when=_no_account_or_disabled)(view)
        limited = limiter.shared_limit(limit_value, scope=f"{scope}:ip", key_func=ip_key,
                                       exempt_when=_disabled)(limited)

        @wraps(view)
        def route(*args: Any, **kwargs: Any) -> Any:
            # Switched off, the limits cost nothing: Flask-Limiter would still look up and
            # filter them on every request before asking exempt_when.
            return (view if _disabled() else limited)(*args, **kwargs)

        return cast(F, route)

    return decorate


limit_posting = _limited("DISCUSS_RATELIMIT_POST", "post")
limit_voting = _limited("DISCUSS_RATELIMIT_VOTE", "vote")
limit_reporting = _limited("DISCUSS_RATELIMIT_REPORT", "report")
limit_signin = _limited("DISCUSS_RATELIMIT_LOGIN", "login")

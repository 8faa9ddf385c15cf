"""Every DISCUSS_* setting: its name, type, default and meaning, in one table.

This module owns reading settings from the environment (and from the overrides given to
``create_app``), checking them at start-up and deriving the library settings (SQLAlchemy,
Flask-Limiter, cookies) from them. Nothing else reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has a value that cannot be used; raised at start-up, never later."""


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {raw!r}")


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DISCUSS_DATABASE_URL", str, None,
            "SQLAlchemy URL; default: SQLite file discuss.sqlite3 in the instance folder. "
            "PostgreSQL: postgresql+psycopg://user@host/db"),
    Setting("DISCUSS_SECRET_KEY", str, None,
            "Signs sessions, cursors and tokens. Default: generated once and kept in "
            "the instance folder (secret_key)"),
    Setting("DISCUSS_REDIS_URL", str, None,
            "redis://host:6379/0 to share rate-limit counters and caches between processes"),
    Setting("DISCUSS_PUBLIC_URL", str, "http://127.0.0.1:5000",
            "The service's own origin as readers reach it; https (or a loopback host) enables "
            "Secure; SameSite=None; Partitioned cookies, https also HSTS"),
    Setting("DISCUSS_TRUSTED_PROXIES", int, 0,
            "How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host "
            "(deploy/ sets 1 for its nginx); 0: those headers are never trusted"),
    Setting("DISCUSS_DB_POOL_SIZE", int, 5, "PostgreSQL connection pool size per process"),
    Setting("DISCUSS_DB_POOL_TIMEOUT", int, 5,
            "Seconds a request waits for a pooled database connection before a 503"),
    Setting("DISCUSS_PAGE_SIZE", int, 50, "Top-level comments per page of a thread"),
    Setting("DISCUSS_EDIT_WINDOW", int, 900,
            "Default seconds an author may edit or delete a comment (per-site override)"),
    Setting("DISCUSS_REPORT_THRESHOLD", int, 3,
            "Distinct readers' reports that hide a comment until a moderator decides"),
    Setting("DISCUSS_SESSION_DAYS", int, 30, "Days a sign-in session or remembered login lasts"),
    Setting("DISCUSS_TOKEN_DAYS", int, 365, "Days a personal API token lasts"),
    Setting("DISCUSS_QUEUE_MAIL_MINUTES", int, 15,
            "At most one 'comments wait in your queue' mail per moderator and site this often"),
    Setting("DISCUSS_WEBHOOK_RETRY_SECONDS", int, 30,
            "Wait before a failed webhook delivery is retried, doubled after each failure "
            "(8 attempts in all)"),
    Setting("DISCUSS_RATELIMIT_ENABLED", _parse_bool, True,
            "0 switches every rate limit off (load tests)"),
    Setting("DISCUSS_RATELIMIT_POST", str, "5/minute;60/hour",
            "Comments posted or edited, per IP and per account"),
    Setting("DISCUSS_RATELIMIT_VOTE", str, "60/minute", "Votes, per IP and per account"),
    Setting("DISCUSS_RATELIMIT_REPORT", str, "10/hour", "Reports, per IP and per account"),
    Setting("DISCUSS_RATELIMIT_LOGIN", str, "10/minute;50/hour",
            "Sign-in, registration and reset attempts, per IP and per (account, IP)"),
    Setting("DISCUSS_MAIL_HOST", str, None,
            "SMTP server; unset: mail is written to the log instead of sent"),
    Setting("DISCUSS_MAIL_PORT", int, 25, "SMTP port"),
    Setting("DISCUSS_MAIL_USERNAME", str, None, "SMTP user name, if the server wants one"),
    Setting("DISCUSS_MAIL_PASSWORD", str, None, "SMTP password"),
    Setting("DISCUSS_MAIL_STARTTLS", _parse_bool, False, "Use STARTTLS on the SMTP connection"),
    Setting("DISCUSS_MAIL_SENDER", str, "discuss@localhost", "From: address of every mail"),
    Setting("DISCUSS_GRAVATAR", _parse_bool, False,
            "1 shows Gravatar images for users who have one (tells Gravatar of each visit)"),
    Setting("DISCUSS_LOG_LEVEL", str, "INFO", "Python logging level"),
)

SETTING_NAMES = frozenset(s.name for s in SETTINGS)


def load_settings(environ: Mapping[str, str], overrides: Mapping[str, Any] | None) -> dict:
    """Read every setting from the environment, then apply overrides given as Python values."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from exc
    for name, value in (overrides or {}).items():
        values[name] = value
    return values


def persisted_secret_key(instance_path: str) -> str:
    """The secret key kept in the instance folder, made on first start (readable by owner only)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def is_loopback_host(host: str | None) -> bool:
    """Browsers treat http://localhost and loopback addresses as secure contexts, so Secure
    cookies work there over plain http (https://w3c.github.io/webappsec-secure-contexts/)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_flags(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flags of every cookie the service sets (session, remember, guest key).

    Inside a cross-site iframe only ``SameSite=None`` cookies are sent, browsers accept those
    only when ``Secure``, and where third-party cookies are blocked only ``Partitioned`` ones
    (CHIPS: kept per embedding site) are kept. Without a secure context (plain http on a real
    host) the cookie is first-party only (Lax) and the iframe's bearer token carries the session.
    """
    secure = bool(config["DISCUSS_COOKIE_SECURE"])
    return {"httponly": True, "secure": secure, "samesite": "None" if secure else "Lax",
            "partitioned": secure}


def apply_settings(config: dict, values: dict, instance_path: str) -> None:
    """Store the settings in Flask's config and derive what the libraries read."""
    config.update(values)
    for name in values:
        if name.startswith("DISCUSS_") and name not in SETTING_NAMES and name != "DISCUSS_NOW":
            raise ConfigError(f"unknown setting {name}")

    database_url = values["DISCUSS_DATABASE_URL"]
    if not database_url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        database_url = "sqlite:///" + str(Path(instance_path) / "discuss.sqlite3")
    config["DISCUSS_DATABASE_URL"] = database_url
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    engine_options: dict[str, Any] = {}
    if database_url.startswith("postgresql"):
        # A pooled connection to a server can be dropped (a restart): one that sat idle is
        # pinged on checkout (extensions.ping_idle_connections), not every one.
        engine_options.update(
            pool_size=values["DISCUSS_DB_POOL_SIZE"],
            pool_timeout=values["DISCUSS_DB_POOL_TIMEOUT"],
            max_overflow=values["DISCUSS_DB_POOL_SIZE"],
            pool_recycle=1800,
            connect_args={"connect_timeout": 5},
        )
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options

    proxies = values["DISCUSS_TRUSTED_PROXIES"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or not 0 <= proxies <= 10:
        raise ConfigError("DISCUSS_TRUSTED_PROXIES must be a whole number from 0 to 10")

    secret = values["DISCUSS_SECRET_KEY"] or persisted_secret_key(instance_path)
    if len(secret) < 16:
        raise ConfigError("DISCUSS_SECRET_KEY must be at least 16 characters")
    config["SECRET_KEY"] = secret

    public = urlsplit(values["DISCUSS_PUBLIC_URL"])
    if public.scheme not in {"http", "https"} or not public.netloc:
        raise ConfigError("DISCUSS_PUBLIC_URL must be an http(s) origin")
    secure = public.scheme == "https"
    config["DISCUSS_PUBLIC_ORIGIN"] = f"{public.scheme}://{public.netloc}"
    config["DISCUSS_SECURE"] = secure  # served over https: HSTS
    config["DISCUSS_COOKIE_SECURE"] = secure or is_loopback_host(public.hostname)
    flags = cookie_flags(config)
    config["SESSION_COOKIE_NAME"] = "discuss_session"
    config["SESSION_COOKIE_HTTPONLY"] = flags["httponly"]
    config["SESSION_COOKIE_SECURE"] = flags["secure"]
    config["SESSION_COOKIE_SAMESITE"] = flags["samesite"]
    config["SESSION_COOKIE_PARTITIONED"] = flags["partitioned"]
    # Flask-Login's remember cookie is never set (sign_in keeps "remember me" in the
    # session cookie's lifetime) and cannot be partitioned; its flags follow the rule anyway.
    config["REMEMBER_COOKIE_HTTPONLY"] = flags["httponly"]
    config["REMEMBER_COOKIE_SECURE"] = flags["secure"]
    config["REMEMBER_COOKIE_SAMESITE"] = flags["samesite"]
    config["MAX_CONTENT_LENGTH"] = 256 * 1024

    # CSRF is checked by discuss.web.security, only for requests that carry cookies.
    config["WTF_CSRF_CHECK_DEFAULT"] = False
    config["WTF_CSRF_TIME_LIMIT"] = None
    config["WTF_CSRF_HEADERS"] = ["X-CSRF-Token", "X-CSRFToken"]
    config.setdefault("WTF_CSRF_ENABLED", True)

    redis_url = values["DISCUSS_REDIS_URL"]
    config["RATELIMIT_ENABLED"] = values["DISCUSS_RATELIMIT_ENABLED"]
    config["RATELIMIT_STORAGE_URI"] = redis_url or "memory://"
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = bool(redis_url)
    config["RATELIMIT_SWALLOW_ERRORS"] = True
    config["RATELIMIT_HEADERS_ENABLED"] = True
    config["RATELIMIT_KEY_PREFIX"] = "discuss"

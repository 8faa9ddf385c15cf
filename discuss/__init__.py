"""discuss: self-hosted comments for articles. ``create_app`` builds the Flask app in steps."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.ctx import RequestContext
from werkzeug.middleware.proxy_fix import ProxyFix

from discuss.config import apply_settings, load_settings
from discuss.extensions import one_request_at_a_time

ROOT = Path(__file__).resolve().parent.parent


class DiscussFlask(Flask):
    """Flask, with what it works out per call about each view and hook kept: every request
    asks whether each of its dozen hooks is a coroutine function (an inspection each time),
    and the answer never changes."""

    # The app's own views and hooks number a few hundred; a function made per request (an
    # after_this_request callback) is not kept once this many are.
    KEPT_FUNCTIONS = 2048

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync[func]
        except KeyError:
            wrapped = super().ensure_sync(func)
            if len(self._sync) < self.KEPT_FUNCTIONS:
                self._sync[func] = wrapped
            return wrapped
        except TypeError:  # unhashable
            return super().ensure_sync(func)

    def request_context(self, environ: dict) -> RequestContext:
        # A server that runs one request at a time per process keeps its single-read
        # connection between requests (extensions.one_read).
        one_request_at_a_time.set(environ.get("wsgi.multithread") is False)
        return super().request_context(environ)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (environment, then overrides), extensions, blueprints, CLI."""
    app = DiscussFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=os.environ.get("DISCUSS_INSTANCE_PATH") or str(ROOT / "instance"),
    )
    steps: list[Callable[[Flask, Mapping[str, Any] | None], None]] = [
        _configure,
        _init_extensions,
        _install_web_hooks,
        _register_blueprints,
        _register_cli,
        _warn_about_settings,
    ]
    for step in steps:
        step(app, overrides)
    return app


def _configure(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    values = load_settings(os.environ, overrides)
    apply_settings(app.config, values, app.instance_path)
    for name, value in (overrides or {}).items():
        if not name.startswith("DISCUSS_"):
            app.config[name] = value
    logging.basicConfig(level=app.config["DISCUSS_LOG_LEVEL"].upper())
    proxies = app.config["DISCUSS_TRUSTED_PROXIES"]
    if proxies:
        # Behind N proxies the reader's own address is the N-th from the right of
        # X-Forwarded-For (each proxy appends who it heard from); what a reader typed into the
        # header further left is ignored. With 0 nothing forwarded is trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies)
    # Alembic announces each of its plugins at INFO when Flask-Migrate loads it: seven lines
    # before every command's own output.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _init_extensions(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    from discuss.extensions import (
        configure_sqlite,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
        ping_idle_connections,
    )

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        ping_idle_connections(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)


def _install_web_hooks(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """The web edge's request hooks, template helpers and session events, in order: Flask runs
    after_request hooks last-registered first, so compression (first) sees the final body."""
    from discuss.web import dispatch, errors, language, moderate, security, sessions, training
    from discuss.web.infra import assets, compression, querystring, requestid, routing

    app.request_class = querystring.Request
    routing.init_app(app)
    for install in (compression.init_app, requestid.init_app, assets.init_app,
                    security.init_app, errors.init_app, language.init_app, sessions.init_app,
                    dispatch.init_app,
                    moderate.init_app, training.init_app):
        install(app)


def _register_blueprints(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Every blueprint, registered here and nowhere else."""
    from discuss.web import (
        admin,
        api,
        api_account,
        api_history,
        api_moderation,
        api_sso,
        auth,
        demo,
        embed,
        feeds,
        health,
        live,
        moderate,
        notify,
        pages,
    )

    for blueprint in (api.bp, api_account.bp, api_moderation.bp, api_history.bp, pages.bp,
                      health.bp, embed.bp, demo.bp, auth.bp, moderate.bp, admin.bp, notify.bp,
                      api_sso.bp, live.bp, feeds.bp):
        app.register_blueprint(blueprint)


def _warn_about_settings(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Say at start-up what a setting leaves weaker than an operator may assume (when the app
    is to serve requests: an admin command such as `discuss create-site` stays quiet)."""
    command = click.get_current_context(silent=True)
    if command is not None and command.info_name != "run":
        return
    if app.config["DISCUSS_RATELIMIT_ENABLED"] and not app.config["DISCUSS_REDIS_URL"]:
        logging.getLogger("discuss").warning(
            "DISCUSS_REDIS_URL is not set: rate limits are counted in each worker process "
            "separately, so with N workers (gunicorn -w N) a reader gets N times each limit. "
            "Set DISCUSS_REDIS_URL to share them.")


def _register_cli(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    from discuss.cli import discuss_cli
    from discuss.web.deliver import deliver_command

    # `deliver` builds mailed links, so it lives at the web edge; `send-mail` is its old name.
    discuss_cli.add_command(deliver_command, "deliver")
    discuss_cli.add_command(deliver_command, "send-mail")
    app.cli.add_command(discuss_cli)

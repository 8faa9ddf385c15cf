"""The web edge: blueprints, the per-request Actor, security headers and error answers."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from discuss.web import (
        api,
        assets,
        compression,
        errors,
        health,
        pages,
        querystring,
        requestid,
        security,
    )

    app.request_class = querystring.Request
    # after_request hooks run last-registered first: compression must see the final body.
    compression.init_app(app)
    requestid.init_app(app)
    assets.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    from discuss.web import embed

    app.register_blueprint(embed.bp)
    from discuss.web import demo

    app.register_blueprint(demo.bp)
    from discuss.web import api_account, api_sso, auth, sessions

    sessions.init_app(app)
    app.register_blueprint(api_account.bp)
    app.register_blueprint(api_sso.bp)
    app.register_blueprint(auth.bp)
    from discuss.web import moderate

    moderate.init_app(app)
    from discuss.web import admin

    app.register_blueprint(admin.bp)
    from discuss.web import notify

    notify.init_app(app)

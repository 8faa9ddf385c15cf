"""Browser fixtures: the real service on a port, a publisher's page on another origin, Chromium.

- ``live_service``: the app (fresh SQLite file, rate limits off unless ``live_settings`` says
  otherwise) served by werkzeug on http://127.0.0.1:<port>; ``.run(fn)`` seeds through the domain.
- ``host_server``: static pages on http://localhost:<port2>, a different origin *and site* from
  the service, as a publisher's article page would be.
- ``browser``: one headless Chromium per session (the Debian binary, never a downloaded one);
  ``context`` / ``page``: a fresh context and page per test, closed afterwards.
- ``blocked_cookies_context``: a factory for a persistent context whose profile blocks
  third-party cookies (as Safari does by default).
- ``console_errors(page)``: a list that collects the page's console errors and uncaught errors.

Mark tests with ``@pytest.mark.browser``; the root conftest skips them without Chromium.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from werkzeug.serving import make_server

from discuss import create_app
from discuss.extensions import db
from tests.legs import CHROMIUM

SECRET = "browser-test-secret-key-that-is-long-enough"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the service ---------------------------------------------------------------------------

@dataclass
class LiveService:
    """The running service: ``url`` (no trailing slash), the ``app``, and ``run(fn)``."""

    url: str
    app: Flask

    def run(self, fn: Callable[[], T]) -> T:
        """Call fn() in an app context and commit; return plain values (ids), not ORM rows."""
        with self.app.app_context():
            try:
                result = fn()
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            return result


@pytest.fixture
def live_settings() -> dict[str, Any]:
    """Override in a test module to change the live service's settings."""
    return {}


def start_service(tmp_path: Path, settings: dict[str, Any] | None = None,
                  port: int | None = None) -> tuple[LiveService, Callable[[], None]]:
    """Start the app on 127.0.0.1 in a background thread; returns it and a stop function."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    config = {
        "DISCUSS_DATABASE_URL": "sqlite:///" + str(tmp_path / "live.sqlite3"),
        "DISCUSS_SECRET_KEY": SECRET,
        "DISCUSS_PUBLIC_URL": url,
        "DISCUSS_RATELIMIT_ENABLED": False,
        **(settings or {}),
    }
    os.environ["DISCUSS_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-service", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()

    return LiveService(url=url, app=app), stop


@pytest.fixture
def live_service(tmp_path: Path, live_settings: dict[str, Any]) -> Iterator[LiveService]:
    service, stop = start_service(tmp_path, live_settings)
    try:
        yield service
    finally:
        stop()


# --- the publisher's page ------------------------------------------------------------------

@dataclass
class HostServer:
    """Static pages on another origin: ``page(path, html)`` registers one, ``url`` is the root."""

    url: str = ""
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def page(self, path: str, html: str, content_type: str = "text/html; charset=utf-8") -> str:
        """Serve html at path; returns the page's full URL."""
        if not path.startswith("/"):
            path = "/" + path
        self.pages[path] = (html.encode(), content_type)
        return self.url + path


def _handler_for(host: HostServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            host.requests.append(self.path)
            if path == "/favicon.ico":  # a publisher's site has one; Chromium asks for it
                self.send_response(204)
                self.end_headers()
                return
            found = host.pages.get(path)
            if found is None:
                self.send_error(404)
                return
            body, content_type = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def start_host_server() -> tuple[HostServer, Callable[[], None]]:
    host = HostServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(host))
    host.url = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="host-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return host, stop


@pytest.fixture
def host_server() -> Iterator[HostServer]:
    host, stop = start_host_server()
    try:
        yield host
    finally:
        stop()


# --- the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def launch_browser(driver):
    return driver.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                  args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the session; call ``browser.new_context(**kw)`` per test."""
    chromium = launch_browser(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


BLOCK_THIRD_PARTY_COOKIES = {"profile": {"block_third_party_cookies": True,
                                         "cookie_controls_mode": 1}}


@pytest.fixture
def blocked_cookies_context(playwright_driver, tmp_path_factory: pytest.TempPathFactory):
    """A factory: ``blocked_cookies_context(**kw)`` → a persistent context that blocks
    third-party cookies (profile preference written before launch); closed at teardown."""
    opened = []

    def open_context(**kwargs: Any):
        user_data_dir = tmp_path_factory.mktemp("profile")
        (user_data_dir / "Default").mkdir()
        (user_data_dir / "Default" / "Preferences").write_text(
            json.dumps(BLOCK_THIRD_PARTY_COOKIES))
        kwargs.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = playwright_driver.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, **kwargs)
        opened.append(ctx)
        return ctx

    yield open_context
    for ctx in opened:
        ctx.close()


@pytest.fixture
def console_errors() -> Callable[[Any], list[str]]:
    """``errors = console_errors(page)``: the page's console errors and uncaught exceptions
    (of every frame, iframes included) are appended to ``errors`` as they happen."""

    def watch(page) -> list[str]:
        errors: list[str] = []
        def on_console(msg) -> None:
            if msg.type == "error":
                errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        return errors

    return watch


@pytest.fixture
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored), for screenshots a human may want to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

"""Behind the shipped nginx (deploy/nginx.conf's proxy settings, a real nginx) the app sees
each reader's own address: a ban, a rate limit or a report of one reader never reaches
another. Readers are clients on different loopback addresses (127.0.0.2, 127.0.0.3, …).

Without DISCUSS_TRUSTED_PROXIES the forwarded headers are never believed."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from discuss import moderation, sites
from discuss.extensions import db
from discuss.models import Comment
from discuss.permissions import Actor
from discuss.web.security import ip_hash
from tests.accounts_helpers import make_user
from tests.browser.conftest import LiveService, free_port, start_service
from tests.legs import NGINX

DEPLOY_NGINX = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


def shipped_location_block() -> str:
    """The body of ``location / { … }`` in deploy/nginx.conf: the proxy settings as shipped."""
    text = DEPLOY_NGINX.read_text()
    start = text.index("location / {")
    depth, end = 0, start
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                end = index + 1
                break
    return text[start:end]


@dataclass
class Proxy:
    port: int

    def request(self, source: str, method: str, path: str, body: dict | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict | None]:
        """A request through nginx from the loopback address ``source``."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                                source_address=(source, 0))
        try:
            data = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=data, headers={
                "Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else None
        finally:
            connection.close()


def start_nginx(tmp_path: Path, app_port: int) -> tuple[Proxy, subprocess.Popen]:
    port = free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    config = prefix / "nginx.conf"
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config.write_text(f"""
daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
    upstream discuss_app {{
        server 127.0.0.1:{app_port};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        {shipped_location_block()}
    }}
}}
""")
    log = prefix / "error.log"
    process = subprocess.Popen([str(NGINX), "-p", str(prefix), "-c", str(config),
                                "-e", str(log)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(100):  # nginx starts within a few milliseconds; give up after 5 s
        if process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    return Proxy(port), process


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[LiveService, Proxy]]:
    service, stop_service = start_service(tmp_path, {
        "DISCUSS_TRUSTED_PROXIES": 1, "DISCUSS_RATELIMIT_ENABLED": True,
        "DISCUSS_RATELIMIT_POST": "3/minute"})
    app_port = int(service.url.rsplit(":", 1)[1])
    proxy, process = start_nginx(tmp_path, app_port)
    try:
        yield service, proxy
    finally:
        process.terminate()
        process.wait(timeout=10)
        stop_service()


def _seed() -> None:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.min_submit_seconds = 0
    make_user("moderator", moderator_of=[site])


def _comment(body: str, name: str) -> dict:
    return {"site": "demo", "key": "a1", "url": "https://news.example.com/a1",
            "body": body, "name": name}


@pytest.mark.nginx
def test_behind_nginx_a_ban_of_one_guest_leaves_other_readers_alone(behind_nginx):
    service, proxy = behind_nginx
    service.run(_seed)
    status, first = proxy.request("127.0.0.2", "POST", "/api/v1/comments",
                                  _comment("I am the troll", "Troll"))
    assert status == 201, first
    # A reader cannot pose as another by sending the header nginx appends to.
    status, second = proxy.request("127.0.0.3", "POST", "/api/v1/comments",
                                   _comment("I am a reader", "Reader"),
                                   headers={"X-Forwarded-For": "127.0.0.2"})
    assert status == 201, second

    def hashes() -> list[str]:
        return list(db.session.scalars(select(Comment.ip_hash).order_by(Comment.id)))

    troll_hash, reader_hash = service.run(hashes)
    with service.app.test_request_context():
        assert troll_hash == ip_hash("127.0.0.2")
        assert reader_hash == ip_hash("127.0.0.3")

    def ban_troll() -> None:
        from discuss.models import User

        moderator = db.session.scalar(select(User).where(User.username == "moderator"))
        moderation.ban_author(db.session.get(Comment, first["id"]), Actor(user=moderator))

    service.run(ban_troll)
    banned, error = proxy.request("127.0.0.2", "POST", "/api/v1/comments",
                                  _comment("Back again", "Troll"))
    assert banned == 403
    assert error["error"]["code"] == "banned"
    status, _ = proxy.request("127.0.0.3", "POST", "/api/v1/comments",
                              _comment("Still here", "Reader"))
    assert status == 201


@pytest.mark.nginx
def test_behind_nginx_rate_limits_count_each_reader_apart(behind_nginx):
    service, proxy = behind_nginx
    service.run(_seed)
    statuses = [proxy.request("127.0.0.4", "POST", "/api/v1/comments",
                              _comment(f"Flood {n}", "Flooder"))[0] for n in range(4)]
    assert statuses == [201, 201, 201, 429]
    status, _ = proxy.request("127.0.0.5", "POST", "/api/v1/comments",
                              _comment("My first word", "Calm"))
    assert status == 201


def test_without_trusted_proxies_forwarded_headers_are_ignored(client):
    response = client.get("/api/v1/me", headers={"X-Forwarded-For": "203.0.113.9"},
                          environ_base={"REMOTE_ADDR": "127.0.0.7"})
    assert response.status_code == 200
    from flask import request

    with client.application.test_request_context(
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"},
            environ_base={"REMOTE_ADDR": "127.0.0.7"}):
        assert request.remote_addr == "127.0.0.7"
        assert request.host == "localhost"


def test_the_shipped_deployment_trusts_exactly_one_proxy():
    gunicorn_conf = (DEPLOY_NGINX.parent / "gunicorn.conf.py").read_text()
    assert re.search(r'DISCUSS_TRUSTED_PROXIES", "1"', gunicorn_conf)
    block = shipped_location_block()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in block
    assert "X-Forwarded-Proto $scheme" in block


def test_without_redis_the_start_up_says_limits_are_per_worker(tmp_path, caplog):
    import logging

    from tests.browser.conftest import SECRET
    from tests.conftest import make_app

    with caplog.at_level(logging.WARNING, logger="discuss"):
        make_app("sqlite:///" + str(tmp_path / "a.sqlite3"), tmp_path,
                 DISCUSS_SECRET_KEY=SECRET)
    assert any("per worker" in r.getMessage() or "each worker process" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discuss"):
        make_app("sqlite:///" + str(tmp_path / "b.sqlite3"), tmp_path,
                 DISCUSS_REDIS_URL="redis://127.0.0.1:6379/2")
    assert not any("each worker process" in r.getMessage() for r in caplog.records)

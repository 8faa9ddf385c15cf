"""Many processes, one truth, and faults survived: real gunicorn processes on PostgreSQL + Redis.

Two app instances (separate gunicorn masters on different ports) share one PostgreSQL database
(test_production) and Redis database 14. The fault tests restart PostgreSQL and stop Redis for a
few seconds, so they are marked slow; services are always restored in a finally block.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop_process_group

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.processes]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_production"
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET = "production-test-secret-key-long-enough"
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port",
               "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]
ARTICLE = {"site": "demo", "url": "https://news.example.com/a", "title": "A"}


def call(method: str, url: str, body: dict | None = None, headers: dict | None = None,
         timeout: float = 15) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw.startswith(b"{") else None


def comment(key: str, text: str) -> dict:
    return {**ARTICLE, "key": key, "body": text, "name": "Reader"}


class Instance:
    def __init__(self, port: int, log: Path, **settings: str) -> None:
        self.port, self.log = port, log
        env = {**os.environ, "DISCUSS_DATABASE_URL": PG_URL, "DISCUSS_REDIS_URL": REDIS_URL,
               "DISCUSS_SECRET_KEY": SECRET, "DISCUSS_PUBLIC_URL": f"http://127.0.0.1:{port}",
               "DISCUSS_RATELIMIT_POST": "3/minute", "DISCUSS_DB_POOL_TIMEOUT": "3",
               "DISCUSS_INSTANCE_PATH": str(log.parent / "instance"), **settings}
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                 "--timeout", "20", "wsgi:app"],
                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if call("GET", self.url("/healthz"), timeout=2)[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet: poll again
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn on {port} did not start: {log.read_text()[-2000:]}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        stop_process_group(self.process, timeout=15)


def flask_cli(*args: str) -> str:
    env = {**os.environ, "DISCUSS_DATABASE_URL": PG_URL, "DISCUSS_SECRET_KEY": SECRET}
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout


def redis_cli(*args: str) -> str:
    return subprocess.run(["redis-cli", "-n", "14", *args], capture_output=True, text=True,
                          check=False, timeout=10).stdout


@pytest.fixture(scope="module")
def database() -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS test_production WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE test_production"))
    admin.dispose()
    from discuss import create_app
    from discuss.extensions import db

    schema_app = create_app({"DISCUSS_DATABASE_URL": PG_URL, "DISCUSS_SECRET_KEY": SECRET})
    with schema_app.app_context():
        db.create_all()
        db.engine.dispose()
    flask_cli("discuss", "create-site", "demo", "--origin", "https://news.example.com",
              "--moderation", "post")
    flask_cli("discuss", "create-user", "ann", "--email", "ann@example.com", "--password",
              "correct horse battery staple 42")


@pytest.fixture(scope="module")
def pair(database, tmp_path_factory) -> Iterator[tuple[Instance, Instance]]:
    logs = tmp_path_factory.mktemp("gunicorn")
    first = Instance(18101, logs / "a.log")
    try:
        second = Instance(18102, logs / "b.log")
    except RuntimeError:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture(autouse=True)
def fresh_limits(request) -> None:
    if "pair" in request.fixturenames:
        redis_cli("FLUSHDB")


def test_comment_posted_on_one_instance_is_visible_on_the_other_at_once(pair):
    first, second = pair
    status, posted = call("POST", first.url("/api/v1/comments"), comment("shared", "Hello"))
    assert status == 201
    status, thread = call("GET", second.url("/api/v1/threads?site=demo&key=shared"))
    assert status == 200
    assert [c["id"] for c in thread["comments"]] == [posted["id"]]


def page_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=15) as response:
        return response.read().decode()


def test_what_one_instance_keeps_for_readers_never_hides_a_comment_posted_on_the_other(pair):
    first, second = pair
    assert call("POST", first.url("/api/v1/comments"), comment("kept", "First"))[0] == 201
    thread_url, page_url = "/api/v1/threads?site=demo&key=kept", "/embed/demo?key=kept"
    for _ in range(2):  # the second instance builds the JSON and the page list, then keeps them
        assert [c["html"] for c in call("GET", second.url(thread_url))[1]["comments"]] == \
            ["<p>First</p>"]
        assert "<p>First</p>" in page_text(second.url(page_url))

    assert call("POST", first.url("/api/v1/comments"), comment("kept", "Second"))[0] == 201

    comments = call("GET", second.url(thread_url))[1]["comments"]
    assert [c["html"] for c in comments] == ["<p>First</p>", "<p>Second</p>"]
    assert "<p>Second</p>" in page_text(second.url(page_url))


def require_post_limits(instance: Instance) -> None:
    """Rate limits guard POST /api/v1/comments (they answer with X-RateLimit-* headers)."""
    probe = comment("probe", f"Probe {time.monotonic()}")
    request = urllib.request.Request(instance.url("/api/v1/comments"), method="POST",
                                     data=json.dumps(probe).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert "X-RateLimit-Limit" in response.headers
    redis_cli("FLUSHDB")


def test_rate_limit_counts_posts_made_on_both_instances(pair):
    first, second = pair
    require_post_limits(first)
    statuses = [call("POST", inst.url("/api/v1/comments"), comment("limits", f"Post {n}"))[0]
                for n, inst in enumerate([first, second, first, second])]
    assert statuses == [201, 201, 201, 429]


def test_session_made_on_one_instance_works_on_the_other(pair):
    first, second = pair
    status, signed_in = call("POST", first.url("/api/v1/auth/login"), {
        "login": "ann", "password": "correct horse battery staple 42"})
    assert status == 200
    status, me = call("GET", second.url("/api/v1/me"),
                      headers={"Authorization": f"Bearer {signed_in['token']}"})
    assert status == 200
    assert me["username"] == "ann"


def test_a_worker_killed_mid_request_leaves_the_others_serving(pair):
    first, _ = pair
    call("POST", first.url("/api/v1/comments"), comment("kill", "Before"))
    victim = first.workers()[0]
    os.kill(victim, signal.SIGKILL)
    statuses = [call("GET", first.url("/api/v1/threads?site=demo&key=kill"))[0]
                for _ in range(20)]
    assert statuses == [200] * 20
    assert victim not in first.workers()


def test_reading_and_posting_go_on_while_redis_is_down_and_limits_share_again_after(pair):
    first, second = pair
    require_post_limits(first)
    try:
        redis_cli("-n", "0", "SHUTDOWN", "NOSAVE")
        time.sleep(0.5)
        assert call("GET", first.url("/api/v1/threads?site=demo&key=shared"))[0] == 200
        assert call("POST", second.url("/api/v1/comments"),
                    comment("redis-down", "Still posting"))[0] == 201
    finally:
        subprocess.run(REDIS_START, check=True, timeout=20)
    logs = first.log.read_text() + second.log.read_text()
    assert "falling back to in-memory storage" in logs
    deadline = time.monotonic() + 40
    shared = False
    while time.monotonic() < deadline and not shared:
        redis_cli("FLUSHDB")
        statuses = [call("POST", inst.url("/api/v1/comments"),
                         comment("redis-back", f"Again {time.monotonic()}"))[0]
                    for inst in [first, second, first, second]]
        shared = statuses == [201, 201, 201, 429]
        if not shared:
            time.sleep(2)
    assert shared, "rate limits did not count across instances after Redis came back"


def test_postgres_restart_while_posting_loses_no_acknowledged_comment(database, tmp_path):
    instance = Instance(18103, tmp_path / "c.log", DISCUSS_RATELIMIT_ENABLED="0")
    acknowledged: list[int] = []
    refused: list[int] = []
    stop = threading.Event()

    def keep_posting(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                status, body = call("POST", instance.url("/api/v1/comments"),
                                    comment("restart", f"Post {worker}-{n}"), timeout=20)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                raise AssertionError(f"no answer from the service: {exc}") from exc
            (acknowledged.append(body["id"]) if status == 201 else refused.append(status))

    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            keep_posting(worker)
        except (AssertionError, KeyError, TypeError) as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(3)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
                       check=True, timeout=60)
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],
                       check=False, timeout=60, capture_output=True)
    try:
        assert not errors, errors
        assert set(refused) <= {503}, refused
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and status != 201:
            status, body = call("POST", instance.url("/api/v1/comments"),
                                comment("restart", "After the restart"))
            time.sleep(0.5)
        assert status == 201, "the service did not recover by itself"
        acknowledged.append(body["id"])
        status, _ = call("GET", instance.url("/healthz"))
        assert status == 200
    finally:
        instance.stop()
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT id FROM comments")).scalars())
    engine.dispose()
    assert acknowledged
    assert set(acknowledged) <= stored

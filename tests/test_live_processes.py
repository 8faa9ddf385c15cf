"""Live updates between real processes.

On PostgreSQL + Redis: the production command (gunicorn -c deploy/gunicorn.conf.py, which starts
the stream server) is one app instance, a plain gunicorn another; a stream open on the first's
stream server hears a comment posted on the second. Without Redis: the Flask dev server streams
within its process, and the stream server reads the events table.

The Redis database (pub/sub channel) is DISCUSS_TEST_LIVE_REDIS_URL, default db 4; the
PostgreSQL database DISCUSS_TEST_LIVE_DATABASE, default test_live.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import free_port
from tests.processes import stop_process_group

# Their own databases whichever leg runs: the PostgreSQL leg does not run them again.
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_NAME = os.environ.get("DISCUSS_TEST_LIVE_DATABASE", "test_live")
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_NAME}"
REDIS_URL = os.environ.get("DISCUSS_TEST_LIVE_REDIS_URL", "redis://127.0.0.1:6379/4")
SECRET = "live-test-secret-key-long-enough-for-it"
PASSWORD = "correct horse battery staple 42"
ARRIVES_WITHIN = 2.0  # seconds, the promise under test


def call(method: str, url: str, body: dict | None = None, headers: dict | None = None
         ) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw.startswith(b"{") else None


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-3000:]}")
        try:
            if call("GET", url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer: {log.read_text()[-3000:]}")


class Process:
    """A server process started in its own session (stopped with its children)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, health: str) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env},
                                            stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            wait_until_up(health, self.process, log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process_group(self.process, timeout=20)


class EventStream:
    """An open SSE stream read by a thread; events land in a queue (a browser's EventSource)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.connection.request("GET", f"{parts.path}?{parts.query}",
                                headers={"Accept": "text/event-stream", **(headers or {})})
        self.socket = self.connection.sock  # the response may take it over (Connection: close)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.events: queue.Queue = queue.Queue()
        self.lines: list[str] = []
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            while True:
                line = self.response.readline().decode()
                if not line:
                    return
                self.lines.append(line)
                line = line.rstrip("\n")
                if line:
                    if not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
                    continue
                if fields.get("event") == "comment":
                    self.events.put({"id": int(fields["id"]),
                                     "comment": json.loads(fields["data"])})
                fields = {}
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return  # closed by the test (http.client drops the file it read from)

    def next_event(self, within: float = ARRIVES_WITHIN) -> dict:
        try:
            return self.events.get(timeout=within)
        except queue.Empty:
            raise AssertionError(f"no event within {within} s; read: {self.lines}") from None

    def close(self) -> None:
        # The reading thread holds the response's file in readline() until the next line (a
        # keep-alive comes every 25 s): shut the socket first so that read ends now.
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.connection.close()


def flask_cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          check=True).stdout


def seed(env: dict[str, str]) -> str:
    """Two sites (post- and pre-moderated) and a moderator of the second; their API token."""
    flask_cli(env, "discuss", "create-site", "demo", "--origin", "https://news.example.com",
              "--moderation", "post")
    flask_cli(env, "discuss", "create-site", "held", "--origin", "https://news.example.com",
              "--moderation", "pre")
    flask_cli(env, "discuss", "create-user", "mod", "--email", "mod@example.com", "--password",
              PASSWORD, "--moderator-of", "held")
    return flask_cli(env, "discuss", "create-token", "mod").strip()


def comment(base: str, key: str, body: str, site: str = "demo", token: str | None = None
            ) -> dict:
    """Post through the JSON API (the body gets the thread's key: the duplicate guard)."""
    status, answer = call("POST", f"{base}/api/v1/comments", {
        "site": site, "key": key, "url": f"https://news.example.com/{key}", "title": key,
        "body": f"{body} ({key})", "name": "Reader"},
        {"Authorization": f"Bearer {token}"} if token else None)
    assert status == 201, answer
    return answer


# ---------------------------------------------------------------- PostgreSQL + Redis


@pytest.fixture(scope="module")
def instances(tmp_path_factory) -> Iterator[dict]:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    logs = tmp_path_factory.mktemp("live")
    env = {"DISCUSS_DATABASE_URL": PG_URL, "DISCUSS_REDIS_URL": REDIS_URL,
           "DISCUSS_SECRET_KEY": SECRET, "DISCUSS_RATELIMIT_ENABLED": "false",
           "DISCUSS_INSTANCE_PATH": str(logs / "instance")}
    flask_cli(env, "db", "upgrade")
    token = seed(env)
    first, second, stream_port = free_port(), free_port(), free_port()
    production = Process(
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        {**env, "DISCUSS_BIND": f"127.0.0.1:{first}", "DISCUSS_WORKERS": "2",
         "DISCUSS_STREAM_BIND": f"127.0.0.1:{stream_port}",
         "DISCUSS_PUBLIC_URL": f"http://127.0.0.1:{first}"},
        logs / "production.log", f"http://127.0.0.1:{first}/healthz")
    try:
        wait_until_up(f"http://127.0.0.1:{stream_port}/healthz", production.process,
                      logs / "production.log")
        other = Process(
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{second}",
             "wsgi:app"], {**env, "DISCUSS_PUBLIC_URL": f"http://127.0.0.1:{second}"},
            logs / "other.log", f"http://127.0.0.1:{second}/healthz")
    except BaseException:
        production.stop()
        raise
    try:
        yield {"app": f"http://127.0.0.1:{first}", "other": f"http://127.0.0.1:{second}",
               "streams": f"http://127.0.0.1:{stream_port}", "token": token,
               "production": production}
    finally:
        other.stop()
        production.stop()


def stream_url(base: str, key: str, site: str = "demo") -> str:
    return f"{base}/api/v1/threads/stream?site={site}&key={key}"


@pytest.mark.postgres
@pytest.mark.redis
def test_a_comment_posted_on_one_instance_reaches_a_stream_on_the_other_within_2s(instances):
    comment(instances["other"], "across", "The first comment makes the thread")
    stream = EventStream(stream_url(instances["streams"], "across"))
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        posted = comment(instances["other"], "across", "Hello from the other instance")
        event = stream.next_event()
        assert event["comment"]["id"] == posted["id"]
        assert event["comment"]["html"] == "<p>Hello from the other instance (across)</p>"
        assert event["comment"]["author"]["name"] == "Reader"
        assert "replies" not in event["comment"]
    finally:
        stream.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_reconnecting_stream_gets_what_it_missed_from_last_event_id(instances):
    comment(instances["app"], "resume", "Makes the thread")
    stream = EventStream(stream_url(instances["streams"], "resume"))
    seen = comment(instances["other"], "resume", "Seen live")
    last = stream.next_event()
    assert last["comment"]["id"] == seen["id"]
    stream.close()
    missed = [comment(instances["other"], "resume", f"Missed {n}")["id"] for n in range(2)]
    again = EventStream(stream_url(instances["streams"], "resume"),
                        {"Last-Event-ID": str(last["id"])})
    try:
        assert [again.next_event()["comment"]["id"] for _ in missed] == missed
        live = comment(instances["app"], "resume", "Live again")
        assert again.next_event()["comment"]["id"] == live["id"]
    finally:
        again.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_held_comment_is_never_streamed_and_is_once_approved(instances):
    token = instances["token"]
    comment(instances["other"], "queue", "The moderator opens the thread", "held", token)
    stream = EventStream(stream_url(instances["streams"], "queue", "held"))
    try:
        waiting = comment(instances["other"], "queue", "A guest's comment waits", "held")
        assert waiting["status"] == "pending"
        by_mod = comment(instances["other"], "queue", "The moderator again", "held", token)
        assert stream.next_event()["comment"]["id"] == by_mod["id"]  # the held one: skipped
        status, _ = call("POST", f"{instances['app']}/api/v1/moderation/actions",
                         {"ids": [waiting["id"]], "action": "approve"},
                         {"Authorization": f"Bearer {token}"})
        assert status == 200
        event = stream.next_event()
        assert (event["comment"]["id"], event["comment"]["status"]) == \
            (waiting["id"], "approved")
    finally:
        stream.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_the_stream_server_answers_unknown_threads_and_bad_ids_as_the_api_does(instances):
    status, answer = call("GET", stream_url(instances["streams"], "never-written"))
    assert (status, answer["error"]["code"]) == (404, "unknown_thread")
    status, answer = call("GET", stream_url(instances["streams"], "x", "no-such-site"))
    assert (status, answer["error"]["code"]) == (404, "unknown_site")
    comment(instances["app"], "bad-id", "Makes the thread")
    status, answer = call("GET", stream_url(instances["streams"], "bad-id"),
                          headers={"Last-Event-ID": "yesterday"})
    assert (status, answer["error"]["code"]) == (400, "invalid")


@pytest.mark.postgres
@pytest.mark.redis
def test_the_production_command_starts_the_stream_server_again_when_it_dies(instances):
    master = instances["production"].process.pid
    children = subprocess.run(["pgrep", "-P", str(master), "-f", "discuss.web.stream_server"],
                              capture_output=True, text=True, check=False).stdout.split()
    assert len(children) == 1
    os.kill(int(children[0]), signal.SIGKILL)
    comment(instances["app"], "restart", "Makes the thread")
    deadline = time.monotonic() + 90  # the app's imports take a while on a busy machine
    while True:
        try:
            stream = EventStream(stream_url(instances["streams"], "restart"))
            break
        except OSError:
            assert time.monotonic() < deadline, "the stream server did not come back"
            time.sleep(0.2)
    try:
        posted = comment(instances["other"], "restart", "After the restart")
        assert stream.next_event()["comment"]["id"] == posted["id"]
    finally:
        stream.close()


# ---------------------------------------------------------------- without Redis (SQLite)


# One SQLite database and dev server for the tests below (each writes its own thread).
@pytest.fixture(scope="module")
def sqlite_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("live-sqlite")


@pytest.fixture(scope="module")
def sqlite_env(sqlite_dir) -> dict[str, str]:
    env = {"DISCUSS_DATABASE_URL": f"sqlite:///{sqlite_dir / 'live.sqlite3'}",
           "DISCUSS_SECRET_KEY": SECRET, "DISCUSS_RATELIMIT_ENABLED": "false",
           "DISCUSS_INSTANCE_PATH": str(sqlite_dir / "instance"), "DISCUSS_REDIS_URL": ""}
    flask_cli(env, "db", "upgrade")
    seed(env)
    return env


@pytest.fixture(scope="module")
def dev_server(sqlite_env, sqlite_dir) -> Iterator[str]:
    port = free_port()
    server = Process([str(BIN / "flask"), "--app", "wsgi", "run", "--port", str(port)],
                     sqlite_env, sqlite_dir / "flask.log", f"http://127.0.0.1:{port}/healthz")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_the_flask_dev_server_streams_within_its_process_without_redis(dev_server):
    comment(dev_server, "dev", "Makes the thread")
    stream = EventStream(stream_url(dev_server, "dev"))
    try:
        posted = comment(dev_server, "dev", "Seen at once")
        assert stream.next_event()["comment"]["id"] == posted["id"]
    finally:
        stream.close()


def test_without_redis_the_stream_server_reads_the_events_table(dev_server, sqlite_env,
                                                                tmp_path):
    port = free_port()
    streams = Process([sys.executable, "-m", "discuss.web.stream_server", "--bind",
                       f"127.0.0.1:{port}"], sqlite_env, tmp_path / "streams.log",
                      f"http://127.0.0.1:{port}/healthz")
    try:
        comment(dev_server, "polled", "Makes the thread")
        stream = EventStream(stream_url(f"http://127.0.0.1:{port}", "polled"))
        try:
            posted = comment(dev_server, "polled", "Found by reading the table")
            assert stream.next_event()["comment"]["id"] == posted["id"]
        finally:
            stream.close()
    finally:
        streams.stop()

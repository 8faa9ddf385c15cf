"""gunicorn settings for discuss: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Sync workers: each request holds one database connection for its lifetime, which keeps the
pool arithmetic simple (workers × DISCUSS_DB_POOL_SIZE ≤ PostgreSQL's max_connections).

Live-update streams would each hold a sync worker, so the master also starts the stream server
(`python -m discuss.web.stream_server`, one asyncio process) on DISCUSS_STREAM_BIND (default
127.0.0.1:8001; empty: not started, e.g. when it runs under its own unit), restarts it if it
dies and stops it on exit. nginx sends /api/v1/threads/stream there (deploy/nginx.conf).
"""

import logging
import multiprocessing
import os
import subprocess
import sys
import threading

bind = os.environ.get("DISCUSS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DISCUSS_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A worker stuck longer than this is killed and replaced; the others keep serving.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Load the app in each worker after fork: no database connection is shared across processes.
preload_app = False
forwarded_allow_ips = os.environ.get("DISCUSS_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Behind deploy/nginx.conf: one proxy sets X-Forwarded-For/-Proto/-Host, so the app sees each
# reader's own address (bans, rate limits, reports). Read by the workers (they inherit it);
# set it in /etc/discuss/env to change it (e.g. 2 with a load balancer in front of nginx).
os.environ.setdefault("DISCUSS_TRUSTED_PROXIES", "1")
accesslog = "-"
errorlog = "-"
# The request id (from nginx's X-Request-ID, or made by discuss) on every access-log line.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


class StreamServer:
    """The stream server as a child of gunicorn's master: restarted when it dies."""

    def __init__(self, bind: str) -> None:
        self.bind = bind
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        self.process = self._spawn()
        threading.Thread(target=self._watch, name="stream-server-watch", daemon=True).start()

    def _spawn(self) -> subprocess.Popen:
        # The same interpreter and environment as gunicorn; the bind comes from the operator.
        return subprocess.Popen([sys.executable, "-m", "discuss.web.stream_server",  # noqa: S603
                                 "--bind", self.bind])

    def _watch(self) -> None:
        while not self.stopping.is_set():
            code = self.process.wait()
            if self.stopping.wait(1.0):
                return
            logging.getLogger("gunicorn.error").warning(
                "stream server exited (%s); starting it again", code)
            self.process = self._spawn()

    def stop(self) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


stream_server = StreamServer(os.environ.get("DISCUSS_STREAM_BIND", "127.0.0.1:8001"))


def when_ready(server) -> None:
    if stream_server.bind:
        stream_server.start()


def on_exit(server) -> None:
    stream_server.stop()

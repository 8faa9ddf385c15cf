"""Start and stop the services under test: each a gunicorn with the same workers, its own port."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

WORKERS = 2


def gunicorn_argv(gunicorn: Path, app: str, port: int) -> list[str]:
    return [str(gunicorn), "--workers", str(WORKERS), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60", app]


def http_get(url: str, headers: dict[str, str] | None = None,
             timeout: float = 30) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


class Server:
    """One gunicorn master; ``rss_per_worker()`` reads its workers' resident memory."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 log_path: Path, cwd: Path, ready_path: str = "/") -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.log_path, self.cwd, self.ready_path = log_path, cwd, ready_path
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, env={**os.environ, **self.env},
                                            cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                http_get(self.base + self.ready_path, timeout=2)
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("PPid:") and int(line.split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def rss_per_worker(self) -> list[float]:
        """Resident memory (MiB) of each worker, from /proc/<pid>/status VmRSS."""
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return sizes

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

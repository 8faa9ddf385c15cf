"""Thread reads with and without 1,000 open live-update streams (part of `make bench`).

The production command (gunicorn -c deploy/gunicorn.conf.py: 2 sync workers and the stream
server) serves the seeded database. wrk reads the 100-comment thread's JSON; then a second
process opens 1,000 streams of that thread on the stream server and holds them while wrk reads
again; then one comment is posted and every stream must receive it. Alone:
`python -m bench.live_bench` (SQLite, or DISCUSS_BENCH_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import load
from bench.data import SITE
from bench.seed import SECRET, seed_discuss
from bench.servers import Server, http_get

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
APP_PORT, STREAM_PORT = 18011, 18012
STREAMS = 1000
THREAD = "t100"
SECONDS = float(os.environ.get("DISCUSS_BENCH_SECONDS", "5"))


def stream_path() -> str:
    return f"/api/v1/threads/stream?site={SITE}&key={THREAD}"


def thread_path() -> str:
    return f"/api/v1/threads?site={SITE}&key={THREAD}"


# ------------------------------------------------------------------ the stream holder process


async def _hold_one(opened: asyncio.Queue, received: asyncio.Queue) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", STREAM_PORT, limit=2**20)
    writer.write(f"GET {stream_path()} HTTP/1.1\r\nHost: bench\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    await opened.put(b" 200 " in status)
    while line := await reader.readline():
        if line.startswith(b"event: comment"):
            await received.put(1)


async def _hold(count: int) -> None:
    opened: asyncio.Queue = asyncio.Queue()
    received: asyncio.Queue = asyncio.Queue()
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(_hold_one(opened, received)))
        await asyncio.sleep(0.002)  # open them over ~2 s, as readers would arrive
    ok = sum([await opened.get() for _ in range(count)])
    print(f"open {ok}", flush=True)
    got = 0
    while got < ok:
        await received.get()
        got += 1
    print(f"received {got}", flush=True)
    await asyncio.sleep(3600)


def hold_main(count: int) -> None:
    """``python -m bench.live_bench hold N``: open N streams, print "open N" and, once a
    comment reached every one, "received N"; then keep them open until killed."""
    asyncio.run(_hold(count))


# ------------------------------------------------------------------ the measurement


def production_server(database_url: str, work: Path) -> Server:
    env = {"DISCUSS_DATABASE_URL": database_url, "DISCUSS_SECRET_KEY": SECRET,
           "DISCUSS_RATELIMIT_ENABLED": "0", "DISCUSS_LOG_LEVEL": "WARNING",
           "DISCUSS_PUBLIC_URL": f"http://127.0.0.1:{APP_PORT}",
           "DISCUSS_INSTANCE_PATH": str(work / "instance"),
           "DISCUSS_BIND": f"127.0.0.1:{APP_PORT}", "DISCUSS_WORKERS": "2",
           "DISCUSS_STREAM_BIND": f"127.0.0.1:{STREAM_PORT}"}
    argv = [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--log-level",
            "warning", "--access-logfile", "/dev/null", "wsgi:app"]
    return Server("discuss-live", argv, env, APP_PORT, work / "live-gunicorn.log", ROOT,
                  ready_path="/healthz")


def _wait_for_stream_server() -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if http_get(f"http://127.0.0.1:{STREAM_PORT}/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass  # still importing
        time.sleep(0.5)
    raise RuntimeError("the stream server did not start")


def _read_thread() -> load.Result:
    script = load.get_script([thread_path()])
    load.run(f"http://127.0.0.1:{APP_PORT}", script, 1.0)
    return load.run(f"http://127.0.0.1:{APP_PORT}", script, SECONDS)


def _expect(holder: subprocess.Popen, word: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = holder.stdout.readline()
        if line.startswith(word):
            return int(line.split()[1])
        if not line and holder.poll() is not None:
            break
    raise RuntimeError(f"the stream holder did not say {word!r}")


def compare(database_url: str, work: Path) -> dict:
    """Thread-read latency without and with STREAMS open streams, and their delivery."""
    server = production_server(database_url, work)
    results: dict = {}
    try:
        server.start(timeout=180)  # the production command's two processes import a lot
        _wait_for_stream_server()
        results["without"] = _read_thread()
        holder = subprocess.Popen([sys.executable, "-m", "bench.live_bench", "hold",
                                   str(STREAMS)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            results["open"] = _expect(holder, "open", 120)
            results["with"] = _read_thread()
            started = time.monotonic()
            body = json.dumps({"site": SITE, "key": THREAD, "body": "Live bench comment",
                               "name": "Bench"}).encode()
            request = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                 "Content-Type: application/json", "--data-binary", "@-",
                 f"http://127.0.0.1:{APP_PORT}/api/v1/comments"],
                input=body, capture_output=True, check=False)
            results["post_status"] = request.stdout.decode()
            results["received"] = _expect(holder, "received", 60)
            results["fanout_seconds"] = time.monotonic() - started
        finally:
            holder.kill()
            holder.wait(timeout=10)
    finally:
        server.stop()
    return results


def render(results: dict) -> str:
    without, with_ = results["without"], results["with"]
    return "\n".join([
        f"Thread read ({THREAD} JSON, wrk 16 connections, 2 sync workers) with and without "
        f"{results['open']:,} open streams on the stream server:",
        "",
        "| | req/s | p50 | p99 |",
        "| --- | ---: | ---: | ---: |",
        f"| no streams | {without.rps:,.0f} | {without.p50_ms:.1f} ms | {without.p99_ms:.1f} ms |",
        f"| {results['open']:,} open streams | {with_.rps:,.0f} | {with_.p50_ms:.1f} ms | "
        f"{with_.p99_ms:.1f} ms |",
        "",
        f"p99 with / without: {with_.p99_ms / without.p99_ms:.2f}×. One comment posted then "
        f"reached {results['received']:,} streams in {results['fanout_seconds']:.2f} s "
        f"(post answered {results['post_status']}).",
    ])


def main() -> int:
    work = ROOT / "bench" / "results" / "work-live"
    work.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DISCUSS_BENCH_DATABASE_URL")
    if not url:
        for suffix in ("", "-wal", "-shm"):
            Path(str(work / "discuss.sqlite3") + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{work / 'discuss.sqlite3'}"
    seed_discuss(url)
    print(render(compare(url, work)))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"]:
        hold_main(int(sys.argv[2]))
    else:
        sys.exit(main())

"""`make bench` (SQLite) / `make bench-pg` (DISCUSS_BENCH_DATABASE_URL): discuss vs Isso.

Both services get the same data, the same server (gunicorn, 2 sync workers), the same load
generator (wrk, 16 connections) and the same duration per scenario. A hello-world Flask app
served the same way is the ceiling. Results go to bench/results/latest.md and stdout.

Settings (environment):
  DISCUSS_BENCH_DATABASE_URL  PostgreSQL URL for discuss (its tables are dropped and rebuilt)
  DISCUSS_BENCH_SECONDS       seconds per scenario (default 5)
  DISCUSS_BENCH_MILLION       1/0: the 1,000,000-comment figure (default 1)
  DISCUSS_BENCH_ISSO          1/0: benchmark Isso too (default 1)
  DISCUSS_BENCH_LIVE          1/0: thread reads with 1,000 open live streams (default 1)
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import live_bench, load
from bench.data import COUNT_KEYS, POST_KEY, SITE, THREAD_SIZES, plan_thread
from bench.seed import SECRET, add_million, reader_token, seed_discuss
from bench.servers import Server, gunicorn_argv, http_get

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "work"
ISSO_VENV = ROOT / "bench" / ".isso-venv"
VENV_BIN = Path(sys.executable).parent
PORTS = {"hello": 18001, "isso": 18002, "discuss": 18003}
SECONDS = float(os.environ.get("DISCUSS_BENCH_SECONDS", "5"))
WARMUP = 1.0
COMMENT_TEXT = ("Thanks for the article! I *really* liked the part about the [finale]"
                "(https://example.com/finale). Unique: %s")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def drain(server: Server) -> None:
    """Wait until the workers have worked off requests a previous scenario left queued."""
    http_get(server.base + server.ready_path, timeout=600)


def measure(server: Server, script: str) -> load.Result:
    drain(server)
    load.run(server.base, script, WARMUP)
    drain(server)
    result = load.run(server.base, script, SECONDS)
    result.load = os.getloadavg()[0]
    return result


# ------------------------------------------------------------------ machine and Isso


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return (f"{os.cpu_count()} cores, {model.group(1).strip() if model else 'unknown CPU'}, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def ensure_isso() -> Path | None:
    """Isso in its own venv (bench/.isso-venv); None with a note when it cannot be installed."""
    gunicorn = ISSO_VENV / "bin" / "gunicorn"
    if gunicorn.exists() and (ISSO_VENV / "bin" / "python").exists():
        return gunicorn
    log("installing Isso into bench/.isso-venv (python -m venv + pip)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(ISSO_VENV)], check=True)
        subprocess.run([str(ISSO_VENV / "bin" / "pip"), "install", "--quiet", "isso",
                        "gunicorn"], check=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        log(f"Isso could not be installed ({exc}); continuing without it")
        return None
    return gunicorn if gunicorn.exists() else None


def isso_version() -> str:
    out = subprocess.run([str(ISSO_VENV / "bin" / "pip"), "show", "isso"], capture_output=True,
                         text=True, check=False).stdout
    match = re.search(r"^Version: (.+)$", out, re.M)
    return match.group(1) if match else "?"


def isso_server(gunicorn: Path) -> Server:
    port = PORTS["isso"]
    db_path = WORK / "isso.sqlite3"
    db_path.unlink(missing_ok=True)
    config = WORK / "isso.cfg"
    config.write_text(
        "[general]\n"
        f"dbpath = {db_path}\n"
        f"host = http://127.0.0.1:{port}/\n"
        "notify = stdout\n"
        f"log-file = {WORK / 'isso.log'}\n"
        "[moderation]\nenabled = false\n"
        # Isso's guard is its rate limit; off, like discuss's for this benchmark.
        "[guard]\nenabled = false\n"
        f"[server]\nlisten = http://127.0.0.1:{port}/\n"
    )
    # Isso builds its database when a process first loads it: two workers doing that at once
    # on a new file can collide (UNIQUE constraint failed: preferences.key), so build it first.
    subprocess.run([str(gunicorn.parent / "python"), "-c", "import isso.run"],
                   env={**os.environ, "ISSO_SETTINGS": str(config)}, cwd=WORK,
                   capture_output=True, check=True, timeout=120)
    return Server("isso", gunicorn_argv(gunicorn, "isso.run:application", port),
                  {"ISSO_SETTINGS": str(config)}, port, WORK / "isso-gunicorn.log", WORK,
                  ready_path="/config")


def isso_post(base: str, uri: str, payload: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/new?uri={urllib.parse.quote(uri)}", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def seed_isso(server: Server) -> None:
    """The same plan as discuss, through Isso's own API (it keeps replies one level deep)."""
    plans = {key: plan_thread(size, seed=n) for n, (key, size) in
             enumerate(THREAD_SIZES.items())}
    for n, key in enumerate(COUNT_KEYS):
        plans[key] = plan_thread(n % 7, seed=100 + n)
    plans[POST_KEY] = plan_thread(3, seed=999)
    for key, plan in plans.items():
        uri = f"/{key}"
        if not plan:
            # An empty thread exists in Isso once a comment was posted and deleted; a
            # never-commented URI answers 200 with no replies all the same.
            continue
        ids: dict[int, int] = {}
        for planned in plan:
            payload = {"text": planned.body, "author": planned.name, "title": f"Article {key}",
                       "parent": ids.get(planned.parent) if planned.parent is not None else None}
            ids[planned.index] = isso_post(server.base, uri, payload)["id"]


# ------------------------------------------------------------------ scenarios


def discuss_thread_path(key: str, cursor: str | None = None) -> str:
    query = {"site": SITE, "key": key}
    if cursor:
        query["cursor"] = cursor
    return "/api/v1/threads?" + urllib.parse.urlencode(query)


def discuss_all_pages(server: Server, key: str) -> list[str]:
    paths, cursor = [], None
    while True:
        path = discuss_thread_path(key, cursor)
        status, body, _ = http_get(server.base + path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        paths.append(path)
        cursor = json.loads(body)["next_cursor"]
        if not cursor:
            return paths


def counts_path_discuss() -> str:
    return "/api/v1/counts?" + urllib.parse.urlencode(
        [("site", SITE)] + [("key", k) for k in COUNT_KEYS])


def isso_counts_script() -> str:
    body = json.dumps([f"/{k}" for k in COUNT_KEYS])
    return load.fixed_script("POST", "/count", body, {"Content-Type": "application/json"})


def run_discuss_scenarios(server: Server, results: dict, token: str) -> None:
    for key in THREAD_SIZES:
        results[f"json-{key}"] = measure(server, load.get_script([discuss_thread_path(key)]))
        log(f"discuss thread {key}: {results[f'json-{key}'].rps:.0f}/s")
    guest = {"X-Discuss-Guest": "b" * 40}
    results["json-t100-guest"] = measure(server, load.get_script([discuss_thread_path("t100")],
                                                                guest))
    results["json-t1000-guest"] = measure(server, load.get_script(
        [discuss_thread_path("t1000")], guest))
    signed_in = {"Authorization": f"Bearer {token}"}
    results["json-t100-user"] = measure(server, load.get_script([discuss_thread_path("t100")],
                                                               signed_in))
    pages = discuss_all_pages(server, "t1000")
    results["pages-t1000"] = len(pages)
    results["json-t1000-all"] = measure(server, load.get_script(pages))
    _, _, headers = http_get(server.base + discuss_thread_path("t1000"))
    etag = headers.get("ETag")
    if etag:
        results["json-t1000-304"] = measure(server, load.get_script(
            [discuss_thread_path("t1000")], {"If-None-Match": etag}))
    gz = {"Accept-Encoding": "gzip"}
    results["json-t100-gzip"] = measure(server, load.get_script([discuss_thread_path("t100")],
                                                               gz))
    results["json-t1000-gzip"] = measure(server, load.get_script(
        [discuss_thread_path("t1000")], gz))
    status, _, _ = http_get(server.base + f"/embed/{SITE}?key=t100")
    if status == 200:
        for key in ("t0", "t100", "t1000"):
            results[f"html-{key}"] = measure(server, load.get_script(
                [f"/embed/{SITE}?" + urllib.parse.urlencode({"key": key})]))
        # A guest with a key and a signed-in reader: the shared list with their own part.
        results["html-t100-guest"] = measure(server, load.get_script(
            [f"/embed/{SITE}?key=t100"], {"X-Discuss-Guest": "b" * 40}))
        results["html-t100-user"] = measure(server, load.get_script(
            [f"/embed/{SITE}?key=t100"], signed_in))
    else:
        results["html-note"] = f"/embed/{SITE}?key=… answered {status}: thread page not built"
    results["counts"] = measure(server, load.get_script([counts_path_discuss()]))
    body = json.dumps({"site": SITE, "key": POST_KEY, "body": COMMENT_TEXT, "name": "Bench"})
    results["post"] = measure(server, load.post_script("/api/v1/comments", body))
    log(f"discuss post: {results['post'].rps:.0f}/s")


def run_isso_scenarios(server: Server, results: dict) -> None:
    for key in THREAD_SIZES:
        script = load.get_script([f"/?uri=%2F{key}"])
        results[f"json-{key}"] = measure(server, script)
        log(f"isso thread {key}: {results[f'json-{key}'].rps:.1f}/s")
    results["counts"] = measure(server, isso_counts_script())
    body = json.dumps({"text": COMMENT_TEXT, "author": "Bench"})
    results["post"] = measure(server, load.post_script(f"/new?uri=%2F{POST_KEY}", body))
    log(f"isso post: {results['post'].rps:.0f}/s")


# ------------------------------------------------------------------ bytes a reader downloads


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def discuss_bytes(server: Server, key: str) -> tuple[int, list[str]]:
    """The iframe page, every stylesheet, script and image it references, and embed.js."""
    status, page, _ = http_get(server.base + f"/embed/{SITE}?" + urllib.parse.urlencode(
        {"key": key}))
    if status != 200:
        _, data, _ = http_get(server.base + discuss_thread_path(key))
        return gzip_size(data), ["thread JSON only (no thread page yet)"]
    total, parts = gzip_size(page), ["iframe page"]
    text = page.decode()
    urls = set(re.findall(r'<(?:script|img)[^>]+src="(/[^"]+)"', text))
    # What a browser fetches: stylesheets and icons, not a feed named by rel="alternate".
    for link in re.findall(r"<link\b[^>]*>", text):
        rel = re.search(r'rel="([^"]+)"', link)
        href = re.search(r'href="(/[^"]+)"', link)
        if rel and href and set(rel.group(1).split()) & {"stylesheet", "icon"}:
            urls.add(href.group(1))
    urls.add("/embed.js")
    avatars = 0
    for url in sorted(urls):
        status, data, _ = http_get(server.base + url.replace("&amp;", "&"))
        if status == 200:
            total += gzip_size(data)
            if url.startswith("/avatars/"):
                avatars += 1
            else:
                parts.append(url.split("?")[0])
    if avatars:
        parts.append(f"{avatars} avatar{'s' if avatars != 1 else ''}")
    return total, parts


def isso_bytes(server: Server, key: str) -> int:
    client = (next((ISSO_VENV / "lib").glob("python*/site-packages/isso/js/embed.min.js"))
              .read_bytes())
    _, config, _ = http_get(server.base + "/config")
    _, thread, _ = http_get(server.base + f"/?uri=%2F{key}")
    return gzip_size(client) + gzip_size(config) + gzip_size(thread)


# ------------------------------------------------------------------ the run


def discuss_server(database_url: str) -> Server:
    port = PORTS["discuss"]
    env = {
        "DISCUSS_DATABASE_URL": database_url,
        "DISCUSS_SECRET_KEY": SECRET,
        "DISCUSS_RATELIMIT_ENABLED": "0",
        "DISCUSS_LOG_LEVEL": "WARNING",
        "DISCUSS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DISCUSS_INSTANCE_PATH": str(WORK / "instance"),
    }
    return Server("discuss", gunicorn_argv(VENV_BIN / "gunicorn", "wsgi:app", port), env, port,
                  WORK / "discuss-gunicorn.log", ROOT, ready_path="/healthz")


def copy_database(url: str, sqlite_target: Path) -> str:
    """A copy of the small database (SQLite file, or PostgreSQL ``CREATE DATABASE … TEMPLATE``)
    for the 1,000,000 comments, so that both can be measured turn about."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(str(sqlite_target) + suffix).unlink(missing_ok=True)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as src, \
                sqlite3.connect(sqlite_target) as dst:
            src.backup(dst)
        return f"sqlite:///{sqlite_target}"
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.engine import make_url

    source = make_url(url)
    name = f"{source.database}_million"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :db AND pid <> pg_backend_pid()"),
                         {"db": source.database})
            conn.execute(sql(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    finally:
        admin.dispose()
    return source.set(database=name).render_as_string(hide_password=False)


MILLION_ROUNDS = 3


def compare_million(small_url: str, big_url: str, million: dict) -> None:
    """The same thread requests on the small and the 1,000,000-comment database, turn about,
    MILLION_ROUNDS times; the median of each is kept (drift on a shared machine hits both)."""
    keys = ("t100", "t1000")
    runs: dict[str, list[load.Result]] = {}
    for _ in range(MILLION_ROUNDS):
        for label, url in (("small", small_url), ("big", big_url)):
            server = discuss_server(url)
            try:
                server.start()
                for key in keys:
                    runs.setdefault(f"{label}-json-{key}", []).append(
                        measure(server, load.get_script([discuss_thread_path(key)])))
                if label == "big" and "json-filler" not in million:
                    million["json-filler"] = measure(server, load.get_script(
                        [discuss_thread_path(f"filler-{n}") for n in range(0, 20_000, 997)]))
            finally:
                server.stop()
    for name, results in runs.items():
        million[name] = sorted(results, key=lambda r: r.p50_ms)[len(results) // 2]
    log("1M vs small p50: " + ", ".join(
        f"{key} {million[f'big-json-{key}'].p50_ms:.1f}/{million[f'small-json-{key}'].p50_ms:.1f}"
        for key in keys))


def main() -> int:
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    pg_url = os.environ.get("DISCUSS_BENCH_DATABASE_URL")
    database = "PostgreSQL" if pg_url else "SQLite"
    small_url = pg_url or f"sqlite:///{WORK / 'discuss.sqlite3'}"
    if not pg_url:
        for suffix in ("", "-wal", "-shm"):
            Path(str(WORK / "discuss.sqlite3") + suffix).unlink(missing_ok=True)
    want_million = flag("DISCUSS_BENCH_MILLION", True)
    want_isso = flag("DISCUSS_BENCH_ISSO", True)
    log(f"machine: {machine()}; discuss on {database}; {SECONDS:g} s per scenario")

    hello = Server("hello", gunicorn_argv(VENV_BIN / "gunicorn", "bench.hello:app",
                                          PORTS["hello"]), {}, PORTS["hello"],
                   WORK / "hello-gunicorn.log", ROOT)
    try:
        hello.start()
        hello_result = measure(hello, load.get_script(["/"]))
    finally:
        hello.stop()
    log(f"hello world: {hello_result.rps:.0f}/s")

    isso: dict = {}
    notes: list[str] = []
    isso_gunicorn = ensure_isso() if want_isso else None
    if isso_gunicorn is not None:
        server = isso_server(isso_gunicorn)
        try:
            server.start()
            seed_isso(server)
            run_isso_scenarios(server, isso)
            isso["rss"] = server.rss_per_worker()
            isso["bytes-t0"] = isso_bytes(server, "t0")
            isso["bytes-t100"] = isso_bytes(server, "t100")
            isso["version"] = isso_version()
        finally:
            server.stop()
    else:
        notes.append("Isso was not benchmarked (not installed or DISCUSS_BENCH_ISSO=0).")

    log("seeding discuss")
    seed_discuss(small_url)
    token = reader_token(small_url)
    ours: dict = {}
    server = discuss_server(small_url)
    try:
        server.start()
        run_discuss_scenarios(server, ours, token)
        ours["rss"] = server.rss_per_worker()
        ours["bytes-t0"] = discuss_bytes(server, "t0")
        ours["bytes-t100"] = discuss_bytes(server, "t100")
    finally:
        server.stop()

    live_section = ""
    if flag("DISCUSS_BENCH_LIVE", True):
        log(f"thread reads with and without {live_bench.STREAMS:,} open streams")
        live_section = live_bench.render(live_bench.compare(small_url, WORK))
    else:
        notes.append("The live-streams figure was skipped (DISCUSS_BENCH_LIVE=0).")

    million: dict = {}
    if want_million:
        big_url = copy_database(small_url, WORK / "discuss-million.sqlite3")
        log("adding 1,000,000 comments in 20,000 threads")
        million["total"], million["seconds"] = add_million(big_url)
        log(f"  {million['total']:,} comments in {million['seconds']:.0f} s")
        compare_million(small_url, big_url, million)
    else:
        notes.append("The 1,000,000-comment figure was skipped (DISCUSS_BENCH_MILLION=0).")

    report = render(hello_result, ours, isso, million, notes, database,
                    time.monotonic() - started)
    if live_section:
        report += f"\n## Live updates\n\n{live_section}\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    print(report)
    return 0


# ------------------------------------------------------------------ the table


def _cell(result: load.Result | None) -> str:
    if result is None:
        return "– | – | –"
    flag_text = "" if result.ok else f" ⚠ {result.bad_status} bad, {result.socket_errors} err"
    return f"{result.rps:,.1f}{flag_text} | {result.p50_ms:.1f} | {result.p99_ms:.1f}"


def _ratio(ours: load.Result | None, theirs: load.Result | None, per: float = 1.0) -> str:
    if ours is None or theirs is None or not theirs.rps:
        return "–"
    return f"{ours.rps / per / theirs.rps:,.1f}×"


def _share(result: load.Result | None, hello: load.Result) -> str:
    return f"{100 * result.rps / hello.rps:.0f}%" if result and hello.rps else "–"


def render(hello: load.Result, ours: dict, isso: dict, million: dict, notes: list[str],
           database: str, elapsed: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pages = ours.get("pages-t1000", 1)
    lines = [
        f"# discuss benchmark, {when}",
        "",
        f"Machine: {machine()}. discuss on {database}; Isso {isso.get('version', '–')} on "
        "SQLite (its only database). Both behind gunicorn, 2 sync workers; wrk, "
        f"{load.CONNECTIONS} connections, {SECONDS:g} s per scenario after a "
        f"{WARMUP:g} s warm-up. Rate limits off on both; latencies in ms; load: the "
        "machine's 1-minute load average as the scenario ended (the run itself adds about 2–3).",
        "",
        "| scenario | discuss req/s | p50 | p99 | Isso req/s | p50 | p99 | discuss/Isso "
        "| discuss % of hello | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| hello-world Flask (ceiling) | {_cell(hello)} | – | – | – | – | 100% "
        f"| {hello.load:.1f} |",
    ]

    def row(label: str, ours_key: str, isso_key: str | None, per: float = 1.0) -> None:
        mine = ours.get(ours_key)
        theirs = isso.get(isso_key) if isso_key else None
        lines.append(f"| {label} | {_cell(mine)} | {_cell(theirs)} | "
                     f"{_ratio(mine, theirs, per)} | {_share(mine, hello)} | "
                     f"{mine.load if mine else 0:.1f} |")

    row("thread JSON, 0 comments", "json-t0", "json-t0")
    row("thread JSON, 100 comments", "json-t100", "json-t100")
    row("thread JSON, 1,000 comments, first page", "json-t1000", "json-t1000")
    row(f"thread JSON, 1,000 comments, every page ({pages} requests; "
        "ratio per whole thread)", "json-t1000-all", "json-t1000", per=pages)
    row("thread JSON, 100, as a guest with a key", "json-t100-guest", "json-t100")
    row("thread JSON, 100, signed in (3 votes in it)", "json-t100-user", "json-t100")
    row("thread JSON, 1,000, first page, as a guest with a key", "json-t1000-guest",
        "json-t1000")
    row("thread JSON, 1,000, first page, If-None-Match → 304", "json-t1000-304", None)
    row("thread JSON, 100 comments, gzip", "json-t100-gzip", None)
    row("thread JSON, 1,000 first page, gzip", "json-t1000-gzip", None)
    if "html-note" in ours:
        lines.append(f"| thread page HTML | {ours['html-note']} | | | | | | | | |")
    else:
        row("thread page HTML (/embed), 0 comments", "html-t0", None)
        row("thread page HTML (/embed), 100 comments", "html-t100", None)
        row("thread page HTML (/embed), 1,000 comments", "html-t1000", None)
        row("thread page HTML (/embed), 100, as a guest with a key", "html-t100-guest", None)
        row("thread page HTML (/embed), 100, signed in (3 votes in it)", "html-t100-user",
            None)
    row("post a comment (spam rules on, rate limits off)", "post", "post")
    row("counts for 20 keys", "counts", "counts")
    lines.append("")

    def rss(values: list[float] | None) -> str:
        return ", ".join(f"{v:.0f}" for v in values) + " MiB" if values else "–"

    lines.append(f"Resident memory per worker after the run: discuss {rss(ours.get('rss'))}; "
                 f"Isso {rss(isso.get('rss'))}.")
    lines.append("")
    for key, label in (("bytes-t0", "an empty thread"), ("bytes-t100", "a 100-comment thread")):
        size, parts = ours.get(key, (0, []))
        theirs = isso.get(key)
        theirs_text = (f"Isso {theirs / 1024:.1f} kB (embed.min.js, /config, thread JSON)"
                       if theirs else "Isso –")
        lines.append(f"Bytes a reader downloads to show {label} (gzip): discuss "
                     f"{size / 1024:.1f} kB ({', '.join(parts)}); {theirs_text}.")
    lines.append("")
    if million:
        lines.append(f"1,000,000 comments: {million['total']:,} comments in "
                     f"{20_000 + len(THREAD_SIZES) + len(COUNT_KEYS) + 1:,} threads, added in "
                     f"{million['seconds']:.0f} s.")
        lines.append(f"(each the median of {MILLION_ROUNDS} runs, small and big database "
                     "turn about)")
        lines.append("")
        lines.append("| thread JSON | small DB p50 | 1M DB p50 | small DB req/s | 1M DB req/s "
                     "| change in p50 |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for key, label in (("json-t100", "100 comments"), ("json-t1000", "1,000, first page")):
            small, big = million.get(f"small-{key}"), million.get(f"big-{key}")
            if small and big:
                change = 100 * (big.p50_ms - small.p50_ms) / small.p50_ms if small.p50_ms else 0
                lines.append(f"| {label} | {small.p50_ms:.1f} | {big.p50_ms:.1f} | "
                             f"{small.rps:,.0f} | {big.rps:,.0f} | {change:+.0f}% |")
        filler = million.get("json-filler")
        if filler:
            lines.append(f"| 50-comment filler threads (21 different) | – | "
                         f"{filler.p50_ms:.1f} | – | {filler.rps:,.0f} | – |")
        lines.append("")
    lines.extend(f"Note: {n}" for n in notes)
    lines.append(f"Whole run: {elapsed / 60:.1f} minutes.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

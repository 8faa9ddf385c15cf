"""`make bench-import`: generate a Disqus export of about 100 MB and import it, reporting the
comments imported per second and the import's peak resident memory (the SPEC asks ≤ 300 MB).

The import runs as an admin would run it (`flask --app wsgi discuss import`), in a child process
on a fresh SQLite database in bench/results/import-work/; its peak RSS is the child's own
(os.wait4). Results go to bench/results/import.md and stdout.

Settings (environment):
  DISCUSS_BENCH_IMPORT_MB   size of the generated export in MB (default 100)
  DISCUSS_BENCH_IMPORT_GZ   1: import the export gzip-compressed, as Disqus hands it out (0)
"""

from __future__ import annotations

import gzip
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "results" / "import-work"
RESULT = ROOT / "bench" / "results" / "import.md"
FLASK = Path(sys.executable).parent / "flask"
START = datetime(2012, 1, 1, tzinfo=UTC)
_TEXT = """the of and to in is it that was for on are as with his they at be this from have or
by one had not but what all were when we there can an your which their said if do will each
about how up out them then she many some so these would other into has more her two like him
see time could no make than first been its who now people my made over did down only way find
use may water long little very after words called just where most know season episode review
actor scene plot character finale"""
WORDS = tuple(_TEXT.split())
HEADER = ('<?xml version="1.0" encoding="utf-8"?>\n'
          '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
          '  <category dsq:id="1">\n    <forum>bench</forum>\n    <title>General</title>\n'
          "    <isDefault>true</isDefault>\n  </category>\n")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    if rng.random() < 0.2:
        words[rng.randrange(len(words))] = f"<b>{rng.choice(WORDS)}</b>"
    if rng.random() < 0.1:
        words.append(f'<a href="https://example.org/{rng.choice(WORDS)}">link</a>')
    return " ".join(words).capitalize() + "."


def _message(rng: random.Random) -> str:
    paragraphs = ["<p>" + " ".join(_sentence(rng) for _ in range(rng.randint(1, 4))) + "</p>"
                  for _ in range(rng.randint(1, 3))]
    return "".join(paragraphs)


def generate(path: Path, megabytes: int) -> int:
    """Write a Disqus export of about ``megabytes`` MB (threads first, then posts); returns the
    number of posts."""
    rng = random.Random(14)
    target = megabytes * 1_000_000
    threads = max(1, megabytes * 40)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(threads):
            out.write(
                f'  <thread dsq:id="{1000 + n}">\n    <id>article-{n}</id>\n'
                f"    <forum>bench</forum>\n    <category dsq:id=\"1\" />\n"
                f"    <link>https://news.example.com/{2012 + n % 10}/story-{n}/</link>\n"
                f"    <title>Story {n}: {rng.choice(WORDS)} &amp; {rng.choice(WORDS)}</title>\n"
                f"    <createdAt>{(START + timedelta(hours=n)).isoformat()}</createdAt>\n"
                "    <isClosed>false</isClosed>\n    <isDeleted>false</isDeleted>\n  </thread>\n")
        posts = 0
        recent: dict[int, list[int]] = {}
        while out.tell() < target:
            thread = 1000 + rng.randrange(threads)
            post_id = 10_000_000 + posts
            earlier = recent.setdefault(thread, [])
            parent = (f'    <parent dsq:id="{rng.choice(earlier)}" />\n'
                      if earlier and rng.random() < 0.4 else "")
            spam = "true" if rng.random() < 0.03 else "false"
            deleted = "true" if rng.random() < 0.02 else "false"
            created = START + timedelta(minutes=posts)
            out.write(
                f'  <post dsq:id="{post_id}">\n    <id />\n'
                f"    <message><![CDATA[{_message(rng)}]]></message>\n"
                f"    <createdAt>{created.strftime('%Y-%m-%dT%H:%M:%SZ')}</createdAt>\n"
                f"    <isDeleted>{deleted}</isDeleted>\n    <isSpam>{spam}</isSpam>\n"
                f"    <author>\n      <email>reader{posts % 5000}@example.com</email>\n"
                f"      <name>Reader {posts % 5000}</name>\n"
                "      <isAnonymous>false</isAnonymous>\n"
                f"      <username>reader{posts % 5000}</username>\n    </author>\n"
                f"    <ipAddress>192.0.2.{posts % 250}</ipAddress>\n"
                f'    <thread dsq:id="{thread}" />\n{parent}  </post>\n')
            earlier.append(post_id)
            del earlier[:-20]
            posts += 1
        out.write("</disqus>\n")
    return posts


def run_import(export: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, the command's summary) of one import into a fresh database."""
    env = {**os.environ, "DISCUSS_INSTANCE_PATH": str(WORK / "instance"),
           "DISCUSS_DATABASE_URL": f"sqlite:///{WORK / 'instance' / 'bench.sqlite3'}",
           "DISCUSS_SECRET_KEY": "bench-import-secret-key-of-enough-length"}
    subprocess.run([str(FLASK), "--app", "wsgi", "db", "upgrade"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    subprocess.run([str(FLASK), "--app", "wsgi", "discuss", "create-site", "bench"], env=env,
                   cwd=ROOT, check=True, capture_output=True)
    log = WORK / "import.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        child = subprocess.Popen([str(FLASK), "--app", "wsgi", "discuss", "import", "bench",
                                  str(export)], env=env, cwd=ROOT, stdout=output,
                                 stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    summary = log.read_text()
    if child.returncode != 0:
        raise SystemExit(f"the import failed:\n{summary}")
    return seconds, usage.ru_maxrss / 1024, summary  # ru_maxrss is in KiB on Linux


def main() -> None:
    megabytes = int(os.environ.get("DISCUSS_BENCH_IMPORT_MB", "100"))
    packed = os.environ.get("DISCUSS_BENCH_IMPORT_GZ", "0") == "1"
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "instance").mkdir(parents=True)
    export = WORK / "disqus.xml"
    print(f"generating a {megabytes} MB Disqus export …", flush=True)
    posts = generate(export, megabytes)
    size = export.stat().st_size
    if packed:
        with export.open("rb") as raw, gzip.open(str(export) + ".gz", "wb") as out:
            shutil.copyfileobj(raw, out)
        export.unlink()
        export = Path(str(export) + ".gz")
    print(f"importing {posts:,} posts ({size / 1e6:.1f} MB"
          + (f", {export.stat().st_size / 1e6:.1f} MB gzip" if packed else "") + ") …",
          flush=True)
    seconds, peak, summary = run_import(export)
    imported = int(re.search(r"(\d+) comments", summary).group(1))
    lines = [
        f"# Import benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- machine: {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, SQLite",
        f"- export: Disqus XML, {size / 1e6:.1f} MB" + (" (imported gzip-compressed)"
                                                       if packed else "")
        + f", {posts:,} posts",
        f"- import: {seconds:.1f} s, **{imported / seconds:,.0f} comments/s**, "
        f"**peak RSS {peak:.0f} MB** (limit 300 MB)",
        "",
        "Summary printed by the import:",
        "",
        *[f"    {line}" for line in summary.strip().splitlines()],
        "",
    ]
    RESULT.write_text("\n".join(lines))
    print("\n".join(lines))
    export.unlink()
    shutil.rmtree(WORK / "instance", ignore_errors=True)


if __name__ == "__main__":
    main()

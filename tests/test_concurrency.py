"""Many readers posting at once on SQLite: every comment is acknowledged and counted."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from discuss import sites
from discuss.extensions import db
from discuss.models import Comment, Thread
from tests.browser.conftest import start_service


def _post(url: str, writer: int, n: int) -> int:
    payload = {"site": "demo", "key": "busy", "body": f"writer {writer} comment {n}",
               "name": f"Writer {writer}"}
    request = urllib.request.Request(
        url + "/api/v1/comments", data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_concurrent_posts_on_sqlite_are_all_acknowledged_and_counted(tmp_path):
    service, stop = start_service(tmp_path)
    try:
        service.run(lambda: sites.create_site("demo", moderation="post"))
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda i: _post(service.url, i // 15, i % 15), range(120)))
        assert statuses == [201] * 120

        def counts() -> tuple[int, int]:
            thread = db.session.query(Thread).filter_by(key="busy").one()
            return db.session.query(Comment).count(), thread.comment_count

        assert service.run(counts) == (120, 120)
    finally:
        stop()

"""An admin exports a site as WordPress WXR 1.2 and imports it into an empty site: the same
threads, nesting, names, times and statuses come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from defusedxml.ElementTree import parse
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from discuss import accounts, comments, reading, sites, threads
from discuss.extensions import db
from discuss.models import Comment, Site, Status, Thread
from discuss.permissions import Actor
from tests.conftest import guest, post
from tests.import_helpers import api_thread, run_import

WP = "{http://wordpress.org/export/1.2/}"
T0 = datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=UTC)


def _seed(site: Site) -> None:
    user = accounts.create_user("jess", "jess@example.com", "a long enough passphrase 42")
    user.display_name = "Jessica J."
    review = threads.get_or_create_thread(site, "2016/jessica-jones-season-2",
                                           "https://news.example.com/2016/jj-s2", "JJ & <S2>")
    top = post(review, "Do you think *Jessica* will appear?", name="Priya", now=T0)
    reply = post(review, "Only as a cameo. ]]> <script>", parent=top, name="Sam",
                 actor=guest("s" * 40), now=T0 + timedelta(minutes=1))
    post(review, "Agreed.", parent=reply, actor=Actor(user=user), now=T0 + timedelta(minutes=2))
    gone = post(review, "Regrettable", name="Regretful", actor=guest("r" * 40),
                now=T0 + timedelta(minutes=3))
    post(review, "Answering the regrettable", parent=gone, name="Kim", actor=guest("k" * 40),
         now=T0 + timedelta(minutes=4))
    comments.set_status(gone, Status.DELETED)
    for n, status in enumerate([Status.PENDING, Status.SPAM, Status.REJECTED], start=5):
        c = post(review, f"A {status} one", name=f"Author {n}", actor=guest(str(n) * 40),
                 now=T0 + timedelta(minutes=n))
        comments.set_status(c, status)
    top.pinned = True
    top.edited_at = T0 + timedelta(hours=1)
    closed = threads.get_or_create_thread(site, "closed-one", "https://news.example.com/c", "C")
    post(closed, "Before it closed", name="Early", now=T0 - timedelta(days=1))
    closed.closed = True
    threads.get_or_create_thread(site, "empty", "", "Nobody came")
    db.session.commit()


def _everything(site: Site) -> dict:
    """Every thread of the site with every comment, as ids-free tuples."""
    result = {}
    for thread in db.session.scalars(select(Thread).where(Thread.site_id == site.id)):
        rows = db.session.scalars(select(Comment).options(joinedload(Comment.author))
                                  .where(Comment.thread_id == thread.id)
                                  .order_by(Comment.created_at)).unique().all()
        names = {c.id: (reading.author_name(c), c.created_at) for c in rows}
        result[thread.key] = (thread.url, thread.title, thread.closed, thread.comment_count, [
            (names[c.id], names.get(c.parent_id), c.status, c.body, c.edited_at, c.pinned)
            for c in rows])
    return result


def test_a_wxr_export_imported_into_an_empty_site_gives_the_same_threads(runner, client, site,
                                                                         tmp_path):
    _seed(site)
    out = tmp_path / "demo.wxr.xml"
    result = runner.invoke(args=["discuss", "export", "demo", "--format", "wxr", "-o", str(out)])
    assert result.exit_code == 0, result.output
    copy = sites.create_site("copy", origins=["https://elsewhere.example"])
    db.session.commit()

    result = run_import(runner, out, slug="copy")
    assert result.exit_code == 0, result.output
    assert "Imported from wordpress: 3 threads (3 new), 9 comments" in result.output

    # Readers see the same discussions (ids aside) …
    for key in ("2016/jessica-jones-season-2", "closed-one", "empty"):
        original, imported = api_thread(client, key), api_thread(client, key, slug="copy")
        assert imported["thread"] == original["thread"]
        assert _without_ids(imported["comments"]) == _without_ids(original["comments"])
    # … and so do moderators: every status, time to the microsecond, body and pin.
    before, after = _everything(site), _everything(copy)
    assert after == before
    rows = after["2016/jessica-jones-season-2"][4]
    assert [row[0][0] for row in rows[:3]] == ["Priya", "Sam", "Jessica J."]
    assert {row[0][0]: row[2] for row in rows}["Author 7"] == Status.REJECTED


def _without_ids(items: list[dict]) -> list[dict]:
    """Comments as readers see them, but for ids, accounts and avatars (seeded by the account
    or browser, which an import does not bring along)."""
    return [{**{k: v for k, v in c.items() if k not in ("id", "parent_id", "author")},
             "author": {k: v for k, v in (c["author"] or {}).items()
                        if k not in ("username", "avatar_url")},
             "replies": _without_ids(c["replies"])} for c in items]


def test_the_wxr_file_is_what_wordpress_reads(runner, site, tmp_path):
    _seed(site)
    out = tmp_path / "demo.wxr.xml"
    assert runner.invoke(args=["discuss", "export", "demo", "--format", "wxr",
                               "-o", str(out)]).exit_code == 0
    channel = parse(out).getroot().find("channel")
    assert channel.findtext(f"{WP}wxr_version") == "1.2"
    assert channel.findtext(f"{WP}base_site_url") == "https://news.example.com"
    assert channel.find(f"{WP}author").findtext(f"{WP}author_login") == "discuss"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["JJ & <S2>", "C", "Nobody came"]
    review = items[0]
    assert review.findtext(f"{WP}post_type") == "post"
    assert review.findtext("link") == "https://news.example.com/2016/jj-s2"
    assert items[1].findtext(f"{WP}comment_status") == "closed"
    found = {c.findtext(f"{WP}comment_author"): c for c in review.findall(f"{WP}comment")}
    sam = found["Sam"]
    assert sam.findtext(f"{WP}comment_parent") == found["Priya"].findtext(f"{WP}comment_id")
    assert sam.findtext(f"{WP}comment_date_gmt") == "2026-11-30 08:16:30"
    assert sam.findtext(f"{WP}comment_content") == \
        "<p>Only as a cameo. ]]&gt; &lt;script&gt;</p>"
    assert sam.findtext(f"{WP}comment_approved") == "1"
    assert {name: c.findtext(f"{WP}comment_approved") for name, c in found.items()
            if name.startswith("Author") or name == "Regretful"} == {
        "Author 5": "0", "Author 6": "spam", "Author 7": "trash", "Regretful": "trash"}
    assert found["Jessica J."].findtext(f"{WP}comment_author_email") == "jess@example.com"


def test_the_json_export_is_still_the_default(runner, site, tmp_path):
    _seed(site)
    out = tmp_path / "demo.json"
    assert runner.invoke(args=["discuss", "export", "demo", "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith('{"format": "discuss-export"')

"""An admin moves a site's comments from Disqus: threads, nesting, names, times, statuses and
HTML come across; every messy case has a defined, counted outcome; a second run changes nothing."""

from __future__ import annotations

import gzip

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, Status, Thread
from tests import import_helpers as imports

MESSY = imports.DATA / "disqus-messy.xml"


def test_readers_see_the_disqus_discussion_with_its_nesting_and_placeholders(runner, client, site):
    data = imports.imported_thread(runner, client, MESSY, "/2016/jj-s2/")
    assert data["thread"]["url"] == "https://news.example.com/2016/jj-s2/?utm_source=feed"
    assert data["thread"]["title"] == "Jessica & Luke: Season 2"
    # Oldest first; the spam and the empty post are not shown; the deleted one keeps its place
    # above its reply; the reply that came before its parent in the file sits under it.
    assert imports.shape(data["comments"]) == [
        ("Priya", [("Sam", []), ("Ana", [])]),
        ("Lee", []),
        (None, [("Kim", [])]),
        ("bob42", []),
        ("Anonymous", []),
        ("Naive", []),
        ("Late", [("Early", [])]),
        ("Chef", []),
        ("Wanderer", []),
    ]
    seen = imports.by_author(data["comments"])
    assert seen["Priya"]["html"] == (
        '<p>Do you think <strong>Jessica</strong> will appear?</p>\n<p>I hope so<br>\nreally '
        '<a href="https://example.org/cast" rel="nofollow ugc noopener noreferrer" '
        'target="_blank">see the cast</a></p>')
    assert seen["Priya"]["created_at"] == "2016-03-01T10:00:00Z"
    assert seen["Sam"]["created_at"] == "2016-03-01T10:30:00Z"  # +02:00 stored as UTC
    assert seen["Naive"]["created_at"] == "2016-03-02T08:00:00Z"  # no zone: read as UTC
    assert seen["Chef"]["html"] == "<p>Fish &amp; chips &lt;3 *not emphasis*</p>"
    assert "email" not in str(data)
    assert "priya@example.com" not in str(data)


def test_each_messy_case_is_counted_in_the_summary(runner, site):
    result = imports.run_import(runner, MESSY)
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("Imported from disqus: 5 threads (5 new), 17 comments "
            "(15 approved, 1 spam, 1 deleted).") in out
    assert ("Skipped 6: 1 comment was empty; 1 comment had no readable time; 1 comment had "
            "no id; 1 comment named no thread of the file; 1 comment appeared twice in the file "
            "(the second was left out); 1 thread had no link, id or key.") in out
    for line in ["1 comment without a parent became top level.",
                 "1 reply to a comment of another thread became top level.",
                 "1 thread had the same key as another of the file and was merged into it.",
                 "1 thread without a link was keyed by its id.",
                 "1 thread deleted at the source was imported closed.",
                 "1 author without a name is shown as Anonymous.",
                 "1 time without a zone was read as UTC.",
                 "1 invalid email address was left out."]:
        assert line in out


def test_statuses_emails_and_thread_flags_are_kept(runner, site):
    imports.run_import(runner, MESSY)
    rows = {c.guest_name: c for c in db.session.scalars(select(Comment))}
    assert rows["Spammer"].status == Status.SPAM
    assert rows["Regretful"].status == Status.DELETED
    assert rows["Priya"].guest_email == "priya@example.com"
    assert rows["Chef"].guest_email == ""  # "not-an-email" left out
    threads = {t.key: t for t in db.session.scalars(select(Thread))}
    assert set(threads) == {"/2016/jj-s2/", "legacy-7", "/closed-story", "/gone", "/quiet"}
    assert threads["/closed-story"].closed
    assert threads["/gone"].closed
    assert not threads["/quiet"].closed
    assert threads["/quiet"].comment_count == 0
    assert threads["legacy-7"].url == ""
    # The export's own URL is kept even where the site does not list its origin.
    assert threads["/gone"].url == "http://old.example.com/gone"


def test_importing_the_same_file_again_adds_and_changes_nothing(runner, site):
    said = imports.import_twice(runner, MESSY)
    assert "0 comments." in said
    assert "17 comments were imported before and were left as they are." in said


def test_a_gzip_compressed_export_is_recognised_and_imported(runner, client, site, tmp_path):
    packed = tmp_path / "export.xml.gz"
    packed.write_bytes(gzip.compress(MESSY.read_bytes()))
    result = imports.run_import(runner, packed)
    assert result.exit_code == 0, result.output
    assert "Imported from disqus: 5 threads" in result.output
    assert imports.by_author(imports.api_thread(client, "/2016/jj-s2/")["comments"])["Sam"]


def test_key_url_and_key_id_choose_other_thread_keys(runner, site):
    result = imports.run_import(runner, MESSY, "--key", "id")
    assert result.exit_code == 0, result.output
    keys = set(db.session.scalars(select(Thread.key)))
    # <id> where the export has one, the path where it has none.
    assert keys == {"jj-s2", "jj-s2-amp", "legacy-7", "/closed-story", "/gone", "/quiet"}

    db.session.execute(Comment.__table__.delete())
    db.session.execute(Thread.__table__.delete())
    db.session.commit()
    result = imports.run_import(runner, MESSY, "--key", "url", "--format", "disqus")
    assert result.exit_code == 0, result.output
    keys = set(db.session.scalars(select(Thread.key)))
    assert "https://news.example.com/2016/jj-s2/?utm_source=feed" in keys
    assert "https://news.example.com/2016/jj-s2/" in keys  # the two links are two threads now


def test_a_very_long_message_is_shortened_and_counted(runner, client, site, tmp_path):
    long_text = "word " * 4000  # 20,000 characters
    path = tmp_path / "long.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
        '<thread dsq:id="1"><id/><link>https://news.example.com/long</link><title>Long</title>'
        "<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>\n"
        f'<post dsq:id="2"><message><![CDATA[<p>{long_text}</p>]]></message>'
        "<createdAt>2020-01-01T00:00:00Z</createdAt><isDeleted>false</isDeleted>"
        '<isSpam>false</isSpam><author><name>Verbose</name></author><thread dsq:id="1"/>'
        "</post>\n</disqus>\n")
    result = imports.run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert "1 comment over 10,000 characters was shortened." in result.output
    html = imports.api_thread(client, "/long")["comments"][0]["html"]
    assert html.startswith("<p>word word")
    assert html.endswith("…</p>")
    assert len(db.session.scalar(select(Comment.body))) <= 10_000


def test_posts_that_come_before_their_thread_wait_for_it(runner, client, site, tmp_path):
    text = MESSY.read_text()
    start, end = text.index("  <!-- an article;"), text.index("  <!-- HTML with a script")
    threads = text[start:end]
    path = tmp_path / "posts-first.xml"
    path.write_text(text.replace(threads, "").replace("</disqus>", threads + "</disqus>"))
    result = imports.run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert "17 comments (15 approved, 1 spam, 1 deleted)" in result.output
    assert "1 comment named no thread of the file" in result.output
    assert imports.shape(imports.api_thread(client, "/2016/jj-s2/")["comments"])[0] == \
        ("Priya", [("Sam", []), ("Ana", [])])


def test_a_later_export_adds_only_its_new_posts_under_their_parents(runner, client, site,
                                                                     tmp_path):
    assert imports.run_import(runner, MESSY).exit_code == 0
    later = tmp_path / "later.xml"
    later.write_text(MESSY.read_text().replace("</disqus>", """
  <post dsq:id="300">
    <message><![CDATA[<p>A year later.</p>]]></message>
    <createdAt>2017-03-01T10:00:00Z</createdAt>
    <isDeleted>false</isDeleted><isSpam>false</isSpam>
    <author><name>Latecomer</name></author>
    <thread dsq:id="102" />
    <parent dsq:id="202" />
  </post>
</disqus>"""))
    result = imports.run_import(runner, later)
    assert result.exit_code == 0, result.output
    assert "1 comment (1 approved)." in result.output
    assert imports.shape(imports.api_thread(client, "/2016/jj-s2/")["comments"])[0] == \
        ("Priya", [("Sam", [("Latecomer", [])]), ("Ana", [])])

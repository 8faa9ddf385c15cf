"""An admin moves a blog's comments from WordPress (WXR): approved, pending, spam and trashed
comments keep their status, pingbacks and trackbacks stay behind, and WordPress's HTML and line
breaks read as they did on the blog."""

from __future__ import annotations

from sqlalchemy import select

from discuss.extensions import db
from discuss.models import Comment, Status, Thread
from tests import import_helpers as imports

MESSY = imports.DATA / "wordpress-messy.xml"


def test_readers_see_the_wordpress_comments_as_they_were_on_the_blog(runner, client, site):
    data = imports.imported_thread(runner, client, MESSY, "/2016/04/luke-cage/")
    assert data["thread"]["title"] == "Luke Cage & Jessica: a review"
    assert data["thread"]["url"] == "https://news.example.com/2016/04/luke-cage/"
    assert data["thread"]["closed"] is False
    # The pending reply and the spam are hidden; the trashed comment stays as a placeholder
    # above its reply; the reply whose parent is not in the file is top level.
    assert imports.shape(data["comments"]) == [
        ("Priya", [("Ana", [])]),
        (None, [("Anonymous", [])]),
        ("Imported Long Ago", []),
        ("Orphan", []),
    ]
    priya = imports.by_author(data["comments"])["Priya"]
    assert priya["created_at"] == "2016-04-04T12:00:00Z"  # comment_date_gmt
    assert priya["html"] == (
        "<p>Great review!<br>\nSecond line.</p>\n"
        "<p>A new paragraph with <strong>bold</strong>, <em>emphasis</em> and "
        "<code>code</code>.</p>\n"
        "<blockquote>\n<p>Quoted words</p>\n</blockquote>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        '<p><a href="https://tracker.example/pixel.gif" rel="nofollow ugc noopener noreferrer" '
        'target="_blank">pixel</a> red</p>')
    # No zone-less GMT time: the local time, read as UTC.
    long_ago = imports.by_author(data["comments"])["Imported Long Ago"]
    assert long_ago["created_at"] == "2016-04-06T09:00:00Z"

    page = imports.api_thread(client, "/about/")
    assert page["thread"]["closed"] is True
    assert page["thread"]["title"] == "About & contact"
    assert page["comments"][0]["author"]["name"] == "Chef & Co"
    assert page["comments"][0]["html"] == "<p>Fish &amp; chips &lt;3</p>"


def test_statuses_follow_comment_approved_and_the_rest_is_counted(runner, site):
    result = imports.run_import(runner, MESSY)
    assert ("Imported from wordpress: 2 threads (2 new), 9 comments "
            "(1 pending, 6 approved, 1 spam, 1 deleted).") in result.output
    assert ("Skipped 4: 1 comment was empty; 2 pingbacks and trackbacks; 1 entry was not a "
            "reader's comment (e.g. an order note).") in result.output
    assert "1 comment without a parent became top level." in result.output
    assert "1 time without a zone was read as UTC." in result.output
    statuses = {c.guest_name: c.status for c in db.session.scalars(select(Comment))}
    assert statuses["Sam"] == Status.PENDING
    assert statuses["Cheap Pills"] == Status.SPAM
    assert statuses["Trashed"] == Status.DELETED
    assert "Another Blog" not in statuses
    assert "WooCommerce" not in statuses
    # Attachments and posts without comments are no discussions.
    assert set(db.session.scalars(select(Thread.key))) == {"/2016/04/luke-cage/", "/about/"}


def test_key_id_uses_the_post_id(runner, site):
    assert imports.run_import(runner, MESSY, "--key", "id").exit_code == 0
    assert set(db.session.scalars(select(Thread.key))) == {"10", "20"}


def test_importing_the_blog_again_changes_nothing(runner, site):
    said = imports.import_twice(runner, MESSY, "--format", "wordpress")
    assert "9 comments were imported before and were left as they are." in said


def test_a_blog_address_longer_than_the_id_column_still_imports_once(runner, site, tmp_path):
    long_base = "https://news.example.com/" + "blog/" * 80  # 425 characters
    path = tmp_path / "long.xml"
    path.write_text(MESSY.read_text().replace(
        "<link>https://news.example.com</link>", f"<link>{long_base}</link>", 1))
    said = imports.import_twice(runner, path)
    assert "9 comments were imported before and were left as they are." in said

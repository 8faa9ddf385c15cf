"""Atom feeds of a site and a thread, read back with feedparser as a feed reader would."""

from __future__ import annotations

from datetime import timedelta

import feedparser
from sqlalchemy import update

from discuss import comments, sites
from discuss.extensions import db
from discuss.models import Comment, Status, Thread, utcnow
from discuss.web.feeds import xml_text
from tests.conftest import guest, make_thread, post

ARTICLE = "https://news.example.com/a"


def read_feed(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


def test_the_site_feed_lists_published_comments_newest_first_with_their_links(
        client, site):
    thread = make_thread(site)
    start = utcnow() - timedelta(hours=2)
    first = post(thread, "First **thoughts**", name="Ann", now=start)
    second = post(thread, "A second one", name="Bo", now=start + timedelta(minutes=1))
    db.session.commit()

    _, feed = read_feed(client, "/feeds/demo/latest.atom")
    assert feed.version == "atom10"
    assert feed.feed.title == "Comments on demo"
    assert [e.link for e in feed.entries] == [f"{ARTICLE}#comment-{second.id}",
                                              f"{ARTICLE}#comment-{first.id}"]
    newest, oldest = feed.entries
    assert newest.title == "Bo on “An article”"
    assert newest.author == "Bo"
    assert oldest.content[0].type == "text/html"
    assert oldest.content[0].value == "<p>First <strong>thoughts</strong></p>"
    assert oldest.id.endswith(f":comment-{first.id}")
    assert oldest.published_parsed[:5] == start.timetuple()[:5]


def test_feeds_never_show_held_removed_or_shadowed_comments_nor_an_email(client, site):
    thread = make_thread(site)
    shown = comments.post_comment("demo", thread.key, guest(key="e" * 40), "Shown to all",
                                  name="Ann", email="ann@example.org")
    hidden = {status: post(thread, f"Hidden {status}") for status in
              (Status.PENDING, Status.SPAM, Status.REJECTED, Status.DELETED)}
    for status, comment in hidden.items():
        comments.set_status(comment, status)
    shadowed = post(thread, "Shadow banned")
    shadowed.shadowed = True
    db.session.commit()

    for path in ("/feeds/demo/latest.atom", "/feeds/demo/thread.atom?key=article-1"):
        response, feed = read_feed(client, path)
        assert [e.link for e in feed.entries] == [f"{ARTICLE}#comment-{shown.id}"]
        text = response.get_data(as_text=True)
        assert "ann@example.org" not in text
        assert "Hidden" not in text
        assert "Shadow banned" not in text


def test_a_feed_holds_the_50_latest_comments(client, site):
    thread = make_thread(site)
    start = utcnow() - timedelta(hours=3)
    made = [post(thread, now=start + timedelta(minutes=i)) for i in range(53)]
    db.session.commit()
    _, feed = read_feed(client, "/feeds/demo/latest.atom")
    assert len(feed.entries) == 50
    assert feed.entries[0].link.endswith(f"#comment-{made[-1].id}")
    assert feed.entries[-1].link.endswith(f"#comment-{made[3].id}")


def test_the_thread_feed_lists_one_thread_and_links_its_article(client, site):
    one = make_thread(site)
    other = make_thread(site, "article-2")
    in_one = post(one, "About one")
    post(other, "About the other")
    db.session.commit()
    _, feed = read_feed(client, "/feeds/demo/thread.atom?key=article-1")
    assert feed.feed.title == "Comments on An article"
    assert feed.feed.link == ARTICLE
    assert [e.link for e in feed.entries] == [f"{ARTICLE}#comment-{in_one.id}"]


def test_unknown_sites_and_threads_have_no_feed(client, site):
    make_thread(site)
    db.session.commit()
    for path in ("/feeds/nope/latest.atom", "/feeds/Bad_Slug!/latest.atom",
                 "/feeds/demo/thread.atom?key=no-such-article", "/feeds/demo/thread.atom",
                 "/feeds/demo/thread.atom?key=", "/feeds/nope/thread.atom?key=article-1"):
        assert client.get(path).status_code == 404, path


def test_a_feed_reader_revalidates_with_etag_and_last_modified(client, site):
    thread = make_thread(site)
    post(thread, "Before", now=utcnow() - timedelta(minutes=5))
    db.session.commit()
    first = client.get("/feeds/demo/latest.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/demo/latest.atom",
                      headers={"If-None-Match": etag}).status_code == 304
    unchanged = client.get("/feeds/demo/latest.atom", headers={"If-Modified-Since": modified})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""

    post(thread, "After")
    db.session.commit()
    changed = client.get("/feeds/demo/latest.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "After" in changed.get_data(as_text=True)
    assert client.get("/feeds/demo/latest.atom",
                      headers={"If-Modified-Since": modified}).status_code == 200


def test_hostile_names_titles_and_bodies_still_make_a_well_formed_feed(client, site):
    thread = make_thread(site)
    comment = post(thread, "Looks harmless", name="Mallory")
    db.session.commit()
    # As an old import could have left them: characters XML cannot hold, CDATA's end, markup.
    hostile = "A\x01B\x0bC\x1fD\ufffe]]><script>alert(1)</script>&amp;"
    db.session.execute(update(Comment).where(Comment.id == comment.id).values(
        guest_name=hostile[:64], html=f"<p>{hostile}</p>" + "<p>long</p>" * 2000))
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(
        title="]]>" + hostile, url=ARTICLE + "?a=1&b=<2>"))
    db.session.commit()

    for path in ("/feeds/demo/latest.atom", "/feeds/demo/thread.atom?key=article-1"):
        response, feed = read_feed(client, path)
        [entry] = feed.entries
        assert entry.author.startswith("ABCD]]><script>")
        assert entry.link == f"{ARTICLE}?a=1&b=<2>#comment-{comment.id}"
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
        assert entry.content[0].value.count("<p>long</p>") == 2000


def test_xml_text_drops_what_xml_cannot_carry():
    assert xml_text("a\x00b\x08c\ud800d\udfffe\ufffff\U0001f600\t\n") == "abcdef\U0001f600\t\n"


def test_the_thread_page_names_its_feed(client, site):
    thread = make_thread(site)
    post(thread, "Something to follow")
    db.session.commit()
    page = client.get("/embed/demo?key=article-1&url=https%3A%2F%2Fnews.example.com%2Fa")
    assert ('<link rel="alternate" type="application/atom+xml" title="Comments on An article" '
            'href="/feeds/demo/thread.atom?key=article-1">') in page.get_data(as_text=True)


def test_the_site_feed_title_uses_the_site_name(client, site):
    sites.update_site(site, name="Daily News")
    db.session.commit()
    _, feed = read_feed(client, "/feeds/demo/latest.atom")
    assert feed.feed.title == "Comments on Daily News"
    assert feed.entries == []

"""A reader with a guest key or an account: the thread as everyone sees it, built once, with
what is theirs (their comments, held ones included, their votes, their edit and delete links)
put in its place from one small query."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from flask import render_template, request
from sqlalchemy import event, select

from discuss import accounts, comments, reading, sites, threads, votes
from discuss.extensions import db, reader_engine
from discuss.models import Comment, Site, Status, Thread, utcnow
from discuss.permissions import ANONYMOUS, Actor
from discuss.web import embed
from discuss.web.infra.caching import bodies, json_bytes, thread_etag
from discuss.web.present import iter_nodes, page_json
from discuss.web.security import current_actor
from tests.conftest import guest, post

GUEST_KEY = "q" * 40
PASSWORD = "tangerine-violin-88-orbit"


@pytest.fixture
def site(app) -> Site:
    site = sites.create_site("demo", origins=["https://news.example.com"], moderation="post")
    site.min_submit_seconds = 0
    db.session.commit()
    return site


@pytest.fixture(autouse=True)
def one_minute(monkeypatch) -> None:
    # Shared lists are kept for the minute they were built in: stay in one minute.
    now = utcnow()
    monkeypatch.setattr(embed, "utcnow", lambda: now)


def page_url(key: str = "article-1") -> str:
    return "/embed/demo?" + urlencode({"key": key})


def json_url(key: str = "article-1") -> str:
    return "/api/v1/threads?" + urlencode({"site": "demo", "key": key})


def reader(name: str) -> tuple[Actor, dict[str, str]]:
    user = accounts.create_user(name, f"{name}@example.com", PASSWORD)
    raw, _ = accounts.create_api_token(user, "test", days=30)
    db.session.commit()
    return Actor(user=user), {"Authorization": f"Bearer {raw}"}


def thread_of(site: Site, n: int, key: str = "article-1") -> Thread:
    """n comments, a third of them replies, from a few guests."""
    thread = threads_make(site, key)
    roots = []
    for i in range(n):
        parent = roots[i % len(roots)] if roots and i % 3 == 2 else None
        comment = post(thread, f"Comment {key} {i}", parent=parent, name=f"Guest {i}",
                       actor=guest(key=f"{'k' * 39}{i % 5}"))
        if parent is None:
            roots.append(comment)
    db.session.commit()
    return thread


def threads_make(site: Site, key: str) -> Thread:
    return threads.get_or_create_thread(site, key, f"https://news.example.com/{key}", key)


def built_for(app, thread: Thread, actor: Actor) -> dict:
    """The JSON page as built for one reader from scratch (the slow way)."""
    with app.test_request_context("/"):
        page = reading.load_thread_page(thread, actor, secret=app.config["SECRET_KEY"],
                                        page_size=app.config["DISCUSS_PAGE_SIZE"])
        my_votes = (votes.my_votes(actor.user, [n.comment.id for n in iter_nodes(page.nodes)])
                    if actor.user is not None else None)
        return page_json(page, my_votes=my_votes)


def without_tokens(html: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return re.sub(r'<meta name="csrf-token" content="[^"]+"', "", html)


def kept_text(app) -> str:
    """Everything the process keeps for readers to share, as text."""
    with app.test_request_context("/"):
        kept = [value for value, _ in bodies()._items.values()]
    return "".join(item.html if isinstance(item, embed.SharedList)
                   else "".join(item.parts) if isinstance(item, embed.SharedFrame)
                   else item if isinstance(item, str) else item.decode() for item in kept)


def comment_list(html: str) -> str:
    return html[html.index('<ol id="discuss-comments"'):html.rindex("</ol>")]


# ---------------------------------------------------------------- the JSON


def test_a_readers_json_is_theirs_and_the_same_as_built_for_them(app, client, site):
    thread = thread_of(site, 12)
    carol, carol_headers = reader("carol")
    first = post(thread, "Carol's own", actor=carol)
    target = post(thread, "Carol likes this", actor=guest(key="z" * 40))
    mine_as_guest = post(thread, "A guest's own", actor=guest(key=GUEST_KEY))
    db.session.commit()
    votes.vote(target, carol, 1)
    db.session.commit()

    as_carol = client.get(json_url(), headers=carol_headers).get_json()
    as_guest = client.get(json_url(), headers={"X-Discuss-Guest": GUEST_KEY}).get_json()

    def by_id(page: dict) -> dict[int, dict]:
        found = {}

        def walk(items):
            for item in items:
                found[item["id"]] = item
                walk(item["replies"])
        walk(page["comments"])
        return found

    assert by_id(as_carol)[target.id]["my_vote"] == 1
    assert by_id(as_carol)[first.id]["mine"] is True
    assert "mine" not in by_id(as_carol)[mine_as_guest.id]
    assert by_id(as_guest)[mine_as_guest.id]["mine"] is True
    assert "my_vote" not in by_id(as_guest)[target.id]
    # Exactly what building the page for each of them gives.
    assert as_carol == built_for(app, thread, carol)
    assert as_guest == built_for(app, thread, guest(key=GUEST_KEY))


def test_a_readers_json_bytes_are_exactly_built_for_them_even_around_lookalike_text(
        app, client, site):
    """Made from everyone's bytes without parsing them: a comment whose text looks like the
    JSON of a comment, the reader's own deleted comment kept as a placeholder above a reply,
    and votes of theirs elsewhere in the thread change nothing but what is theirs."""
    thread = thread_of(site, 5)
    carol, carol_headers = reader("carol")
    lookalike = '{"id":1,"parent_id":null,"author":null,"html":"x"} {"id":2,"my_vote":0,'
    decoy = post(thread, lookalike, actor=guest(key="z" * 40), name='"author":null')
    gone = post(thread, "Carol's words, deleted later", actor=carol)
    post(thread, "A reply that keeps it in place", parent=gone, actor=guest(key="y" * 40))
    kept = post(thread, "Carol's kept words", actor=carol)
    other = threads_make(site, "article-2")
    elsewhere = post(other, "In another thread", actor=guest(key="x" * 40))
    db.session.commit()
    votes.vote(decoy, carol, -1)
    votes.vote(elsewhere, carol, 1)
    comments.delete_comment(gone, carol, default_window=3600)
    db.session.commit()

    answer = client.get(json_url(), headers=carol_headers)
    assert answer.status_code == 200
    assert answer.data == json_bytes(built_for(app, thread, carol))
    page = answer.get_json()
    found = {item["id"]: item for item in page["comments"]}
    assert found[decoy.id]["my_vote"] == -1
    assert "mine" not in found[decoy.id]
    assert found[gone.id]["author"] is None
    assert "mine" not in found[gone.id]
    assert found[kept.id]["mine"] is True
    assert found[kept.id]["my_vote"] == 0
    assert lookalike in found[decoy.id]["html"].replace("&quot;", '"')
    # Everyone's body, served to a reader without a key, still carries none of it.
    everyone = client.get(json_url()).data
    assert b'"my_vote"' not in everyone
    assert b'"mine"' not in everyone


def test_a_readers_own_held_comment_shows_to_them_only(app, client, site):
    thread = thread_of(site, 4)
    carol, carol_headers = reader("carol")
    held = post(thread, "Carol's pending words", actor=carol)
    held_guest = post(thread, "A guest's held reply", actor=guest(key=GUEST_KEY),
                      parent=thread_comments(thread)[0])
    comments.set_status(held, Status.PENDING)
    comments.set_status(held_guest, Status.PENDING)
    db.session.commit()

    anyone = client.get(json_url()).get_data(as_text=True)
    as_carol = client.get(json_url(), headers=carol_headers).get_json()
    as_guest = client.get(json_url(), headers={"X-Discuss-Guest": GUEST_KEY}).get_json()

    assert "pending words" not in anyone
    assert "held reply" not in anyone
    assert as_carol == built_for(app, thread, carol)
    assert next(c for c in as_carol["comments"] if c["id"] == held.id)["status"] == "pending"
    assert "held reply" in str(as_guest)
    assert "pending words" not in str(as_guest)

    # Without JavaScript: the page shows it in place, marked as waiting.
    page = client.get(page_url(), headers={"X-Discuss-Guest": GUEST_KEY}).get_data(as_text=True)
    assert "A guest&#39;s held reply" in page or "A guest's held reply" in page
    assert "Awaiting moderation" in page
    assert "pending words" not in page


def thread_comments(thread: Thread) -> list[Comment]:
    return list(db.session.scalars(select(Comment).where(Comment.thread_id == thread.id)
                                   .order_by(Comment.id)))


@pytest.mark.parametrize("app_settings", [{"DISCUSS_PAGE_SIZE": 500}])
@pytest.mark.parametrize("who", ["guest", "signed-in"])
def test_a_readers_json_costs_the_same_queries_in_a_small_and_a_big_thread(
        app, client, site, count_queries, who):
    small, big = thread_of(site, 10, "small"), thread_of(site, 200, "big")
    _, warm_headers = reader("warm")
    dave, dave_headers = reader("dave")
    headers = {"X-Discuss-Guest": GUEST_KEY} if who == "guest" else dave_headers
    actor = guest(key=GUEST_KEY) if who == "guest" else dave
    for thread in (small, big):
        mine = post(thread, f"Own in {thread.key}", actor=actor)
        if who == "signed-in":
            votes.vote(thread_comments(thread)[3], dave, -1)
        db.session.commit()
        assert mine.id
        client.get(json_url(thread.key), headers=warm_headers)  # another reader builds it
    client.get(json_url("small"), headers=headers)  # a token's first use is noted once

    counted = {}
    for key in ("small", "big"):
        with count_queries() as q:
            page = client.get(json_url(key), headers=headers).get_json()
        counted[key] = q.statements
        assert any(c.get("mine") for c in page["comments"])
    # The signed-in reader's token with their account, then the thread's state with the
    # reader's part: two single reads (on PostgreSQL no BEGIN or ROLLBACK either).
    assert len(counted["small"]) == len(counted["big"]) <= 2, counted


def test_a_signed_in_readers_json_begins_and_rolls_back_no_transaction(app, client, site):
    thread_of(site, 4)
    _, headers = reader("dave")
    client.get(json_url(), headers=headers)  # a token's first use is noted once
    begun = []

    def note(connection) -> None:
        begun.append(connection)

    engines = {db.engine, reader_engine(db.engine)}
    for engine in engines:
        event.listen(engine, "begin", note)
        event.listen(engine, "rollback", note)
    try:
        answer = client.get(json_url(), headers=headers)
    finally:
        for engine in engines:
            event.remove(engine, "begin", note)
            event.remove(engine, "rollback", note)
    assert answer.status_code == 200
    assert begun == []


def test_a_moderator_signed_in_by_token_is_still_a_moderator(app, client, site):
    """The token's row makes the reader's account without asking which sites they moderate
    when they moderate none; a moderator's sites are still read, and their page shows the
    moderator's links (delete on everyone's comments)."""
    thread = thread_of(site, 3)
    _, headers = reader("mona")
    sites.appoint_moderator(site, "mona")
    db.session.commit()
    page = client.get(page_url(), headers=headers).get_data(as_text=True)
    first = thread_comments(thread)[0]
    assert f"/embed/demo/comments/{first.id}/delete" in page
    _, plain_headers = reader("pat")
    page = client.get(page_url(), headers=plain_headers).get_data(as_text=True)
    assert f"/embed/demo/comments/{first.id}/delete" not in page
    assert "Signed in as <strong>pat</strong>" in page


# ---------------------------------------------------------------- the page


def rendered_from_scratch(app, thread: Thread, headers: dict[str, str]) -> tuple[str, str]:
    """(the page as the server answers it, its list built for the reader the slow way), in
    one request context: the same CSRF token and minute in both."""
    with app.test_request_context(page_url(), headers=headers):
        site = embed._site("demo")
        ctx = embed._context(site, request.args)
        html = embed.render_thread(ctx).get_data(as_text=True)
        actor = current_actor()
        view = embed._view(ctx, closed=False)
        page = reading.load_thread_page(thread, actor, secret=app.config["SECRET_KEY"],
                                        page_size=app.config["DISCUSS_PAGE_SIZE"])
        view.my_votes = votes.my_votes(actor.user,
                                       [n.comment.id for n in iter_nodes(page.nodes)])
        built = render_template("embed/_list.html", ctx=ctx, view=view, nodes=page.nodes,
                                next_cursor=page.next_cursor, cursor=None)
        db.session.rollback()
        return html, built


@pytest.mark.parametrize("who", ["guest", "signed-in"])
def test_a_readers_page_is_the_same_as_built_for_them(app, client, site, who):
    thread = thread_of(site, 15)
    carol, carol_headers = reader("carol")
    actor, headers = ((guest(key=GUEST_KEY), {"X-Discuss-Guest": GUEST_KEY})
                      if who == "guest" else (carol, carol_headers))
    roots = thread_comments(thread)
    own = post(thread, "My own reply", actor=actor, parent=roots[0])
    post(thread, "My own comment", actor=actor)
    db.session.commit()
    if who == "signed-in":
        votes.vote(roots[1], carol, 1)
        votes.vote(roots[2], carol, -1)
        db.session.commit()
    client.get(page_url())  # a reader without a key builds the shared list first

    html, built = rendered_from_scratch(app, thread, headers)

    assert built in html
    # Their own comment: marked as theirs, with its edit link and delete form.
    assert f'href="/embed/demo?key=article-1&amp;edit={own.id}#comment-{own.id}"' in html
    assert f"/embed/demo/comments/{own.id}/delete" in html
    if who == "signed-in":
        assert html.count('aria-pressed="true"') == 2
    assert "<!--" + embed._NONCE not in html
    assert embed._CSRF_SLOT not in html


def test_two_signed_in_readers_get_one_shared_list(app, site, count_queries):
    thread_of(site, 20)
    _, bob_headers = reader("bob")
    _, dan_headers = reader("dan")
    bob, dan = app.test_client(), app.test_client()

    first = bob.get(page_url(), headers=bob_headers).get_data(as_text=True)
    with count_queries() as q:
        second = dan.get(page_url(), headers=dan_headers).get_data(as_text=True)
    token_bob = re.search(r'name="csrf_token" value="([^"]+)"', first).group(1)
    token_dan = re.search(r'name="csrf_token" value="([^"]+)"', second).group(1)
    assert token_bob != token_dan
    # One list, each with their own token in its vote forms; the second read no comment.
    assert comment_list(without_tokens(first)) == comment_list(without_tokens(second))
    assert second.count(token_dan) > 20
    assert token_bob not in second
    assert not any("FROM comments" in s and "thread_id" in s and "JOIN votes" not in s
                   and "UNION" not in s for s in q.statements)
    # What is kept for everyone holds no reader's token.
    text = kept_text(app)
    assert token_bob not in text
    assert token_dan not in text
    assert "discuss-mine" not in text


def test_readers_who_voted_alike_share_the_articles_they_voted_on(app, site, count_queries):
    """Bob and Dan voted up the same comment, Eve voted it down: Dan's page is made without
    reading or rendering a comment (Bob's versions are kept, each with the token's stand-in),
    and each page holds its own reader's token and vote."""
    thread = thread_of(site, 12)
    target = thread_comments(thread)[1]
    headers = {}
    for name, value in (("bob", 1), ("dan", 1), ("eve", -1)):
        actor, headers[name] = reader(name)
        votes.vote(target, actor, value)
    db.session.commit()
    pages = {}
    first = app.test_client()
    pages["bob"] = first.get(page_url(), headers=headers["bob"]).get_data(as_text=True)
    with count_queries() as q:
        pages["dan"] = app.test_client().get(page_url(), headers=headers["dan"]).get_data(
            as_text=True)
    pages["eve"] = app.test_client().get(page_url(), headers=headers["eve"]).get_data(
        as_text=True)

    assert not any("FROM comments" in s and "JOIN votes" not in s and "UNION" not in s
                   for s in q.statements)
    assert comment_list(without_tokens(pages["bob"])) == comment_list(without_tokens(pages["dan"]))
    tokens = {name: re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
              for name, html in pages.items()}
    for name, html in pages.items():
        assert html.count(tokens[name]) > 12
        assert all(token not in html for other, token in tokens.items() if other != name)
        assert embed._CSRF_SLOT not in html
    article = re.compile(rf'aria-labelledby="discuss-author-{target.id}".*?</article>', re.S)
    up = 'data-value="1" aria-pressed="true"'
    down = 'data-value="-1" aria-pressed="true"'
    assert up in article.search(pages["dan"]).group(0)
    assert up not in article.search(pages["eve"]).group(0)
    assert down in article.search(pages["eve"]).group(0)
    assert pages["eve"].count('aria-pressed="true"') == 1


def test_the_json_everyone_shares_carries_no_readers_state(app, client, site):
    thread = thread_of(site, 6)
    carol, carol_headers = reader("carol")
    votes.vote(thread_comments(thread)[0], carol, 1)
    post(thread, "Carol's", actor=carol)
    post(thread, "Guest's", actor=guest(key=GUEST_KEY))
    db.session.commit()
    client.get(json_url(), headers=carol_headers)
    client.get(json_url(), headers={"X-Discuss-Guest": GUEST_KEY})

    with app.test_request_context("/"):
        state = reading.thread_state("demo", "article-1")
        page_size = app.config["DISCUSS_PAGE_SIZE"]
        shared = bodies().get(thread_etag(state, ANONYMOUS, "json", "oldest", None, page_size))
    assert shared is not None
    assert b'"mine"' not in shared
    assert b'"my_vote"' not in shared
    assert shared == client.get(json_url()).get_data()


@pytest.mark.parametrize("app_settings", [{"DISCUSS_PAGE_SIZE": 500}])
@pytest.mark.parametrize("who", ["guest", "signed-in"])
def test_a_readers_page_costs_the_same_queries_in_a_small_and_a_big_thread(
        app, site, count_queries, who):
    small, big = thread_of(site, 10, "small"), thread_of(site, 200, "big")
    dave, dave_headers = reader("dave")
    headers = {"X-Discuss-Guest": GUEST_KEY} if who == "guest" else dave_headers
    actor = guest(key=GUEST_KEY) if who == "guest" else dave
    counted = {}
    for thread in (small, big):
        post(thread, f"Own in {thread.key}", actor=actor)
        if who == "signed-in":
            votes.vote(thread_comments(thread)[3], dave, 1)
        db.session.commit()
        app.test_client().get(page_url(thread.key))  # a reader without a key builds it
        client = app.test_client()
        client.get(page_url(thread.key), headers=headers)
        with count_queries() as q:
            page = client.get(page_url(thread.key), headers=headers).get_data(as_text=True)
        counted[thread.key] = q.count
        assert f"Own in {thread.key}" in page
        assert "discuss-mine" in page
    assert counted["small"] == counted["big"]


def test_a_guest_who_wrote_nothing_here_gets_everyones_body_privately(app, client, site):
    thread_of(site, 8)
    post(thread_of(site, 1, "elsewhere"), "Written elsewhere", actor=guest(key=GUEST_KEY))
    db.session.commit()
    anyone = client.get(json_url(), headers={"Accept-Encoding": "gzip"})
    as_guest = client.get(json_url(), headers={"X-Discuss-Guest": GUEST_KEY,
                                               "Accept-Encoding": "gzip"})
    assert as_guest.get_data() == anyone.get_data()
    assert as_guest.headers["Content-Encoding"] == "gzip"
    assert as_guest.headers["Cache-Control"] == "private, no-cache"
    assert anyone.headers["Cache-Control"] == "public, no-cache"
    assert as_guest.headers["ETag"] != anyone.headers["ETag"]


# ---------------------------------------------------------------- the page around the list


def without_form_tokens(html: str) -> str:
    return re.sub(r'name="rendered_at" value="[^"]+"', 'name="rendered_at" value=""',
                  without_tokens(html))


@pytest.mark.parametrize("who", ["anyone", "guest", "signed-in"])
def test_a_readers_whole_page_from_the_kept_frame_is_as_built_for_them(
        app, site, monkeypatch, who):
    """The page around the list is kept per kind of reader with stand-ins for what is one
    reader's own: a second reader's page is byte for byte the page built for them alone
    (their name, remembered guest name and email, tokens), and holds nothing of the first."""
    thread_of(site, 5)
    first, second = app.test_client(), app.test_client()
    headers: dict[str, dict[str, str]] = {"first": {}, "second": {}}
    if who == "signed-in":
        _, headers["first"] = reader("bob")
        dan, headers["second"] = reader("dan")
        dan.user.display_name = 'Dan "O\'Brien" <b>&amp;'
        db.session.commit()
    if who == "guest":
        headers = {"first": {"X-Discuss-Guest": "b" * 40},
                   "second": {"X-Discuss-Guest": "d" * 40}}
    for client, name, email in ((first, "Bob Guest", "bob@example.com"),
                                (second, 'Dan "<i>" & Co', "dan@example.com")):
        client.get(page_url())  # the session cookie a browser holds
        if who != "signed-in":
            with client.session_transaction() as session:
                session["discuss_guest_name"] = name
                session["discuss_guest_email"] = email

    first_page = first.get(page_url(), headers=headers["first"]).get_data(as_text=True)
    kept = second.get(page_url(), headers=headers["second"]).get_data(as_text=True)
    monkeypatch.setattr(embed, "_shared_frame", lambda *args: None)
    built = second.get(page_url(), headers=headers["second"]).get_data(as_text=True)

    assert without_form_tokens(kept) == without_form_tokens(built)
    token = re.search(r'name="csrf_token" value="([^"]+)"', kept).group(1)
    assert token in re.search(r'<meta name="csrf-token" content="([^"]+)"', kept).group(0)
    assert re.search(r'name="rendered_at" value="[^"]{20,}"', kept)
    for slot in embed._SLOT.values():
        assert slot not in kept
    if who == "signed-in":
        assert "Signed in as <strong>Dan &#34;O&#39;Brien&#34; &lt;b&gt;&amp;amp;</strong>" in kept
        assert "bob" not in kept
    else:
        assert "Bob Guest" not in kept
        assert "bob@example.com" not in kept
        assert 'value="Dan &#34;&lt;i&gt;&#34; &amp; Co"' in kept
        assert 'value="dan@example.com"' in kept
    assert 'data-viewer="{}"'.format({"anyone": "anyone", "guest": "guest",
                                       "signed-in": "user"}[who]) in kept
    assert ("Signed in as <strong>bob</strong>" if who == "signed-in"
            else 'value="Bob Guest"') in first_page


def test_the_kept_frame_holds_no_readers_name_or_token(app, site):
    thread_of(site, 3)
    _, headers = reader("zelda")
    client = app.test_client()
    page = client.get(page_url(), headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert "Signed in as <strong>zelda</strong>" in page
    with app.test_request_context("/"):
        frames = [value for value, _ in bodies()._items.values()
                  if isinstance(value, embed.SharedFrame)]
    assert any("user" in frame.parts[1::2] for frame in frames)  # kept, with a stand-in
    text = kept_text(app)
    assert "zelda" not in text
    assert token not in text

"""The site admin pages: an admin creates and edits sites, copies the snippets, appoints
moderators; everyone else finds nothing at /admin."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from discuss import comments, sites
from discuss.errors import Conflict, InvalidInput, NotFound
from discuss.extensions import db
from discuss.models import ModerationPolicy, Site, SiteModerator, Status
from tests.accounts_helpers import form_csrf, html_login, make_user
from tests.conftest import make_thread, post

PUBLIC = "https://comments.example.net"


@pytest.fixture
def app_settings() -> dict:
    return {"DISCUSS_PUBLIC_URL": PUBLIC, "DISCUSS_RATELIMIT_ENABLED": False}


@pytest.fixture
def admin_client(client):
    make_user("adaline", is_admin=True, verified=True)
    assert html_login(client, "adaline").status_code in (302, 303)
    return client


def submit(client, path: str, **data):
    """POST a form the way the page does: with the CSRF token from the page itself."""
    token = form_csrf(client, path if not path.endswith("/moderators") else path[:-11])
    return client.post(path, data={"csrf_token": token, **data})


def site_form(**overrides) -> dict:
    data = {"name": "The Example News", "origins": "https://news.example.com\n",
            "moderation": "pre", "allow_guests": "y", "require_guest_name": "y",
            "edit_window": "600"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- who sees the pages ------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin", "/admin/sites/new", "/admin/sites/demo"])
def test_signed_out_visitor_is_sent_to_sign_in_first(client, site, path):
    # Issue 13: an admin who is not signed in found a 404 and no way in.
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?" + urlencode({"next": path},
                                                                      safe="/")


@pytest.mark.parametrize("path", ["/admin", "/admin/sites/new", "/admin/sites/demo"])
def test_signed_in_reader_who_is_no_admin_finds_no_admin_page(client, site, path):
    make_user("reader", verified=True)
    html_login(client, "reader")
    assert client.get(path).status_code == 404


def test_moderator_cannot_create_a_site(client, site):
    make_user("moira", verified=True, moderator_of=[site])
    html_login(client, "moira")
    token = form_csrf(client, "/auth/login")
    response = client.post("/admin/sites/new", data={"csrf_token": token, "slug": "sneaky",
                                                     **site_form()})
    assert response.status_code == 404
    assert db.session.scalar(select(Site).where(Site.slug == "sneaky")) is None


def test_admin_form_without_csrf_token_is_refused(admin_client):
    response = admin_client.post("/admin/sites/new", data={"slug": "news", **site_form()})
    assert response.status_code == 400
    assert db.session.scalar(select(Site).where(Site.slug == "news")) is None


# --- creating and editing ----------------------------------------------------------------

def test_admin_creates_a_site_and_lands_on_its_page(admin_client):
    response = submit(admin_client, "/admin/sites/new", slug="news", **site_form())
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/sites/news")
    site = db.session.scalar(select(Site).where(Site.slug == "news"))
    assert (site.name, site.origins, site.moderation) == (
        "The Example News", ["https://news.example.com"], ModerationPolicy.PRE)
    assert (site.allow_guests, site.require_guest_name, site.edit_window) == (True, True, 600)
    page = text_of(admin_client.get(response.headers["Location"]))
    assert "Site news was created." in page


def test_admin_edits_a_site(admin_client, site):
    response = submit(admin_client, "/admin/sites/demo", **site_form(
        origins="https://News.Example.com/\n\nhttps://m.example.com\n", moderation="first",
        allow_guests=None, require_guest_name=None, edit_window=""))
    assert response.status_code == 303
    db.session.refresh(site)
    assert site.origins == ["https://news.example.com", "https://m.example.com"]
    assert site.moderation == ModerationPolicy.FIRST
    assert (site.allow_guests, site.require_guest_name, site.edit_window) == (False, False, None)
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert "The settings of demo were saved." in page
    assert "https://news.example.com\nhttps://m.example.com</textarea>" in page


def test_edit_page_shows_the_current_settings(admin_client, site):
    site.edit_window = 120
    db.session.commit()
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert re.search(r'<option selected value="post">|<option value="post" selected', page)
    assert 'name="edit_window" type="text" value="120"' in page
    assert "https://news.example.com</textarea>" in page


@pytest.mark.parametrize(("data", "message"), [
    ({"slug": "Bad Slug!"}, "The slug must be 1–64 characters of a-z, 0-9 and -."),
    ({"slug": ""}, "Give the site a slug."),
    ({"origins": "news.example.com"}, "is not an origin like https://news.example.com"),
    ({"origins": "https://news.example.com/path"}, "is not an origin like"),
    ({"moderation": "sometimes"}, "Not a valid choice"),
    ({"edit_window": "-5"}, "The edit window must be 0–86400 seconds"),
    ({"edit_window": "86401"}, "The edit window must be 0–86400 seconds"),
    ({"edit_window": "soon"}, "The edit window must be 0–86400 seconds"),
])
def test_bad_new_site_shows_a_message_and_creates_nothing(admin_client, data, message):
    form = {"slug": "news", **site_form(), **data}
    response = submit(admin_client, "/admin/sites/new", **form)
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert "The form was not saved." in page
    assert 'aria-invalid="true"' in page
    assert db.session.scalars(select(Site)).all() == []


def test_duplicate_slug_is_refused_with_a_conflict(admin_client, site):
    response = submit(admin_client, "/admin/sites/new", slug="demo",
                      **site_form(name="Another"))
    assert response.status_code == 409
    assert "A site named 'demo' exists already." in text_of(response)
    db.session.refresh(site)
    assert site.name == "demo"
    assert len(db.session.scalars(select(Site)).all()) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"origins": "https://ok.example.com\nftp://files.example.com"}, "is not an origin"),
    ({"moderation": "never"}, "Not a valid choice"),
    ({"edit_window": "-1"}, "The edit window must be 0–86400 seconds"),
])
def test_bad_edit_changes_nothing(admin_client, site, data, message):
    response = submit(admin_client, "/admin/sites/demo", **site_form(name="Changed", **data))
    assert response.status_code == 400
    assert message in text_of(response)
    db.session.refresh(site)
    assert (site.name, site.origins, site.moderation) == (
        "demo", ["https://news.example.com"], ModerationPolicy.POST)


def test_unknown_site_page_is_not_found_for_the_admin(admin_client):
    assert admin_client.get("/admin/sites/nope").status_code == 404
    assert admin_client.get("/admin/sites/NOPE!").status_code == 404


# --- the domain: every rule, whichever way in --------------------------------------------

def test_update_site_checks_everything_before_changing_anything(app, site):
    with pytest.raises(InvalidInput) as caught:
        sites.update_site(site, name="New", origins=["https://a.example.com"],
                          moderation="pre", allow_guests=False, require_guest_name=False,
                          edit_window=-1)
    assert caught.value.fields == {"edit_window": "invalid"}
    assert (site.name, site.moderation, site.allow_guests) == ("demo", "post", True)
    for bad in ({"moderation": "maybe"}, {"origins": ["javascript:alert(1)"]},
                {"edit_window": 86401}, {"edit_window": True}, {"name": "x" * 201}):
        values = {"name": "n", "origins": [], "moderation": "first", "allow_guests": True,
                  "require_guest_name": True, "edit_window": None, **bad}
        with pytest.raises(InvalidInput):
            sites.update_site(site, **values)
    assert site.origins == ["https://news.example.com"]


def test_update_site_accepts_the_limits_of_the_edit_window(app, site):
    for seconds, stored in ((0, 0), ("86400", 86400), ("", None), (None, None)):
        sites.update_site(site, name="", origins=(), moderation="first", allow_guests=True,
                          require_guest_name=True, edit_window=seconds)
        assert site.edit_window == stored
    assert site.name == "demo"


# --- snippets ------------------------------------------------------------------------------

def test_site_page_offers_the_embed_and_count_snippets(admin_client, site):
    page = text_of(admin_client.get("/admin/sites/demo"))
    embed = re.search(r'<pre id="embed-snippet"[^>]*><code>(.*?)</code></pre>', page, re.S)
    count = re.search(r'<pre id="count-snippet"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert embed
    assert count
    assert embed.group(1) == (
        '<div id="discuss-thread" data-site="demo" data-key="ARTICLE-ID"\n'
        '     data-title="ARTICLE TITLE" data-url="https://news.example.com/ARTICLE-PATH">\n'
        '  <noscript>\n'
        f'    <a href="{PUBLIC}/embed/demo?key=ARTICLE-ID&amp;url=https%3A%2F%2Fnews.example.com'
        '%2FARTICLE-PATH">Read and join the discussion</a>\n'
        '  </noscript>\n'
        '</div>\n'
        f'<script async src="{PUBLIC}/embed.js"></script>')
    assert count.group(1) == (
        '<a href="https://news.example.com/ARTICLE-PATH#comments"><span data-discuss-count '
        'data-site="demo" data-key="ARTICLE-ID"></span></a>\n'
        f'<script async src="{PUBLIC}/count.js"></script>')
    assert 'data-copy="embed-snippet"' in page
    assert 'data-copy="count-snippet"' in page
    assert "/static/admin.js" in page
    assert "<script>" not in page  # no inline script: the CSP would block it


def test_snippet_markup_is_escaped_in_the_page(admin_client, site):
    raw = admin_client.get("/admin/sites/demo").get_data(as_text=True)
    assert "&lt;div id=&#34;discuss-thread&#34; data-site=&#34;demo&#34;" in raw \
        or "&lt;div id=&quot;discuss-thread&quot; data-site=&quot;demo&quot;" in raw


# --- moderators ----------------------------------------------------------------------------

def test_admin_appoints_and_removes_a_moderator(admin_client, site):
    moira = make_user("moira", verified=True)
    response = submit(admin_client, "/admin/sites/demo/moderators", username="Moira")
    assert response.status_code == 303
    assert db.session.get(SiteModerator, (site.id, moira.id)) is not None
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert "moira now moderates demo." in page
    assert 'data-moderator="moira"' in page

    token = form_csrf(admin_client, "/admin/sites/demo")
    response = admin_client.post(f"/admin/sites/demo/moderators/{moira.id}/remove",
                                 data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(SiteModerator, (site.id, moira.id)) is None
    assert 'data-moderator="moira"' not in admin_client.get("/admin/sites/demo").get_data(
        as_text=True)


def test_appointed_moderator_can_open_the_queue(admin_client, site):
    make_user("moira", verified=True)
    submit(admin_client, "/admin/sites/demo/moderators", username="moira")
    other = admin_client.application.test_client()
    html_login(other, "moira")
    assert other.get("/moderate/demo/pending").status_code == 200


@pytest.mark.parametrize(("username", "status", "message"), [
    ("nobody", 404, "No user has that username."),
    ("", 400, "Give a username."),
])
def test_appointing_an_unknown_user_shows_a_message(admin_client, site, username, status,
                                                    message):
    response = submit(admin_client, "/admin/sites/demo/moderators", username=username)
    assert response.status_code == status
    assert message in text_of(response)
    assert db.session.scalars(select(SiteModerator)).all() == []


def test_appointing_a_moderator_twice_is_a_conflict(admin_client, site):
    make_user("moira", verified=True)
    submit(admin_client, "/admin/sites/demo/moderators", username="moira")
    response = submit(admin_client, "/admin/sites/demo/moderators", username="moira")
    assert response.status_code == 409
    assert "moira moderates demo already." in text_of(response)


def test_removing_someone_who_is_no_moderator_is_not_found(admin_client, site):
    reader = make_user("reader", verified=True)
    token = form_csrf(admin_client, "/admin/sites/demo")
    response = admin_client.post(f"/admin/sites/demo/moderators/{reader.id}/remove",
                                 data={"csrf_token": token})
    assert response.status_code == 404


def test_domain_refuses_unknown_and_duplicate_moderators(app, site):
    make_user("moira")
    sites.appoint_moderator(site, "moira")
    with pytest.raises(Conflict):
        sites.appoint_moderator(site, "MOIRA")
    with pytest.raises(NotFound):
        sites.appoint_moderator(site, "nobody")
    with pytest.raises(NotFound):
        sites.appoint_moderator(site, None)


# --- the list ------------------------------------------------------------------------------

def _seed_sites(n: int) -> None:
    start = len(db.session.scalars(select(Site.id)).all())
    for i in range(start, start + n):
        s = sites.create_site(f"site-{i}", moderation="pre" if i % 2 else "post")
        thread = make_thread(s, f"a-{i}")
        for _ in range(i + 1):
            post(thread)
    db.session.commit()


def test_site_list_shows_each_site_with_its_comment_totals(admin_client, site):
    thread = make_thread(site)
    first, second, _third = post(thread), post(thread), post(thread)
    comments.set_status(first, Status.PENDING)
    comments.set_status(second, Status.SPAM)
    sites.create_site("empty", origins=["https://e.example.com"], moderation="pre")
    db.session.commit()
    page = admin_client.get("/admin").get_data(as_text=True)
    row = re.search(r'<tr data-site="demo">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'data-total="(\w+)"[^>]*>(\d+)<', row) == [
        ("approved", "1"), ("pending", "1"), ("all", "3")]
    empty = re.search(r'<tr data-site="empty">(.*?)</tr>', page, re.S).group(1)
    assert '<td data-label="Moderation">pre</td>' in empty
    assert 'class="admin-origins">https://e.example.com</td>' in empty
    assert re.findall(r'data-total="(\w+)"[^>]*>(\d+)<', empty) == [
        ("approved", "0"), ("pending", "0"), ("all", "0")]


def test_site_list_costs_the_same_queries_for_two_sites_or_twelve(admin_client,
                                                                  count_queries):
    _seed_sites(2)
    admin_client.get("/admin")  # warm the session
    with count_queries() as few:
        assert admin_client.get("/admin").status_code == 200
    _seed_sites(10)
    with count_queries() as many:
        page = admin_client.get("/admin").get_data(as_text=True)
    assert page.count("<tr data-site=") == 12
    assert many.count == few.count
    assert sum("GROUP BY" in s for s in many.statements) == 1


def test_admin_sets_the_language_of_a_sites_pages(admin_client, site, client):
    page = text_of(admin_client.get("/admin/sites/demo"))
    assert '<option selected value="en">en: English</option>' in page
    assert '<option value="ar">ar: العربية</option>' in page
    response = submit(admin_client, "/admin/sites/demo", **site_form(language="ar"))
    assert response.status_code == 303
    db.session.refresh(site)
    assert site.language == "ar"
    reader = admin_client.application.test_client()
    thread = reader.get("/embed/demo?key=a&url=https://news.example.com/a",
                        headers={"Accept-Language": "xx"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in thread
    refused = submit(admin_client, "/admin/sites/demo", **site_form(language="tlh"))
    assert refused.status_code == 400
    db.session.refresh(site)
    assert site.language == "ar"
    kept = submit(admin_client, "/admin/sites/demo", **site_form())  # an older form: no field
    assert kept.status_code == 303
    db.session.refresh(site)
    assert site.language == "ar"

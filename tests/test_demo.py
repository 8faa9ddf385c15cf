"""The demo article page at /, the loader scripts' short URLs and `discuss demo-setup`."""

from __future__ import annotations

import re

from discuss import threads
from discuss.models import ModerationPolicy

SNIPPET = ('<div id="discuss-thread" data-site="demo" data-key="2016/jessica-jones-season-2"\n'
           '           data-title="Jessica Jones Season 2" '
           'data-url="https://news.example.com/2016/jj-s2"></div>')


def test_demo_setup_creates_the_demo_site_once(app, runner):
    first = runner.invoke(args=["discuss", "demo-setup"])
    assert first.exit_code == 0, first.output
    assert "Created site demo" in first.output
    site = threads.get_site("demo")
    assert site.moderation == ModerationPolicy.FIRST
    assert {"http://127.0.0.1:5000", "http://localhost:5000"} <= set(site.origins)

    second = runner.invoke(args=["discuss", "demo-setup"])
    assert second.exit_code == 0, second.output
    assert "exists already" in second.output


def test_demo_setup_adds_missing_demo_origins_to_an_existing_site(app, runner, site):
    result = runner.invoke(args=["discuss", "demo-setup"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5000" in result.output
    assert "http://127.0.0.1:5000" in threads.get_site("demo").origins
    assert "https://news.example.com" in threads.get_site("demo").origins


def test_demo_page_says_how_to_set_up_the_demo_site(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Jessica Jones Season 2" in page
    assert "flask --app wsgi discuss demo-setup" in page
    assert "discuss-thread" not in page


def test_demo_page_embeds_the_thread_with_the_specs_snippet(client, runner):
    runner.invoke(args=["discuss", "demo-setup"])
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert SNIPPET in page
    assert '<script async src="/embed.js"></script>' in page
    assert 'data-discuss-count data-site="demo" data-key="2016/luke-cage-premiere"' in page
    assert "Let us know in the comments!" in page


def test_demo_page_has_no_inline_script_or_style(client, runner):
    runner.invoke(args=["discuss", "demo-setup"])
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page
    assert " style=" not in page


def test_other_demo_stories_have_pages_and_unknown_ones_do_not(client, runner):
    runner.invoke(args=["discuss", "demo-setup"])
    story = client.get("/stories/2016/luke-cage-premiere")
    assert story.status_code == 200
    assert 'data-key="2016/luke-cage-premiere"' in story.get_data(as_text=True)
    assert client.get("/stories/2016/no-such-story").status_code == 404


def test_loader_scripts_have_short_urls_any_page_may_load(client):
    for path in ("/embed.js", "/count.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript")
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age=300" in response.headers["Cache-Control"]


def test_loader_scripts_stay_small(client):
    # 8 KB while it carried its three placeholder words in every language (2.7 KB of them);
    # a page in another language now fetches its own words (issue 13).
    assert len(client.get("/embed.js").get_data()) < 6 * 1024
    assert len(client.get("/count.js").get_data()) < 3 * 1024

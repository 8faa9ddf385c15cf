"""What a reader's browser downloads: scripts and stylesheets minified and gzip-compressed,
versioned by what is served, and an empty thread that stays small because the action and
account scripts are fetched only on demand."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from discuss.web.infra.assets import _with_texts, minify

STATIC = Path(__file__).resolve().parent.parent / "discuss" / "static"
ARTICLE = {"key": "article-1", "url": "https://news.example.com/a", "title": "An article"}
PAGE = "/embed/demo?" + urlencode(ARTICLE)
GZIP = {"Accept-Encoding": "gzip, deflate"}
# The iframe page of an empty thread, its stylesheet and script, and embed.js, each gzipped at
# level 6 as `make bench` counts them: 8.1 kB when this was written (15.7 kB before scripts
# were minified and account.js and comment-actions.js were fetched on demand), 9.7 kB once
# embed.js carried its three words in 21 languages (1.5 kB gzipped), 10.5 kB after theme
# matching, deep links, single sign-on and staff marks (issues 13, 16, 12). Since embed.js
# fetches the words of a page's own language instead (nothing for English, a few hundred
# bytes once per other language), 9,759 bytes: 47 % of Isso's empty thread, which is
# 20,822 bytes (20.3 KiB: embed.min.js 20,577, /config 108, the thread's JSON 137, Isso 0.14
# measured the same way). The budget keeps it under 10,000 bytes, clearly under half.
EMPTY_THREAD_BUDGET = 10_000
BUILT = sorted(path.name for path in STATIC.iterdir() if path.suffix in (".js", ".css"))


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def linked_assets(page: str) -> list[str]:
    """Every same-origin script, stylesheet and image the page links to (as bench/run.py)."""
    urls = re.findall(r'<(?:script|img)[^>]+src="(/[^"]+)"', page)
    urls += re.findall(r'<link[^>]+href="(/[^"]+)"', page)
    return sorted({url.replace("&amp;", "&") for url in urls})


def test_empty_thread_downloads_stay_under_budget(client, site):
    page = client.get(PAGE)
    assert page.status_code == 200
    total = gzip_size(page.get_data())
    for url in [*linked_assets(page.get_data(as_text=True)), "/embed.js"]:
        response = client.get(url)
        assert response.status_code == 200, url
        total += gzip_size(response.get_data())
    assert total <= EMPTY_THREAD_BUDGET


def test_empty_thread_names_but_does_not_load_the_action_and_account_scripts(client, site):
    page = client.get(PAGE).get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert [s.split("?")[0] for s in scripts] == ["/static/discuss.js"]
    on_demand = dict(re.findall(r'data-(actions|account)-js="([^"]+)"', page))
    assert sorted(on_demand) == ["account", "actions"]
    for url in on_demand.values():
        assert re.fullmatch(r"/static/[a-z-]+\.js\?v=[0-9a-f]{12}", url)
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("name", BUILT)
def test_scripts_and_stylesheets_are_served_minified_and_gzipped(client, app, name):
    with app.test_request_context():
        source = source_as_served(name)
    plain = client.get(f"/static/{name}", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    body = plain.get_data()
    assert len(body) < len(source)
    assert b"\n  " not in body  # no indentation left
    assert re.search(rb"/\*(?!!)", body) is None  # no comment but a licence (/*! … */)

    packed = client.get(f"/static/{name}", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == body


def test_versioned_url_names_the_served_bytes_and_only_it_is_cached_for_a_year(client, site):
    page = client.get("/no-such-page").get_data(as_text=True)
    url = re.search(r'href="(/static/discuss\.css\?v=([0-9a-f]+))"', page)
    assert url is not None
    current = client.get(url.group(1))
    assert url.group(2) == hashlib.sha256(current.get_data()).hexdigest()[:12]
    assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # A server still holding another version must not let it be kept under this name.
    stale = client.get("/static/discuss.css?v=000000000000")
    assert stale.status_code == 200
    assert stale.headers["Cache-Control"] == "no-cache"


def test_unchanged_script_answers_304_in_either_coding(client):
    for headers in ({}, GZIP):
        first = client.get("/static/discuss.js", headers=headers)
        again = client.get("/static/discuss.js",
                           headers={**headers, "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304


def source_as_served(name: str) -> bytes:
    """static/<name> as the service builds it: embed.js with the version of its words."""
    return _with_texts((STATIC / name).read_bytes())


def test_loader_scripts_are_minified_too(client, app):
    for name in ("embed.js", "count.js"):
        body = client.get(f"/{name}").get_data()
        assert body == client.get(f"/static/{name}").get_data()
        with app.test_request_context():
            assert len(body) < 0.85 * len(source_as_served(name))
        assert client.get(f"/{name}", headers=GZIP).headers["Content-Encoding"] == "gzip"


def test_other_static_requests_are_left_to_flask(client):
    assert client.get("/static/no-such.js").status_code == 404
    assert client.get("/static/../wsgi.py").status_code == 404


def test_minifying_keeps_licence_comments_and_template_literals():
    script = b"/*! (c) someone, MIT */\n// a note\nconst a = `x ${1 + 1} // y`;\n"
    assert minify("a.js", script) == b"/*! (c) someone, MIT */const a=`x ${1 + 1} // y`;"
    assert minify("a.css", b"/*! keep */ /* drop */ a { color : red ; }") == (
        b"/*! keep */a{color:red}")

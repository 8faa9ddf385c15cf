"""The demo: an article page at ``/`` embedding its discussion, as a publisher's page would.

Also serves the loader scripts at the short URLs the integration snippets use (``/embed.js``,
``/count.js``). The page reads only whether the ``demo`` site exists (``discuss demo-setup``
creates it); it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template

from discuss import threads
from discuss.errors import NotFound
from discuss.web.infra.assets import asset_response

bp = Blueprint("demo", __name__)

DEMO_SITE = "demo"
# The scripts' URLs are fixed in publishers' pages: revalidate often rather than pin a version.
SCRIPT_CACHE = "public, max-age=300"


@dataclass(frozen=True)
class Article:
    """One article of the demo site."""

    key: str
    title: str
    dek: str
    paragraphs: tuple[str, ...]
    question: str


ARTICLES: tuple[Article, ...] = (
    Article(
        key="2016/jessica-jones-season-2",
        title="Jessica Jones Season 2",
        dek="The private investigator is coming back, and Hell's Kitchen is not ready.",
        paragraphs=(
            "The first season ended with a snap and a long silence in a dim office above a "
            "laundromat. It was not a triumphant ending: Jessica got what she wanted and "
            "looked as if she would rather be anywhere else. That quiet is exactly why a "
            "second season can work.",
            "Season 2 has been confirmed, with the same showrunner and a writers' room that "
            "promises to dig into where Jessica's strength came from. Expect more of the "
            "noir voice-over, more rain on the windows of Alias Investigations, and fewer easy "
            "answers about the people she keeps at arm's length.",
            "The supporting cast matters as much as the lead. Trish has found a new purpose "
            "after last season, Malcolm is still trying to stay clean, and Jeri Hogarth's "
            "ruthless law firm owes Jessica a favour or two. Each of them pulls her somewhere "
            "she does not want to go.",
            "The bigger question hangs over the whole street-level corner of the franchise. "
            "Luke Cage has his own series arriving this autumn, and the two characters left "
            "a lot unsaid when they last shared a bar.",
        ),
        question="Do you think Jessica Jones will appear in Luke Cage? "
                 "Let us know in the comments!",
    ),
    Article(
        key="2016/luke-cage-premiere",
        title="Luke Cage premieres this autumn",
        dek="Harlem gets its own hero, and a soundtrack to match.",
        paragraphs=(
            "The bulletproof bartender moves uptown. The trailer is all brownstones, "
            "barbershop arguments and a jazz club that is clearly more than it seems.",
            "Thirteen episodes are planned, and the producers say the music was written "
            "before many of the scripts were finished.",
        ),
        question="Which Harlem location are you hoping to see? Tell us below.",
    ),
    Article(
        key="2016/daredevil-season-2-review",
        title="Daredevil Season 2, reviewed",
        dek="Two new arrivals nearly steal the season from its own lead.",
        paragraphs=(
            "The hallway fight is back, this time on a staircase, and it is still the best "
            "thing the show does.",
            "The second half loses some of its grip, but the courtroom episodes are the "
            "strongest legal drama the franchise has managed.",
        ),
        question="Was the second half as strong as the first? Discuss.",
    ),
)
BY_KEY = {article.key: article for article in ARTICLES}
MAIN = ARTICLES[0]
# The integration snippet of the specification, word for word, on the main article.
MAIN_URL = "https://news.example.com/2016/jj-s2"


def _site_exists() -> bool:
    try:
        threads.get_site(DEMO_SITE)
    except NotFound:
        return False
    return True


def _render(article: Article) -> str:
    return render_template(
        "demo/article.html", article=article, articles=ARTICLES, site_slug=DEMO_SITE,
        site_ready=_site_exists(), article_url=MAIN_URL if article is MAIN else "",
    )


@bp.get("/")
def article_page() -> str:
    """GET /: the demo article with its discussion embedded."""
    return _render(MAIN)


@bp.get("/stories/<path:key>")
def story_page(key: str) -> str:
    """GET /stories/<key>: another demo article."""
    article = BY_KEY.get(key)
    if article is None or article is MAIN:
        abort(404)
    return _render(article)


def _script(name: str) -> Response:
    # Minified and precompressed like every static script; revalidated by ETag.
    response = asset_response(name)
    response.headers["Cache-Control"] = SCRIPT_CACHE
    # Publishers' pages load these cross-origin; nothing in them is private.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/embed.js")
def embed_script() -> Response:
    """GET /embed.js: the publisher's script, at a stable URL."""
    return _script("embed.js")


@bp.get("/count.js")
def count_script() -> Response:
    """GET /count.js: the comment-count script, at a stable URL."""
    return _script("count.js")

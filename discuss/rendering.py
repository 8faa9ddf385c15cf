"""Markdown source → safe HTML: the one place that knows markdown-it and bleach.

The renderer and the cleaner are built once at import. Raw HTML typed by a reader is never
interpreted (markdown-it runs with html=False, so it comes out as text), and bleach then keeps
only the spec's allow-list, whatever the Markdown produced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import bleach
from bleach.html5lib_shim import Filter
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "del"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener noreferrer"
MAX_BODY_LENGTH = 10_000
# The most HTML one comment may render to. Reference links ("[a][r] [a][r] …" with one
# definition) turn 10,000 characters into megabytes of links; ordinary comments, even long and
# richly formatted ones, stay far below this.
MAX_HTML_BYTES = 50_000
_LINK_TAG = re.compile(r"<a\s[^>]*\bhref=")

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    .enable(["strikethrough", "linkify"])
    # Comments are not documents: headings and rules stay as typed text.
    .disable(["heading", "lheading", "hr"])
)


def _render_strike(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    # The allow-list has <del>, markdown-it writes <s>.
    return "<del>" if tokens[idx].nesting == 1 else "</del>"


def _render_image(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    # No images from readers (they would tell third parties who reads): link to them instead.
    token = tokens[idx]
    src = escapeHtml(str(token.attrGet("src") or ""))
    alt = escapeHtml(token.content or "image")
    return f'<a href="{src}">{alt}</a>'


_md.add_render_rule("s_open", _render_strike)
_md.add_render_rule("s_close", _render_strike)
_md.add_render_rule("image", _render_image)


def is_allowed_href(href: str) -> bool:
    """An http, https or mailto URL: the only links the allow-list keeps."""
    scheme, sep, _ = href.partition(":")
    return bool(sep) and scheme.lower() in ALLOWED_PROTOCOLS and "/" not in scheme


class _LinkPolicy(Filter):
    """Every link opens in a new tab with rel=nofollow ugc…; links without a safe URL lose href."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] == "StartTag" and token["name"] == "a":
                attrs = dict(token["data"])
                href = attrs.get((None, "href"), "")
                if not is_allowed_href(href):
                    attrs.pop((None, "href"), None)
                attrs[(None, "rel")] = LINK_REL
                attrs[(None, "target")] = "_blank"
                token["data"] = attrs
            yield token


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[_LinkPolicy],
)


def render_markdown(source: str) -> str:
    """Render a comment body to the HTML stored beside it and shown to readers."""
    return _cleaner.clean(_md.render(source)).strip()


def count_html_links(html: str) -> int:
    """The links a reader sees in rendered, sanitised HTML (anchors that kept an href)."""
    return len(_LINK_TAG.findall(html))


def sanitize_html(html: str) -> str:
    """Pass any HTML through the allow-list (used to check stored HTML and on rerender)."""
    return _cleaner.clean(html)


def excerpt(source: str, length: int = 140) -> str:
    """A one-line plain-text excerpt of a body, for queues, mails and deep-reply labels."""
    flat = " ".join(source.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"

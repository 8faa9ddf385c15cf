"""What readers type comes out as the spec's allow-list and nothing else: a hostile battery."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from discuss.rendering import ALLOWED_TAGS, LINK_REL, render_markdown

HOSTILE = [
    # raw tags and event handlers
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=\"alert(1)\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<a href=javascript:alert(1)>x</a>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>*{background:url(//evil.example)}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=//evil.example/>",
    "<p onclick=alert(1)>click</p>",
    "<strong onmouseover=alert(1)>hover</strong>",
    "<a href=http://ok.example onclick=alert(1)>x</a>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "</p><script>alert(1)</script><p>",
    "<textarea><script>alert(1)</script></textarea>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<template><script>alert(1)</script></template>",
    "<isindex action=javascript:alert(1) type=image>",
    "<table background=javascript:alert(1)>",
    "<x onclick=alert(1)>x</x>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    # Markdown links in every form
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java\tscript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example)",
    "[x](/relative/path)",
    "[x](#fragment)",
    "[x](http://ok.example \"title\" onclick=\"alert(1)\")",
    "[x](http://ok.example\"onmouseover=\"alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[x][ref]\n\n[ref]: data:text/html,<b>",
    "[x][ref]\n\n[ref]: http://ok.example \"t\\\" onclick=\\\"alert(1)\"",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "<vbscript:msgbox(1)>",
    "javascript:alert(1)",
    "www.evil.example/javascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](http://evil.example/track.png)",
    "![x\" onerror=\"alert(1)](http://x.example/y.png)",
    "![x](data:image/png;base64,AAAA)",
    "[![x](javascript:alert(1))](javascript:alert(2))",
    "[<img src=x onerror=alert(1)>](http://ok.example)",
    "[x](http://ok.example)<script>alert(1)</script>",
    "**<script>alert(1)</script>**",
    "*<img src=x onerror=alert(1)>*",
    "~~<svg onload=alert(1)>~~",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "```html\n<img src=x onerror=alert(1)>\n```",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>\n- [x](javascript:alert(1))",
    "1. <svg/onload=alert(1)>",
    "# <script>alert(1)</script>",
    "Title\n===\n<script>alert(1)</script>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | x |",
    "---\n<hr onclick=alert(1)>",
    # entity and whitespace tricks
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "<ScRiPt >alert(1)</sCrIpT >",
    "<scr\u0000ipt>alert(1)</script>",
    "<a\u000chref=javascript:alert(1)>x</a>",
    "<img\u000bsrc=x\u000bonerror=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<svg\n onload\n=\nalert(1)>",
    "\u202e<script>alert(1)</script>",
    "＜script＞alert(1)＜/script＞",
    "<a href=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105"
    "&#0000112&#0000116&#0000058alert(1)\">x</a>",
    # broken markup
    "<img src=\"x",
    "<a href=\"http://ok.example",
    "<script",
    "</script>",
    "<<<>>>",
    "<!DOCTYPE html><html><head><script>alert(1)</script>",
    "<p><b><i>unclosed",
    "</div></div></div><script>alert(1)</script>",
    "<a href='http://ok.example'><a href='javascript:alert(1)'>nested</a></a>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "<math href=javascript:alert(1)>x</math>",
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=href to=javascript:alert(1)>",
    "<svg><use href=data:image/svg+xml,<svg id='x' onload='alert(1)'/>#x>",
]

SAFE_SCHEMES = ("http:", "https:", "mailto:")


class _Element:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        self.attrib = {name: value or "" for name, value in attrs}


class _Collector(HTMLParser):
    """An independent parser (the standard library's, not bleach's) listing every element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append(_Element(tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append(_Element(tag, attrs))


def _walk(fragment: str):
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    yield from collector.elements


def assert_only_allowed(rendered: str) -> None:
    for element in _walk(rendered):
        assert element.tag in ALLOWED_TAGS, (element.tag, rendered)
        attrs = dict(element.attrib)
        if element.tag == "a":
            assert set(attrs) <= {"href", "title", "rel", "target"}, rendered
            assert attrs.get("rel") == LINK_REL
            assert attrs.get("target") == "_blank"
            if "href" in attrs:
                assert attrs["href"].lower().startswith(SAFE_SCHEMES), rendered
        else:
            assert attrs == {}, rendered


def test_battery_has_at_least_one_hundred_inputs():
    assert len(HOSTILE) >= 100
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_renders_only_allowed_markup(source):
    rendered = render_markdown(source)
    assert_only_allowed(rendered)
    lowered = rendered.lower()
    assert "<script" not in lowered
    for element in _walk(rendered):
        for value in element.attrib.values():
            assert "javascript" not in value.lower()
            assert not value.lower().startswith(("data:", "vbscript:"))


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_rendered_twice_is_stable(source):
    """Stored HTML passed through the sanitiser again (a rerender) stays the same."""
    from discuss.rendering import sanitize_html

    once = render_markdown(source)
    assert_only_allowed(sanitize_html(once))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("*em* **strong** `code`", "<p><em>em</em> <strong>strong</strong> <code>code</code></p>"),
        ("~~gone~~", "<p><del>gone</del></p>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("```\nx < y\n```", "<pre><code>x &lt; y\n</code></pre>"),
        ("<b>bold?</b>", "<p>&lt;b&gt;bold?&lt;/b&gt;</p>"),
        ("[site](https://news.example.com/a \"Title\")",
         f'<p><a href="https://news.example.com/a" title="Title" rel="{LINK_REL}" '
         'target="_blank">site</a></p>'),
        ("<https://news.example.com>",
         f'<p><a href="https://news.example.com" rel="{LINK_REL}" target="_blank">'
         "https://news.example.com</a></p>"),
        ("mail me: <me@example.com>",
         f'<p>mail me: <a href="mailto:me@example.com" rel="{LINK_REL}" target="_blank">'
         "me@example.com</a></p>"),
    ],
)
def test_commonmark_features_render_as_readers_expect(source, expected):
    assert render_markdown(source) == expected


def test_javascript_link_text_stays_visible_but_not_clickable():
    rendered = render_markdown("[click me](javascript:alert(1))")
    assert "click me" in rendered
    hrefs = [e.attrib.get("href") for e in _walk(rendered) if e.tag == "a"]
    assert all(h is None or h.startswith(SAFE_SCHEMES) for h in hrefs)

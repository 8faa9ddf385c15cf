"""HTML from Disqus and WordPress becomes Markdown that renders to the allow-listed part of it:
text, paragraphs, breaks, emphasis, code, quotes, lists and links; nothing else, never script."""

from __future__ import annotations

import pytest

from discuss.imported_html import html_to_markdown
from discuss.rendering import render_markdown
from tests.test_rendering import HOSTILE, _walk, assert_only_allowed


def imported(html: str, *, newlines: bool = False) -> str:
    return render_markdown(html_to_markdown(html, newlines=newlines))


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_html_from_another_service_renders_only_allowed_markup(source):
    for newlines in (False, True):
        rendered = imported(source, newlines=newlines)
        assert_only_allowed(rendered)
        assert "<script" not in rendered.lower()
        for element in _walk(rendered):
            for value in element.attrib.values():
                assert "javascript" not in value.lower()


@pytest.mark.parametrize(("html", "expected"), [
    ("<p>Hello <b>bold</b> <i>it</i> <strong>s</strong> <em>e</em></p>",
     "<p>Hello <strong>bold</strong> <em>it</em> <strong>s</strong> <em>e</em></p>"),
    ("<p>one</p><p>two<br>three</p>", "<p>one</p>\n<p>two<br>\nthree</p>"),
    ("<blockquote><p>quoted</p></blockquote>",
     "<blockquote>\n<p>quoted</p>\n</blockquote>"),
    ("<ul><li>a</li><li>b<ol><li>c</li></ol></li></ul>",
     "<ul>\n<li>a</li>\n<li>b\n<ol>\n<li>c</li>\n</ol>\n</li>\n</ul>"),
    ("<p>use <code>x = `y`</code></p>", "<p>use <code>x = `y`</code></p>"),
    ("<pre><code>if a &lt; b:\n    go()</code></pre>",
     "<pre><code>if a &lt; b:\n    go()\n</code></pre>"),
    ('<a href="https://example.org/a_(b)" title="t">the link</a>',
     '<p><a href="https://example.org/a_(b)" rel="nofollow ugc noopener noreferrer" '
     'target="_blank">the link</a></p>'),
    ("<s>gone</s> <del>too</del>", "<p><del>gone</del> <del>too</del></p>"),
    ("<h2>Heading</h2><p>text</p>", "<p>Heading</p>\n<p>text</p>"),
    ("<span style='x'>kept</span><style>p{}</style><script>x()</script>", "<p>kept</p>"),
    # Text that looks like Markdown stays text.
    ("<p>*not* _emph_ [x](y) # h &amp;copy; 1. no list</p>",
     "<p>*not* _emph_ [x](y) # h &amp;copy; 1. no list</p>"),
    ("<p>- dash\n+ plus\n&gt; quote</p>", "<p>- dash + plus &gt; quote</p>"),
    # Bare addresses stay whole, whatever characters Markdown would otherwise read in them.
    ("see http://e.example/a_b*c?x=1&amp;y=~2_, then",
     '<p>see <a href="http://e.example/a_b*c?x=1&amp;y=~2_" rel="nofollow ugc noopener '
     'noreferrer" target="_blank">http://e.example/a_b*c?x=1&amp;y=~2_</a>, then</p>'),
    ("<code>a</code><code>`b</code>", "<p><code>a`b</code></p>"),
    ("<i>x <em>y</em> z</i>", "<p><em>x y z</em></p>"),
    ("<b>a</b><b>b</b>", "<p><strong>ab</strong></p>"),
    ('<a href="https://e.example/"> </a>gone <a href="https://e.example/"><img src="x.png" '
     'alt="logo"></a>', '<p>gone <a href="https://e.example/" rel="nofollow ugc noopener '
     'noreferrer" target="_blank">logo</a></p>'),
])
def test_what_the_allow_list_keeps_comes_through(html, expected):
    assert imported(html) == expected


@pytest.mark.parametrize(("html", "expected"), [
    ("<b>Update:</b> text", "<p><strong>Update:</strong> text</p>"),
    ("(<i>sic</i>)", "<p>(<em>sic</em>)</p>"),
    ("<b><i>both</i></b>", "<p><em><strong>both</strong></em></p>"),
    ("<i>Luke</i>'s", "<p><em>Luke</em>'s</p>"),
    # Where Markdown could not read the marks as emphasis, the text stays whole without them
    # (never a stray asterisk).
    ('a<b>"b"</b>c', "<p>a&quot;b&quot;c</p>"),
    ("word<b>(x)</b>", "<p>word(x)</p>"),
])
def test_emphasis_is_kept_where_markdown_can_say_it_and_the_text_always(html, expected):
    assert imported(html) == expected


def test_wordpress_line_breaks_read_as_on_the_blog():
    assert imported("One\nTwo\n\nThree\n- not a list", newlines=True) == \
        "<p>One<br>\nTwo</p>\n<p>Three<br>\n- not a list</p>"


def test_html_with_nothing_left_is_empty():
    assert html_to_markdown("<p> </p><script>alert(1)</script><img src='javascript:x'>") == ""

"""Another service's comment HTML (Disqus, WordPress) → our Markdown source.

An import stores Markdown, like every other way in, so that the body renders (on write, on
`rerender`, after an edit) through discuss.rendering to the allow-listed part of what the other
service showed: text, paragraphs, line breaks, emphasis, code, quotes, lists and links. Every
other tag is dropped and its text kept, except where the text is not content (scripts, styles).
Text that looks like Markdown is escaped so that it reads as it did. Knows neither markdown-it
nor bleach: the allow-list is enforced when the result is rendered.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from discuss.rendering import is_allowed_href

_DROPPED = frozenset({"script", "style", "head", "title", "template", "iframe", "object",
                      "embed", "svg", "math", "noscript", "select", "button", "audio", "video"})
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "wbr", "source", "area", "col",
                   "base", "param", "track"})
_BLOCKS = frozenset({"p", "div", "blockquote", "ul", "ol", "li", "pre", "h1", "h2", "h3", "h4",
                     "h5", "h6", "hr", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
                     "section", "article", "aside", "header", "footer", "figure", "figcaption",
                     "dl", "dt", "dd", "address", "center", "details", "summary", "main", "nav"})
_INLINE_MARKS = {"em": "*", "i": "*", "cite": "*", "strong": "**", "b": "**", "del": "~~",
                 "s": "~~", "strike": "~~"}
_CODE = frozenset({"code", "tt", "kbd", "samp"})
# Characters that mean something to Markdown anywhere in a line (every ASCII punctuation mark
# may be escaped with a backslash in CommonMark: https://spec.commonmark.org/0.31.2/#backslash-escapes).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&~])")
# …and what means something only at the start of a line: list items, quotes, headings.
# A bare http(s) address in the text, less the punctuation that usually follows one.
_BARE_URL = re.compile(r"https?://[^\s<>\"`\\]*[^\s<>\"`\\.,:;!?)\]}']",
                       re.IGNORECASE)
_LIST_START = re.compile(r"(- |\d{1,9}\. )")
_MD_LINE_START = re.compile(r"^([-+#=>]|\d{1,9}(?=[.)]))", re.M)


class _Node:
    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    """A forgiving tree of the HTML: unclosed tags end with their parent, stray end tags are
    ignored, and the content of script, style and similar elements is left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropping += 1
            return
        if self.dropping:
            return
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _DROPPED and not self.dropping:
            self.stack[-1].children.append(_Node(tag, {n: v or "" for n, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.stack[-1].children.append(data)


def _text_of(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    if node.tag == "br":
        return "\n"
    return "".join(_text_of(child) for child in node.children)


def _fence(text: str, char: str = "`") -> str:
    longest = max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
    return char * (longest + 1)


def _link_target(href: str) -> str | None:
    href = href.strip()
    if not is_allowed_href(href):
        return None
    # An angle-bracket destination may hold spaces and parentheses, but not <, > or newlines.
    href = re.sub(r"[<>\s]", lambda m: f"%{ord(m.group()):02X}", href)
    return "<" + href.replace("\\", "\\\\") + ">"


# Emphasis marks are placed once their neighbours are known: CommonMark reads `*` as emphasis
# only where it "flanks" the text (https://spec.commonmark.org/0.31.2/#left-flanking-delimiter-run),
# and a mark that would not would show as a literal `*` in the text. Such a pair is left out.
_OPEN, _CLOSE = "\ue000", "\ue001"
_ADJACENT = re.compile(f"{_CLOSE}([*~]+){_CLOSE}{_OPEN}\\1{_OPEN}")
_BLANK_LINE = re.compile(r"\n\s*\n")  # emphasis never spans paragraphs
_MARK = re.compile(f"{_OPEN}([*~]+){_OPEN}|{_CLOSE}([*~]+){_CLOSE}")


def _kind(char: str) -> str:
    if not char or char.isspace():
        return "space"
    if char in (_OPEN, _CLOSE) or unicodedata.category(char)[0] in "PS":
        return "punct"
    return "other"


def _place_marks(text: str) -> str:
    text = _ADJACENT.sub("", text)  # <b>a</b><b>b</b> is **ab**, not **a****b**
    marks = list(_MARK.finditer(text))
    if not marks:
        return text
    keep: set[int] = set()
    opened: list[re.Match[str]] = []
    for mark in marks:
        if mark.group(1):
            opened.append(mark)
            continue
        if not opened:
            continue
        start = opened.pop()
        before = _kind(text[start.start() - 1: start.start()])
        after = _kind(text[start.end(): start.end() + 1])
        opens = after != "space" and (after != "punct" or before != "other")
        before = _kind(text[mark.start() - 1: mark.start()])
        after = _kind(text[mark.end(): mark.end() + 1])
        closes = before != "space" and (before != "punct" or after != "other")
        if opens and closes and not _BLANK_LINE.search(text, start.end(), mark.start()):
            keep.update((start.start(), mark.start()))
    return _MARK.sub(lambda m: (m.group(1) or m.group(2)) if m.start() in keep else "", text)


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


class _MarkdownWriter:
    def __init__(self, newlines: bool) -> None:
        self.newlines = newlines
        self.in_link = False
        self.marks: set[str] = set()  # emphasis already open: <b> in <strong> adds nothing

    def text(self, data: str) -> str:
        if self.newlines:
            data = re.sub(r"[ \t\r\f\v]+", " ", data)
            data = re.sub(r" ?\n ?", "\n", data)
        else:
            data = re.sub(r"\s+", " ", data)
        if self.in_link:
            return _escape(data)
        # A bare address becomes an autolink, <…>, which ends where the address does (linkify
        # would take a backslash-escaped character after it into the address).
        out, done = [], 0
        for match in _BARE_URL.finditer(data):
            url = match.group()
            out.append(f"{_escape(data[done:match.start()])}<{url}>")
            done = match.end()
        out.append(_escape(data[done:]))
        return "".join(out)

    def inline(self, nodes: list[_Node | str]) -> str:
        merged: list[_Node | str] = []
        for node in nodes:
            # Code next to code is one span: `a``b` would read as one span of other backticks.
            if isinstance(node, _Node) and node.tag in _CODE and merged \
                    and isinstance(merged[-1], _Node) and merged[-1].tag in _CODE:
                joined = _Node("code", {})
                joined.children = [_text_of(merged[-1]) + _text_of(node)]
                merged[-1] = joined
                continue
            merged.append(node)
        return "".join(self.inline_one(node) for node in merged)

    def inline_one(self, node: _Node | str) -> str:
        if isinstance(node, str):
            return self.text(node)
        tag = node.tag
        if tag == "br":
            return "\n"
        if tag == "img":
            alt = self.text(node.attrs.get("alt", "")).strip()
            target = _link_target(node.attrs.get("src", ""))
            # As in our Markdown: no images from readers, a link to them instead.
            return f"[{alt or 'image'}]({target})" if target and not self.in_link else alt
        if tag in _CODE:
            code = re.sub(r"\s+", " ", _text_of(node))
            if not code.strip():
                return code
            fence = _fence(code)
            pad = " " if code.startswith("`") or code.endswith("`") else ""
            return f"{fence}{pad}{code}{pad}{fence}"
        if tag == "a":
            target = _link_target(node.attrs.get("href", ""))
            if target is None or self.in_link:
                return self.inline(node.children)  # a link in a link: its text
            self.in_link = True
            inner = self.inline(node.children)
            self.in_link = False
            if not inner.strip():
                return inner  # a link without text shows nothing
            return f"[{inner.strip().replace(chr(10), ' ')}]({target})"
        mark = _INLINE_MARKS.get(tag)
        if mark and mark not in self.marks:
            self.marks.add(mark)
            inner = self.inline(node.children)
            self.marks.discard(mark)
            core = inner.strip()
            if not core:
                return inner
            lead = inner[: len(inner) - len(inner.lstrip())]
            trail = inner[len(inner.rstrip()):]
            return f"{lead}{_OPEN}{mark}{_OPEN}{core}{_CLOSE}{mark}{_CLOSE}{trail}"
        inner = self.inline(node.children)
        if tag in _BLOCKS:
            return f"\n{inner}\n"
        return inner

    def paragraph(self, inline: str) -> list[str]:
        lines = [line.strip() for line in _place_marks(inline).split("\n")]
        # A marker, or a number and a dot or bracket, would begin a list, quote or heading.
        text = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1).isdigit()
                                  else "\\" + m.group(1), "\n".join(lines))
        return [part.strip("\n") for part in re.split(r"\n{2,}", text) if part.strip()]

    def blocks(self, nodes: list[_Node | str]) -> list[str]:
        out: list[str] = []
        pending: list[_Node | str] = []

        def flush() -> None:
            if pending:
                out.extend(self.paragraph(self.inline(pending)))
                pending.clear()

        for node in nodes:
            if isinstance(node, str) or node.tag not in _BLOCKS:
                pending.append(node)
                continue
            flush()
            out.extend(self.block(node))
        flush()
        return out

    def block(self, node: _Node) -> list[str]:
        tag = node.tag
        if tag == "hr":
            return []
        if tag == "pre":
            code = _text_of(node).removeprefix("\n").rstrip("\n")
            if not code.strip():
                return []
            fence = _fence(code)
            fence = fence if len(fence) >= 3 else "```"
            return [f"{fence}\n{code}\n{fence}"]
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(node.children))
            if not inner:
                return []
            return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))]
        if tag in ("ul", "ol"):
            items = [child for child in node.children
                     if not (isinstance(child, str) and not child.strip())]
            lines = []
            for number, item in enumerate(items, start=1):
                parts = self.blocks(item.children if isinstance(item, _Node)
                                    and item.tag == "li" else [item])
                # A list nested in an item follows its text directly (the list stays tight).
                body = "".join(("\n" if _LIST_START.match(part) else "\n\n") + part
                               for part in parts).lstrip("\n")
                if not body:
                    continue
                marker = f"{number}. " if tag == "ol" else "- "
                indent = " " * len(marker)
                lines.append(marker + body.replace("\n", "\n" + indent).replace(
                    "\n" + indent + "\n", "\n\n"))
            return ["\n".join(lines)] if lines else []
        return self.blocks(node.children)


def html_to_markdown(html: str, *, newlines: bool = False) -> str:
    """Markdown source that renders to the allow-listed part of another service's HTML.

    ``newlines`` reads line breaks in the text as WordPress shows them (one is a line break,
    two end a paragraph); otherwise they are spaces, as in any HTML."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return "\n\n".join(_MarkdownWriter(newlines).blocks(builder.root.children)).strip()

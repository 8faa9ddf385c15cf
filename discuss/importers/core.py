"""What every import shares: the records a reader yields, the thread key, and the writer that
puts the records into a site through the domain (``comments.import_comment``).

Readers (one module per format) turn a file into ``SourceThread`` and ``SourceComment`` records;
the ``Writer`` decides every outcome of a messy export (a missing parent, a thread without a
link, an author without a name…) and counts it in the ``Summary``. It flushes, never commits:
the CLI commits once, so a file that cannot be read writes nothing. Each imported comment is
remembered by its source's id (``ImportedComment``), so importing the same file again adds and
changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import insert, select

from discuss import comments, threads
from discuss.comments import MAX_NAME_LENGTH, CommentPlace
from discuss.emails import normalize_email
from discuss.errors import InvalidInput
from discuss.extensions import db
from discuss.importers.summary import Summary
from discuss.models import Comment, ImportedComment, Site, SpamExample, Status, Thread
from discuss.rendering import MAX_BODY_LENGTH
from discuss.text import check_text
from discuss.threads import MAX_TITLE_LENGTH
from discuss.votes import set_imported_votes

KEY_MODES = ("path", "url", "id")
MAX_SOURCE_ID = 300  # ImportedComment.source_id
FORGET_EVERY = 500
DELETED_PLACEHOLDER = "(deleted)"


class ImportFailed(InvalidInput):
    """The file cannot be read: nothing is written, and the message says where and why."""


class Progress(Protocol):
    def start(self, total: int, unit: str) -> None: ...

    def advance(self, done: int) -> None: ...


class NoProgress:
    def start(self, total: int, unit: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


@dataclass
class SourceThread:
    """A thread as the export gives it. ``ref`` is the export's handle for it (comments point
    to it); ``ident`` its own identifier where it has one (Disqus <id>, WordPress post id);
    ``key`` a key the export fixes itself (our JSON and WXR files, Isso's thread uri)."""

    ref: str
    link: str = ""
    ident: str = ""
    title: str = ""
    closed: bool = False
    key: str | None = None
    deleted: bool = False


@dataclass
class SourceComment:
    """A comment as the export gives it; ``body`` is Markdown source (readers convert HTML)."""

    source_id: str
    thread_ref: str
    parent_ref: str | None
    body: str
    name: str
    email: str
    status: Status
    created_at: datetime | None
    edited_at: datetime | None = None
    pinned: bool = False
    votes: tuple[int, int] = (0, 0)


def key_path(link: str) -> str:
    """The thread key ``path`` gives: the path of the article's URL (query and fragment off)."""
    link = link.strip()
    if not link:
        return ""
    try:
        path = urlsplit(link).path
    except ValueError:
        return ""
    return path or "/"


_SPACES = re.compile(r"\s+")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_time(text: str | None, summary: Summary, *, zone_known: bool = False) -> datetime | None:
    """An ISO 8601 time in UTC; one without a zone is read as UTC (and counted unless the
    format says it is UTC: ``zone_known``); None when it cannot be read."""
    text = (text or "").strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        if not zone_known:
            summary.note("naive_time")
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _stored_id(source_id: str) -> str:
    """The source's id as the database keeps it: a digest when it is longer than the column."""
    if len(source_id) <= MAX_SOURCE_ID:
        return source_id
    return "sha256:" + hashlib.sha256(source_id.encode()).hexdigest()


def _forget_written() -> None:
    """Write out and let go of the rows the import added beside its comments (the spam
    filter's examples): the session would otherwise hold one object per comment."""
    db.session.flush()
    for instance in [i for i in db.session.identity_map.values() if isinstance(i, SpamExample)]:
        db.session.expunge(instance)


_REMEMBER = insert(ImportedComment.__table__)
_PLACE = (select(Comment.id, Comment.thread_id, Comment.root_id, Comment.depth)
          .join(ImportedComment, ImportedComment.comment_id == Comment.id))


class Writer:
    """Writes one file's records into a site through the domain, deciding every outcome."""

    def __init__(self, site: Site, source: str, key_mode: str, summary: Summary) -> None:
        if key_mode not in KEY_MODES:
            raise InvalidInput("--key must be path, url or id.")
        self.site, self.source, self.key_mode, self.summary = site, source, key_mode, summary
        self.threads: dict[str, Thread | None] = {}
        self.by_key: dict[str, Thread] = {}
        self.known: dict[str, CommentPlace] = {}
        self.skipped_ids: set[str] = set()
        # Comments that came before their thread, by the thread's ref.
        self.homeless: dict[str, list[SourceComment]] = {}
        # Replies that came before their parent, by the parent's id, until it comes…
        self.waiting: dict[str, list[tuple[SourceComment, Thread]]] = {}
        # …and then, with the parent's place (None: it was skipped), until they are written.
        self.ready: deque[tuple[SourceComment, Thread, CommentPlace | None]] = deque()
        self.written = 0
        # Nothing of this source was imported into the site before: no need to look each
        # comment up (the first import of a big file is the one that must be fast).
        self.first_time = db.session.scalar(select(ImportedComment.comment_id).where(
            ImportedComment.site_id == site.id, ImportedComment.source == source).limit(1)) is None

    # ------------------------------------------------------------ threads

    def thread_key(self, source: SourceThread) -> str:
        if source.key:
            return source.key
        link = source.link.strip()
        key = {"path": key_path(link), "url": link,
               "id": source.ident.strip() or key_path(link)}[self.key_mode]
        if not key and source.ident.strip():
            self.summary.note("no_link")
            key = source.ident.strip()
        return key  # empty: neither a link nor an id, no page to attach it to

    def add_thread(self, source: SourceThread) -> None:
        key = self.thread_key(source)
        try:
            key = threads.check_key(key)
        except InvalidInput:
            self.summary.skip("unkeyed_thread")
            self.threads[source.ref] = None
            return
        thread = self.by_key.get(key)
        if thread is not None:
            self.summary.note("merged_thread")
        else:
            thread = threads.find_thread(self.site, key)
            if thread is not None:
                self.summary.note("existing_thread")
            else:
                thread = self._create_thread(key, source)
            self.by_key[key] = thread
            self.summary.threads += 1
        self.threads[source.ref] = thread
        for comment in self.homeless.pop(source.ref, []):
            self.add_comment(comment)
            self._drain()

    def _create_thread(self, key: str, source: SourceThread) -> Thread:
        title = _SPACES.sub(" ", source.title).strip()
        if len(title) > MAX_TITLE_LENGTH:
            title = _shorten(title, MAX_TITLE_LENGTH)
            self.summary.note("long_title")
        url = source.link.strip()
        try:
            url = threads.check_url(self.site, url, any_origin=True)
        except InvalidInput:
            self.summary.note("bad_url")
            url = ""
        thread = threads.get_or_create_thread(self.site, key, url, title, any_origin=True)
        if source.deleted:
            self.summary.note("deleted_thread")
        if source.closed or source.deleted:
            thread.closed = True
        self.summary.threads_created += 1
        return thread

    # ------------------------------------------------------------ comments

    def add_comment(self, source: SourceComment) -> None:
        if source.source_id in self.known or source.source_id in self.skipped_ids:
            self.summary.skip("duplicate")
            return
        if source.thread_ref not in self.threads:
            # Its thread may come later in the file (Disqus lists threads first, but nothing
            # says it must).
            self.homeless.setdefault(source.thread_ref, []).append(source)
            return
        thread = self.threads[source.thread_ref]
        if thread is None:
            self._skip(source, "thread_skipped")
            return
        before = self._imported_before(source.source_id)
        if before is not None:
            self.summary.note("already")
            self._placed(source.source_id, before)
            return
        parent_ref = source.parent_ref
        if not parent_ref:
            self._write(source, thread, None)
            return
        parent = self.known.get(parent_ref)
        if parent is None and parent_ref not in self.skipped_ids:
            parent = self._imported_before(parent_ref)
            if parent is None:
                self.waiting.setdefault(parent_ref, []).append((source, thread))
                return
        self._write_reply(source, thread, parent)

    def _write_reply(self, source: SourceComment, thread: Thread,
                     parent: CommentPlace | None) -> None:
        if parent is None:
            self.summary.note("orphan")
        elif parent.thread_id != thread.id:
            self.summary.note("other_thread_parent")
            parent = None
        self._write(source, thread, parent)

    def finish(self) -> None:
        """The comments whose thread never came are skipped, and the replies whose parent
        never came become top level (counted)."""
        for stranded in self.homeless.values():
            for source in stranded:
                self._skip(source, "no_thread")
        self.homeless.clear()
        self._drain()
        while self.waiting:
            waiting_ids = {c.source_id for replies in self.waiting.values() for c, _ in replies}
            # Start from replies whose parent is not itself waiting; a cycle breaks anywhere.
            ref = next((r for r in self.waiting if r not in waiting_ids), next(iter(self.waiting)))
            self.ready.extend((source, thread, None) for source, thread in self.waiting.pop(ref))
            self._drain()

    def _drain(self) -> None:
        # A loop, not recursion: a long chain of replies that came before their parents must
        # not exhaust the stack.
        while self.ready:
            self._write_reply(*self.ready.popleft())

    def _imported_before(self, source_id: str) -> CommentPlace | None:
        if self.first_time:
            return None
        row = db.session.execute(_PLACE.where(
            ImportedComment.site_id == self.site.id, ImportedComment.source == self.source,
            ImportedComment.source_id == _stored_id(source_id))).first()
        return CommentPlace(*row) if row is not None else None

    def _skip(self, source: SourceComment, code: str) -> None:
        self.summary.skip(code)
        self.skipped_ids.add(source.source_id)
        self.ready.extend((reply, thread, None)
                          for reply, thread in self.waiting.pop(source.source_id, []))

    def _placed(self, source_id: str, place: CommentPlace) -> None:
        self.known[source_id] = place
        self.ready.extend((reply, thread, place)
                          for reply, thread in self.waiting.pop(source_id, []))

    def _body(self, source: SourceComment) -> str | None:
        try:
            return comments.check_body(source.body)
        except InvalidInput as exc:
            if exc.fields.get("body") == "too_long":
                self.summary.note("long_body")
                return comments.check_body(_shorten(source.body.strip(), MAX_BODY_LENGTH))
        if source.status == Status.DELETED:
            self.summary.note("deleted_empty")
            return DELETED_PLACEHOLDER
        return None

    def _name(self, raw: str) -> str:
        name = check_text(raw, 10**6, "name", one_line=True)
        if not name:
            self.summary.note("no_name")
        elif len(name) > MAX_NAME_LENGTH:
            self.summary.note("long_name")
            name = name[:MAX_NAME_LENGTH].rstrip()
        return name

    def _email(self, raw: str) -> str:
        try:
            return normalize_email(raw)[0]
        except InvalidInput:
            self.summary.note("bad_email")
            return ""

    def _write(self, source: SourceComment, thread: Thread, parent: CommentPlace | None) -> None:
        if source.created_at is None:
            self._skip(source, "no_time")
            return
        body = self._body(source)
        if body is None:
            self._skip(source, "empty")
            return
        comment = comments.import_comment(
            thread, body, parent=parent, name=self._name(source.name),
            email=self._email(source.email), status=source.status,
            created_at=source.created_at, edited_at=source.edited_at, pinned=source.pinned)
        if any(source.votes):
            set_imported_votes(comment, *source.votes)
            db.session.flush()
        db.session.connection().execute(_REMEMBER, {
            "site_id": self.site.id, "source": self.source,
            "source_id": _stored_id(source.source_id),
            "comment_id": comment.id})
        place = CommentPlace(comment.id, thread.id, comment.root_id or comment.id, comment.depth)
        # The import keeps only where each comment sits: memory stays flat on big files.
        db.session.expunge(comment)
        self.written += 1
        if self.written % FORGET_EVERY == 0:
            _forget_written()
        self.summary.statuses[str(source.status)] += 1
        self._placed(source.source_id, place)

    def write_all(self, records: Iterable[SourceThread | SourceComment]) -> None:
        for record in records:
            if isinstance(record, SourceThread):
                self.add_thread(record)
            else:
                self.add_comment(record)
                self._drain()
        self.finish()

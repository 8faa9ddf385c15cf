"""Opening an export: gzip-compressed or not, counting the bytes read for the progress bar, and
telling its format from its first bytes."""

from __future__ import annotations

import gzip
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from discuss.importers.core import ImportFailed, Progress

GZIP_MAGIC = b"\x1f\x8b"
SQLITE_MAGIC = b"SQLite format 3\x00"
SNIFF_BYTES = 64 * 1024
# Errors a damaged or cut-short gzip file raises while it is read.
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>|\s+", re.S)


class _Counted:
    """A binary file whose reads tell the progress bar how many bytes (of the file on disk)
    have been read so far."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self.raw, self.progress, self.done = raw, progress, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.done += len(data)
        self.progress.advance(self.done)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as raw:
        return raw.read(2) == GZIP_MAGIC


@contextmanager
def open_export(path: Path, progress: Progress) -> Iterator[BinaryIO]:
    """The export's bytes, uncompressed when the file is gzip; progress by bytes on disk."""
    progress.start(path.stat().st_size, "bytes")
    with path.open("rb") as raw:
        counted = _Counted(raw, progress)
        if is_gzip(path):
            with gzip.GzipFile(fileobj=counted, mode="rb") as stream:  # type: ignore[arg-type]
                yield stream  # type: ignore[misc]
        else:
            yield counted  # type: ignore[misc]


def head(path: Path) -> bytes:
    """The first bytes of the export, uncompressed."""
    try:
        with path.open("rb") as raw:
            if raw.read(2) != GZIP_MAGIC:
                raw.seek(0)
                return raw.read(SNIFF_BYTES)
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return stream.read(SNIFF_BYTES)
    except GZIP_ERRORS as exc:
        raise ImportFailed(f"{path.name}: the gzip file is damaged or cut short ({exc}).") from exc
    except OSError as exc:
        raise ImportFailed(f"{path.name}: cannot be read ({exc.strerror or exc}).") from exc


def xml_root(data: bytes) -> str | None:
    """The local name of the root element of an XML document's first bytes, if any."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    position = 0
    while True:
        match = _PROLOG.match(data, position)
        if not match or match.end() == position:
            break
        position = match.end()
    root = _ROOT.match(data, position)
    return root.group(2).decode("ascii") if root else None


def detect_format(path: Path) -> str:
    """discuss, disqus, wordpress or isso, from the file's content (gzip or not)."""
    data = head(path)
    if data.startswith(SQLITE_MAGIC):
        return "isso"
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        return "discuss"
    root = xml_root(stripped) if stripped.startswith(b"<") else None
    if root == "disqus":
        return "disqus"
    if root == "rss" and b"wordpress.org/export/" in data:
        return "wordpress"
    if root == "rss":
        raise ImportFailed(f"{path.name}: an RSS file, but not a WordPress export (WXR): it "
                           "has no wp: elements.")
    raise ImportFailed(f"{path.name}: not a discuss JSON export, a Disqus or WordPress XML "
                       "export or an Isso database (gzip-compressed or not); "
                       + (f"its root element is <{root}>." if root else
                          "its content is none of these."))


@contextmanager
def local_copy(path: Path) -> Iterator[Path]:
    """The file itself, or an uncompressed temporary copy when it is gzip (SQLite needs a
    file it can open by name)."""
    if not is_gzip(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="discuss-import-") as folder:
        copy = Path(folder) / "export"
        try:
            with gzip.open(path, "rb") as packed, copy.open("wb") as out:
                shutil.copyfileobj(packed, out)
        except GZIP_ERRORS as exc:
            raise ImportFailed(f"{path.name}: the gzip file is damaged or cut short "
                               f"({exc}).") from exc
        yield copy

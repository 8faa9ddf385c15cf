"""Importing comments from other services (Disqus, WordPress, Isso) and from our own export.

``import_file`` tells the format from the content (gzip-compressed or not), reads the file as a
stream of records (one module per format) and writes them through ``core.Writer``, which goes
through ``comments.import_comment`` like every other way in. It flushes, never commits: the
CLI commits once, so a file that cannot be read writes nothing. See docs/import.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from discuss.importers import disqus, isso, native, wordpress
from discuss.importers.core import (
    KEY_MODES,
    ImportFailed,
    NoProgress,
    Progress,
    SourceComment,
    SourceThread,
    Writer,
)
from discuss.importers.source import GZIP_ERRORS, detect_format, local_copy, open_export
from discuss.importers.summary import Summary
from discuss.models import Site

FORMATS = ("discuss", "disqus", "wordpress", "isso")
__all__ = ["FORMATS", "KEY_MODES", "ImportFailed", "Progress", "Summary", "detect_format",
           "import_file"]


def _records(fmt: str, path: Path, summary: Summary,
             progress: Progress) -> Iterator[SourceThread | SourceComment]:
    if fmt == "isso":
        with local_copy(path) as copy:
            yield from isso.read(copy, summary, path.name, progress)
        return
    reader = {"discuss": native.read, "disqus": disqus.read, "wordpress": wordpress.read}[fmt]
    with open_export(path, progress) as stream:
        yield from reader(stream, summary, path.name)


def import_file(site: Site, path: Path, *, fmt: str = "auto", key: str = "path",
                progress: Progress | None = None) -> Summary:
    """Import an export file into ``site`` (flushed, not committed); what happened, counted."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise ImportFailed(f"Unknown format {fmt!r}: use auto, {', '.join(FORMATS)}.")
    summary = Summary(fmt)
    writer = Writer(site, fmt, key, summary)
    try:
        writer.write_all(_records(fmt, path, summary, progress or NoProgress()))
    except GZIP_ERRORS as exc:
        raise ImportFailed(f"{path.name}: the gzip file is damaged or cut short ({exc}).") from exc
    except OSError as exc:  # the disk, not the file's content
        raise ImportFailed(f"{path.name}: cannot be read ({exc.strerror or exc}).") from exc
    return summary

"""What an import tells the admin at the end: threads, comments by status, what was skipped
and why, and every other decision it took, each counted. docs/import.md explains each line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from discuss.models import Status

# Every outcome an import counts: code → (one, many). The summary and docs/import.md use these.
SKIPS = {
    "empty": ("comment was empty", "comments were empty"),
    "no_time": ("comment had no readable time", "comments had no readable time"),
    "no_id": ("comment had no id", "comments had no id"),
    "no_thread": ("comment named no thread of the file", "comments named no thread of the file"),
    "thread_skipped": ("comment was in a thread that could not be keyed",
                       "comments were in threads that could not be keyed"),
    "duplicate": ("comment appeared twice in the file (the second was left out)",
                  "comments appeared twice in the file (the second copies were left out)"),
    "pingback": ("pingback or trackback", "pingbacks and trackbacks"),
    "other_type": ("entry was not a reader's comment (e.g. an order note)",
                   "entries were not readers' comments (e.g. order notes)"),
    "unkeyed_thread": ("thread had no link, id or key", "threads had no link, id or key"),
}
NOTES = {
    "already": ("comment was imported before and was left as it is",
                "comments were imported before and were left as they are"),
    "orphan": ("comment without a parent became top level",
               "comments without a parent became top level"),
    "other_thread_parent": ("reply to a comment of another thread became top level",
                            "replies to comments of other threads became top level"),
    "deleted_empty": ("deleted comment without text was kept as a placeholder",
                      "deleted comments without text were kept as placeholders"),
    "long_body": ("comment over 10,000 characters was shortened",
                  "comments over 10,000 characters were shortened"),
    "no_name": ("author without a name is shown as Anonymous",
                "authors without a name are shown as Anonymous"),
    "long_name": ("author name was shortened to 64 characters",
                  "author names were shortened to 64 characters"),
    "bad_email": ("invalid email address was left out", "invalid email addresses were left out"),
    "naive_time": ("time without a zone was read as UTC", "times without a zone were read as UTC"),
    "unknown_status": ("comment with an unknown status was imported as pending",
                       "comments with an unknown status were imported as pending"),
    "existing_thread": ("thread already existed and was kept as it was",
                        "threads already existed and were kept as they were"),
    "merged_thread": ("thread had the same key as another of the file and was merged into it",
                      "threads had the same key as others of the file and were merged into them"),
    "no_link": ("thread without a link was keyed by its id",
                "threads without a link were keyed by their ids"),
    "bad_url": ("thread link was not an http(s) URL and was left out",
                "thread links were not http(s) URLs and were left out"),
    "long_title": ("thread title was shortened to 300 characters",
                   "thread titles were shortened to 300 characters"),
    "deleted_thread": ("thread deleted at the source was imported closed",
                       "threads deleted at the source were imported closed"),
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _say(table: dict[str, tuple[str, str]], code: str, n: int) -> str:
    one, many = table[code]
    return f"{n} {one if n == 1 else many}"


@dataclass
class Summary:
    """What an import did: threads, comments by status, what was skipped and why, and notes."""

    source: str
    threads_created: int = 0
    threads: int = 0

    def __post_init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()

    def skip(self, code: str) -> None:
        self.skipped[code] += 1

    def note(self, code: str) -> None:
        self.notes[code] += 1

    @property
    def imported(self) -> int:
        return sum(self.statuses.values())

    def lines(self) -> list[str]:
        by_status = ", ".join(f"{self.statuses[s]} {s}" for s in Status if self.statuses[s])
        lines = [f"Imported from {self.source}: {_plural(self.threads, 'thread')} "
                 f"({self.threads_created} new), {_plural(self.imported, 'comment')}"
                 + (f" ({by_status})" if by_status else "") + "."]
        # In the tables' order, so that the same file always gives the same summary.
        if self.skipped:
            lines.append(f"Skipped {sum(self.skipped.values())}: " + "; ".join(
                _say(SKIPS, code, self.skipped[code]) for code in SKIPS if self.skipped[code])
                + ".")
        lines.extend(_say(NOTES, code, self.notes[code]) + "." for code in NOTES
                     if self.notes[code])
        return lines

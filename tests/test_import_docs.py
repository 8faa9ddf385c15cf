"""docs/import.md names every outcome the import summary can print, so an admin reading a
summary line finds what it means."""

from __future__ import annotations

from pathlib import Path

from discuss.importers.summary import NOTES, SKIPS

DOC = Path(__file__).parent.parent / "docs" / "import.md"


def test_every_outcome_of_the_summary_is_explained_in_the_docs():
    text = " ".join(DOC.read_text().split())
    missing = [many for _, many in [*SKIPS.values(), *NOTES.values()] if many not in text]
    assert missing == []

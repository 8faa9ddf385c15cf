"""Short text fields: control characters stripped, lengths checked, clear errors.

The checks of names, titles and notes that every domain module shares; nothing here reads the
database.
"""

from __future__ import annotations

import re

from discuss.errors import InvalidInput

# Control characters other than tab/newline never belong in a comment, a name or a title.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def check_text(value: object, limit: int, field: str, *, label: str = "",
               one_line: bool = False) -> str:
    """A short text field as stored: control characters removed, trimmed (``one_line``: its
    whitespace runs made one space), at most ``limit`` characters; None is empty. ``label``
    names the field in messages (default: the field's name)."""
    label = label or field
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"The {label} must be text.", {field: "invalid"})
    value = CONTROL.sub("", value)
    value = " ".join(value.split()) if one_line else value.strip()
    if len(value) > limit:
        raise InvalidInput(f"The {label} may have at most {limit} characters.",
                           {field: "too_long"})
    return value

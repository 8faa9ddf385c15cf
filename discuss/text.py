"""Short text fields: control characters stripped, lengths checked, clear errors.

The checks of names, titles and notes that every domain module shares; nothing here reads the
database.
"""

from __future__ import annotations

import re

from discuss.errors import InvalidInput

# Control characters other than tab/newline never belong in a comment, a name or a title.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_line(value: object, limit: int, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field_name} must be text.", {field_name: "invalid"})
    value = " ".join(CONTROL.sub("", value).split())
    if len(value) > limit:
        raise InvalidInput(f"{field_name} is longer than {limit} characters.",
                           {field_name: "too_long"})
    return value


def check_text(value: object, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"The {name} must be text.", {name: "invalid"})
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"The {name} may have at most {limit} characters.",
                           {name: "too_long"})
    return value

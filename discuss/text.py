"""Short text fields: control characters stripped, lengths checked, clear errors.

The checks of names, titles and notes that every domain module shares; nothing here reads the
database.
"""

from __future__ import annotations

import re

from discuss.errors import InvalidInput
from discuss.i18n import N_

# Control characters other than tab/newline never belong in a comment, a name or a title.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


# What a reader is told about the fields they fill in, in words a translation can follow
# (discuss.i18n); other fields (moderators', API-only) are named by ``label``.
FIELD_MESSAGES = {
    "display_name": (N_("The display name must be text."),
                     N_("The display name may have at most %(max)s characters.")),
    "note": (N_("The note must be text."), N_("The note may have at most %(max)s characters.")),
}


def check_text(value: object, limit: int, field: str, *, label: str = "",
               one_line: bool = False) -> str:
    """A short text field as stored: control characters removed, trimmed (``one_line``: its
    whitespace runs made one space), at most ``limit`` characters; None is empty. ``label``
    names the field in messages (default: the field's name)."""
    label = label or field
    not_text, too_long = FIELD_MESSAGES.get(field, (
        f"The {label} must be text.", f"The {label} may have at most %(max)s characters."))
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(not_text, {field: "invalid"})
    value = CONTROL.sub("", value)
    value = " ".join(value.split()) if one_line else value.strip()
    if len(value) > limit:
        raise InvalidInput(too_long, {field: "too_long"}, params={"max": limit})
    return value

"""What an id may be: a whole number from 1 to 2**31 - 1, what an INTEGER id column holds on
PostgreSQL (SQLite's would hold up to 2**63 - 1; the smaller bound serves both).

Every id that comes from outside (a URL, a form, a JSON body, a signed link) goes through
``parse_id`` before it reaches a query: a larger number makes SQLite's driver overflow and
PostgreSQL refuse the statement, which must be a "not found" or a 400, never a 500. Digits are
ASCII only: ``"²".isdigit()`` is true, but int() refuses it.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(raw: object) -> int | None:
    """``raw`` as an id (an int, or a string of ASCII digits), or None when it cannot be one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        if not _ASCII_DIGITS.fullmatch(raw):
            return None
        raw = int(raw)
    if isinstance(raw, int) and 1 <= raw <= MAX_ID:
        return raw
    return None


def is_ascii_number(raw: object, max_digits: int) -> bool:
    """True for a string of 1..max_digits ASCII digits (a count, a number of days)."""
    return isinstance(raw, str) and re.fullmatch(rf"[0-9]{{1,{max_digits}}}", raw) is not None

"""Email addresses as typed and as compared: the one check and the lower-cased key.

Owns nothing else; every module that takes an address (comments, accounts, bans) calls this.
"""

from __future__ import annotations

import re

from discuss.errors import InvalidInput

EMAIL_RE = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,189}\.[^@\s<>\".]{2,63}$")


def normalize_email(email: object) -> tuple[str, str]:
    """(email as typed, lower-cased key); empty strings when none was given."""
    if email is None or email == "":
        return "", ""
    if not isinstance(email, str):
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    email = email.strip()
    if not email:
        return "", ""
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    return email, email.lower()

"""Email addresses as typed and as compared: the one check and the lower-cased key.

Owns nothing else; every module that takes an address (comments, accounts, bans) calls this.
"""

from __future__ import annotations

import email_validator

from discuss.errors import InvalidInput


def normalize_email(email: object) -> tuple[str, str]:
    """(email as typed, lower-cased key); empty strings when none was given."""
    if email is None or email == "":
        return "", ""
    if not isinstance(email, str):
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    email = email.strip()
    if not email:
        return "", ""
    if len(email) > 254:
        raise InvalidInput("The email address is not valid.", {"email": "invalid"})
    try:
        # RFC 5321/5322 syntax as mail servers accept it, without the parts that make one
        # mailbox look like many: no comments ("a@b.example(x)"), quoted or comma-joined
        # local parts, display names or IP-literal domains; the domain normalised (IDNA,
        # case). Deliverability is not looked up (no DNS from a request).
        checked = email_validator.validate_email(
            email, check_deliverability=False, allow_quoted_local=False,
            allow_domain_literal=False, allow_display_name=False)
    except email_validator.EmailNotValidError as exc:
        # email_validator says why in English: translations say the first sentence alone.
        raise InvalidInput("The email address is not valid: %(reason)s", {"email": "invalid"},
                           params={"reason": str(exc)}) from exc
    return checked.normalized, checked.normalized.lower()

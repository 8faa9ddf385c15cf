"""The app's Request class: Flask's, with plain query strings parsed by splitting, and JSON
nested too deep for Python's parser answered as bad input.

werkzeug parses ``request.args`` with urllib's ``parse_qsl``, which unquotes every name and
value; an article list asking for the comment counts of twenty keys spent more on that than on
its database query. A query string that is ASCII without ``%`` or ``+`` has nothing to unquote,
and splitting it on ``&`` and the first ``=`` gives exactly the pairs ``parse_qsl`` would (empty
parts skipped, a name without ``=`` has the value ""). Any other query string goes werkzeug's way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request as FlaskRequest
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.utils import cached_property

_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


class Request(FlaskRequest):
    """Flask's Request whose args split a plain ASCII query string instead of unquoting it,
    and whose JSON is a 400 when Python's parser cannot hold it."""

    def get_json(self, force: bool = False, silent: bool = False,
                 cache: bool = True) -> Any | None:
        # json.loads raises RecursionError (not a ValueError, which werkzeug catches) for
        # arrays or objects nested a few thousand deep: a 400, never a 500.
        try:
            data = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON is nested too deeply.") from None
        # JSON may spell a lone UTF-16 surrogate ("\ud800"), which no text can hold: every
        # later encode() would fail. Checked only when the body has such an escape.
        if data is not None and _SURROGATE_ESCAPE.search(self.get_data(cache=True)):
            try:
                json.dumps(data, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                if silent:
                    return None
                raise BadRequest("The JSON holds an invalid character (a lone surrogate).") \
                    from None
        return data

    @cached_property
    def args(self) -> MultiDict[str, str]:
        query = self.environ.get("QUERY_STRING", "")
        if "%" in query or "+" in query or not query.isascii():
            return super().args
        pairs = [part.partition("=")[::2] for part in query.split("&") if part]
        return self.parameter_storage_class(pairs)

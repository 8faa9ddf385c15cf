"""URL converters: ``<int:…>`` in a route is an id the database can hold."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from discuss.ids import MAX_ID


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` that matches only ids the database can hold (discuss.ids.MAX_ID): a larger
    number is an unknown URL (404), never an id that overflows the database (500)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Make ``<int:…>`` the bounded converter, before any route is added (a rule binds its
    converter when it is added)."""
    app.url_map.converters["int"] = DatabaseIdConverter

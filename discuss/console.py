"""The ``discuss`` command installed with the package: ``flask --app wsgi discuss …`` without
the typing, and ``discuss db upgrade`` for the migrations. ``discuss --help`` lists them."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_commands

from discuss import create_app
from discuss.cli import discuss_cli


def _app() -> Flask:
    return create_app()


def main() -> None:
    group = FlaskGroup(name="discuss", help=discuss_cli.help, create_app=_app,
                       add_default_commands=False, add_version_option=False,
                       load_dotenv=False, set_debug_flag=False)
    for name, command in discuss_cli.commands.items():
        group.add_command(command, name)
    group.add_command(db_commands, "db")
    group.main(prog_name="discuss")

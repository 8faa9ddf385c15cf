"""`flask --app wsgi discuss …`: thin admin commands; each commits once after the domain call."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from discuss import sites
from discuss.errors import DiscussError
from discuss.extensions import db

discuss_cli = AppGroup("discuss", help="Administer discuss: sites, users, tokens.")


def _fail(exc: DiscussError) -> None:
    db.session.rollback()
    raise click.ClickException(exc.message)


@discuss_cli.command("create-site")
@click.argument("slug")
@click.option("--origin", "origins", multiple=True,
              help="An origin allowed to embed the site, e.g. https://news.example.com.")
@click.option("--moderation", type=click.Choice(["first", "pre", "post"]), default="first",
              show_default=True)
@click.option("--no-guests", is_flag=True, help="Only signed-in readers may comment.")
@click.option("--name", default="", help="A display name for the site.")
def create_site_command(slug: str, origins: tuple[str, ...], moderation: str,
                        no_guests: bool, name: str) -> None:
    """Create a site that articles can embed."""
    try:
        site = sites.create_site(slug, origins=origins, moderation=moderation,
                                 allow_guests=not no_guests, name=name)
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created site {site.slug} (moderation: {site.moderation}, "
               f"origins: {', '.join(site.origins) or 'any'})")

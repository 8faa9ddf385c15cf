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


@discuss_cli.command("rerender")
@click.option("--batch-size", default=500, show_default=True)
def rerender_command(batch_size: int) -> None:
    """Render every comment's HTML again (after the allow-list or the renderer changed)."""
    from sqlalchemy import func, select

    from discuss.comments import set_body
    from discuss.models import Comment

    total = db.session.scalar(select(func.count()).select_from(Comment)) or 0
    changed = 0
    last_id = 0
    with click.progressbar(length=total, label="Rendering comments") as bar:
        while True:
            batch = list(db.session.scalars(
                select(Comment).where(Comment.id > last_id).order_by(Comment.id)
                .limit(batch_size)
            ))
            if not batch:
                break
            for comment in batch:
                before = comment.html
                set_body(comment, comment.body)
                changed += comment.html != before
            last_id = batch[-1].id
            db.session.commit()  # one transaction per batch
            bar.update(len(batch))
    click.echo(f"Rendered {total} comments; {changed} changed.")

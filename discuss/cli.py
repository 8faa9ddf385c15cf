"""`flask --app wsgi discuss …`: thin admin commands; each commits once after the domain call."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from discuss import accounts, filter_training, sites, sso, transfer, webhooks
from discuss.errors import DiscussError
from discuss.extensions import db
from discuss.models import ModerationPolicy
from discuss.threads import get_site, origin_of

discuss_cli = AppGroup("discuss", help="Administer discuss: sites, users, tokens.")


def _user_named(username: str):
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"No user named {username}.")
    return user


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
@click.option("--trust-after", "trust_after", default="1", show_default=True, metavar="N",
              help="Under `first` moderation, an author's comments wait until N of theirs were "
                   "approved (since their last one marked spam).")
def create_site_command(slug: str, origins: tuple[str, ...], moderation: str,
                        no_guests: bool, name: str, trust_after: str) -> None:
    """Create a site that articles can embed."""
    try:
        site = sites.create_site(slug, origins=origins, moderation=moderation,
                                 allow_guests=not no_guests, name=name, trust_after=trust_after)
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created site {site.slug} (moderation: {site.moderation}, "
               f"origins: {', '.join(site.origins) or 'any'}, trust after: {site.trust_after})")


DEMO_ORIGINS = ("http://127.0.0.1:5000", "http://localhost:5000", "https://news.example.com")


@discuss_cli.command("demo-setup")
def demo_setup_command() -> None:
    """Create the `demo` site that the demo page at / embeds; safe to run again."""
    from flask import current_app
    from sqlalchemy import select

    from discuss.models import Site

    wanted = list(dict.fromkeys(
        [*DEMO_ORIGINS, origin_of(current_app.config["DISCUSS_PUBLIC_URL"])]))
    site = db.session.scalar(select(Site).where(Site.slug == "demo"))
    if site is None:
        try:
            site = sites.create_site("demo", origins=wanted, moderation="first", name="Demo")
        except DiscussError as exc:
            _fail(exc)
        db.session.commit()
        click.echo(f"Created site demo (moderation: {site.moderation}, "
                   f"origins: {', '.join(site.origins)})")
    else:
        missing = [origin for origin in wanted if origin not in site.origins]
        if missing:
            site.origins = [*site.origins, *missing]
            db.session.commit()
            click.echo(f"Site demo exists; allowed its demo origins too: {', '.join(missing)}")
        else:
            click.echo("Site demo exists already.")
    moderator = _demo_moderator(site)
    db.session.commit()
    public = current_app.config["DISCUSS_PUBLIC_URL"]
    click.echo(
        f"\nThe demo moderator, {moderator.username}: open this link to sign in (it works once, "
        f"for a day), then approve comments at {public}/moderate/demo/pending\n\n  "
        + _signin_link(moderator) + "\n")


DEMO_MODERATOR = "demo-moderator"


def _demo_moderator(site):
    """The demo's moderator: an account with a random password, reached by sign-in links."""
    import secrets

    from discuss.models import SiteModerator

    user = accounts.find_user(DEMO_MODERATOR)
    if user is None:
        user = accounts.create_user(DEMO_MODERATOR, "moderator@demo.example",
                                    secrets.token_urlsafe(24), verified=True)
    if site.id not in {s.id for s in user.moderated_sites}:
        db.session.add(SiteModerator(site_id=site.id, user_id=user.id))
        db.session.flush()
    return user


def _signin_link(user) -> str:
    from flask import current_app

    token = accounts.signin_link_token(user, secret=current_app.config["SECRET_KEY"])
    return f"{current_app.config['DISCUSS_PUBLIC_URL']}/auth/link/{token}"


@discuss_cli.command("queue-mail")
@click.argument("username")
@click.argument("choice", required=False, type=click.Choice(accounts.QUEUE_MAIL_CHOICES))
@click.option("--on/--off", "on", default=None,
              help="The same as `each` / `off`.")
def queue_mail_command(username: str, choice: str | None, on: bool | None) -> None:
    """How USERNAME hears of comments waiting in a queue of their sites: off, each (a mail as
    they arrive, at most one per site every DISCUSS_QUEUE_MAIL_MINUTES) or daily (a digest)."""
    if (choice is None) == (on is None):
        raise click.UsageError("Give one of off, each, daily (or --on/--off).")
    user = _user_named(username)
    try:
        accounts.set_queue_mail(user, choice if choice is not None else bool(on))
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    shown = choice if choice is not None else ("on" if on else "off")
    click.echo(f"Queue mails for {user.username}: {shown}")


@discuss_cli.command("signin-link")
@click.argument("username")
def signin_link_command(username: str) -> None:
    """Print a link that signs USERNAME in once (valid for a day): for a first admin, or a
    moderator who lost their password."""
    user = _user_named(username)
    click.echo(_signin_link(user))


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


@discuss_cli.command("create-user")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address (taken as confirmed).")
@click.option("--password", required=True, help="At least 10 characters, not a weak one.")
@click.option("--admin", is_flag=True, help="May administer every site.")
@click.option("--moderator-of", "moderator_of", multiple=True, metavar="SLUG",
              help="Make the user a moderator of this site (repeatable).")
def create_user_command(username: str, email: str, password: str, admin: bool,
                        moderator_of: tuple[str, ...]) -> None:
    """Create a user account (an admin, or a moderator of some sites)."""
    try:
        moderated = [get_site(slug) for slug in moderator_of]
        user = accounts.create_user(username, email, password, is_admin=admin, verified=True,
                                    moderator_of=moderated)
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    roles = (["admin"] if admin else []) + [f"moderator of {s}" for s in moderator_of]
    click.echo(f"Created user {user.username}" + (f" ({', '.join(roles)})" if roles else ""))


@discuss_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="created by the command line", show_default=True,
              help="A name to recognise the token by in the account's token list.")
def create_token_command(username: str, name: str) -> None:
    """Print a new personal API token for USERNAME (use as Authorization: Bearer <token>)."""
    from flask import current_app

    user = _user_named(username)
    try:
        raw, _ = accounts.create_api_token(user, name,
                                           days=current_app.config["DISCUSS_TOKEN_DAYS"])
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(raw)


@discuss_cli.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False))
def backup_command(destination: str) -> None:
    """Copy the SQLite database to DESTINATION while the service keeps running."""
    from pathlib import Path

    from flask import current_app

    from discuss.backup import backup_sqlite

    try:
        size = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(destination))
    except DiscussError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Backed up the database to {destination} ({size:,} bytes).")


@discuss_cli.command("export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["discuss", "wxr"]), default="discuss",
              show_default=True, help="discuss: our JSON; wxr: WordPress WXR 1.2.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Where to write the export (default: standard output).")
def export_command(slug: str, fmt: str, output) -> None:
    """Export a site's threads and comments (every status) as JSON or WordPress WXR."""
    from discuss import wxr_export

    try:
        site = get_site(slug)
    except DiscussError as exc:
        _fail(exc)
    total = transfer.count_threads(site)
    with click.progressbar(length=total, label="Exporting threads", file=sys.stderr) as bar:
        if fmt == "wxr":
            from flask import current_app

            base_url = site.origins[0] if site.origins else current_app.config[
                "DISCUSS_PUBLIC_URL"]
            wxr_export.write_wxr(site, output, base_url=base_url,
                                 on_thread=lambda: bar.update(1))
        else:
            _write_json_export(site, output, on_thread=lambda: bar.update(1))
    click.echo(f"Exported {total} threads of {site.slug}.", err=True)


def _write_json_export(site, output, on_thread) -> None:  # type: ignore[no-untyped-def]
    output.write(json.dumps({"format": transfer.FORMAT, "version": transfer.VERSION,
                             "site": site.slug})[:-1] + ', "threads": [\n')
    for n, thread in enumerate(transfer.export_threads(site)):
        output.write((",\n" if n else "") + json.dumps(thread, ensure_ascii=False))
        on_thread()
    output.write("\n]}\n")


class _ImportProgress:
    """The import's progress bar on standard error: bytes of the file, or Isso's rows."""

    def __init__(self) -> None:
        self.bar = None
        self.shown = 0

    def start(self, total: int, unit: str) -> None:
        if self.bar is None:
            label = "Reading the file" if unit == "bytes" else "Reading the comments"
            self.bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, done: int) -> None:
        if self.bar is not None and done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@discuss_cli.command("import")
@click.argument("slug")
@click.argument("source", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "discuss", "disqus", "wordpress", "isso"]),
              help="auto tells it from the content (gzip-compressed files too).")
@click.option("--key", default="path", show_default=True, type=click.Choice(["path", "url", "id"]),
              help="A thread's key: its URL's path, the whole URL, or the export's own id.")
def import_command(slug: str, source: str, fmt: str, key: str) -> None:
    """Import a Disqus, WordPress (WXR) or Isso export, or our own JSON, into a site.

    One transaction: a file that cannot be read writes nothing. Importing the same file again
    adds and changes nothing."""
    from pathlib import Path

    from discuss import importers

    progress = _ImportProgress()
    try:
        site = get_site(slug)
        summary = importers.import_file(site, Path(source), fmt=fmt, key=key, progress=progress)
    except DiscussError as exc:
        progress.close()
        _fail(exc)
    progress.close()
    db.session.commit()
    for line in summary.lines():
        click.echo(line)
    _train_filters(filter_training.noted_sites(), "Teaching the spam filter the imported statuses")


@discuss_cli.command("site-settings")
@click.argument("slug")
@click.option("--honeypot/--no-honeypot", default=None,
              help="The hidden honeypot field of comment forms (filled in → spam).")
@click.option("--min-submit-seconds", metavar="N",
              help="A comment form sent sooner after it was shown is spam (0–3600; 0 = off).")
@click.option("--max-links", metavar="N",
              help="More links than this and a comment waits (0–100; -1 = off).")
@click.option("--blocklist-file", type=click.File("r", encoding="utf-8"), metavar="PATH",
              help="Blocked words or phrases, one per line ('-' reads standard input; an "
                   "empty file clears the list).")
@click.option("--blocklist-action", type=click.Choice(["pending", "spam"]),
              help="What a blocklist match does to a comment.")
@click.option("--report-threshold", metavar="N",
              help="Distinct readers' reports that hide a comment (1–1000; 'default' = "
                   "DISCUSS_REPORT_THRESHOLD).")
@click.option("--deleted-user-text", type=click.Choice(["keep", "remove"]),
              help="Keep or remove the text of a deleted account's comments.")
@click.option("--moderation", type=click.Choice(["first", "pre", "post"]))
@click.option("--guests/--no-guests", default=None, help="Whether guests may comment.")
@click.option("--trust-after", metavar="N",
              help="Under `first` moderation, an author's comments wait until N of theirs were "
                   "approved since their last one marked spam (1–100; `first` alone is 1).")
@click.option("--spam-filter/--no-spam-filter", default=None,
              help="The filter learned from this site's moderators' decisions.")
@click.option("--spam-threshold", metavar="P",
              help="The learned filter's spam probability at or over which a comment is spam "
                   "(0.5–1; default 0.9).")
@click.option("--language", metavar="LANG",
              help="The pages' language for readers whose browser asks for none discuss has "
                   "(en, de, ar…; see docs/languages.md).")
@click.option("--origin", "origins", multiple=True, metavar="URL",
              help="The origins allowed to embed the site (repeat for several; they replace "
                   "the list).")
@click.option("--any-origin", is_flag=True,
              help="Empty the origins list: any web page may embed the site.")
@click.option("--sso-secret", metavar="SECRET",
              help="Turn single sign-on on with this HS256 secret (32+ characters; see "
                   "docs/sso.md).")
@click.option("--no-sso", is_flag=True, help="Turn single sign-on off (forgets the secret).")
@click.option("--webhook-url", metavar="URL",
              help="POST the site's comment events here, signed (http or https; an empty "
                   "value turns webhooks off; see docs/feeds-and-webhooks.md).")
@click.option("--webhook-secret", metavar="SECRET",
              help="The key of the webhook's HMAC-SHA256 signature (16–200 characters).")
@click.option("--no-webhook", is_flag=True, help="Turn webhooks off (forgets URL and secret).")
def site_settings_command(slug: str, honeypot: bool | None, min_submit_seconds: str | None,
                          max_links: str | None, blocklist_file, blocklist_action: str | None,
                          report_threshold: str | None, deleted_user_text: str | None,
                          moderation: str | None, guests: bool | None, trust_after: str | None,
                          spam_filter: bool | None, spam_threshold: str | None,
                          language: str | None, origins: tuple[str, ...],
                          any_origin: bool, sso_secret: str | None, no_sso: bool,
                          webhook_url: str | None, webhook_secret: str | None,
                          no_webhook: bool) -> None:
    """Change a site's origins, spam rules, reports, policy and sign-on; print its settings
    (all, without options)."""
    from flask import current_app

    if origins and any_origin:
        raise click.UsageError("Give --origin or --any-origin, not both.")
    changes = {"honeypot": honeypot, "min_submit_seconds": min_submit_seconds,
               "max_links": max_links, "blocklist_action": blocklist_action,
               "deleted_user_text": deleted_user_text, "moderation": moderation,
               "allow_guests": guests, "trust_after": trust_after, "spam_filter": spam_filter,
               "spam_threshold": spam_threshold, "language": language}
    changes = {name: value for name, value in changes.items() if value is not None}
    if origins or any_origin:
        changes["origins"] = list(origins)
    if blocklist_file is not None:
        changes["blocklist"] = blocklist_file.read()
    if report_threshold is not None:
        changes["report_threshold"] = (None if report_threshold.strip().lower() == "default"
                                       else report_threshold)
    if sso_secret is not None and no_sso:
        raise click.UsageError("Give --sso-secret or --no-sso, not both.")
    if no_webhook and (webhook_url is not None or webhook_secret is not None):
        raise click.UsageError("Give --webhook-url/--webhook-secret or --no-webhook, not both.")
    try:
        site = get_site(slug)
        sites.update_site(site, **changes)
        if sso_secret is not None:
            sso.set_secret(site, sso_secret)
        elif no_sso:
            sso.turn_off(site)
        webhook_given = webhook_url is not None or webhook_secret is not None
        if no_webhook:
            webhooks.turn_off(site)
        elif webhook_given:
            webhooks.set_webhook(site, site.webhook_url if webhook_url is None else webhook_url,
                                 webhook_secret)
    except DiscussError as exc:
        _fail(exc)
    db.session.commit()
    saved = bool(changes) or sso_secret is not None or no_sso or no_webhook or webhook_given
    rules = sites.spam_settings(site)
    entries = rules["blocklist"].splitlines()
    threshold = rules["report_threshold"]
    lines = {
        "origins": ", ".join(site.origins) or "any (every web page may embed it)",
        "moderation": site.moderation.value,
        "guests": "allowed" if site.allow_guests else "not allowed",
        "language": site.language,
        "honeypot": "on" if rules["honeypot"] else "off",
        "min_submit_seconds": rules["min_submit_seconds"] or "0 (off)",
        "max_links": "-1 (off)" if rules["max_links"] < 0 else rules["max_links"],
        "blocklist": f"{len(entries)} entries" + (f": {', '.join(entries)}" if entries else ""),
        "blocklist_action": rules["blocklist_action"],
        "report_threshold": threshold if threshold is not None
        else f"default ({current_app.config['DISCUSS_REPORT_THRESHOLD']})",
        "deleted_user_text": rules["deleted_user_text"],
        "trust_after": f"{rules['trust_after']} approved comment(s)"
        + ("" if site.moderation == ModerationPolicy.FIRST
           else " (applies under `first` moderation)"),
        "spam_filter": "on" if rules["spam_filter"] else "off",
        "spam_threshold": rules["spam_threshold"],
    }
    if site.sso_secret or no_sso:  # off and untouched: as before single sign-on existed
        lines["sso"] = "on" if site.sso_secret else "off"
    if site.webhook_url or no_webhook or webhook_given:  # the same for webhooks
        lines["webhook"] = f"{site.webhook_url} (signed)" if site.webhook_url else "off"
    click.echo(f"Settings of site {site.slug}" + (" (saved)" if saved else "") + ":")
    for name, value in lines.items():
        click.echo(f"  {name}: {value}")


def _train_filters(site_ids: set[int] | list[int], label: str) -> int:
    """Train these sites' learned filters on what they have not learned yet, with a bar."""
    learned = 0
    with click.progressbar(sorted(site_ids), label=label, file=sys.stderr) as bar:
        for site_id in bar:
            learned += filter_training.train(site_id)
    return learned


@discuss_cli.command("spam-train")
@click.argument("slug", required=False)
@click.option("--rebuild", is_flag=True,
              help="Forget the learned filter and learn every decision again.")
def spam_train_command(slug: str | None, rebuild: bool) -> None:
    """Teach learned spam filters the decisions they have not learned yet (all sites, or SLUG).

    Moderators' decisions are learned as they are made; this catches up after a failure, and
    --rebuild starts a site's filter afresh."""
    try:
        site_ids = [get_site(slug).id] if slug else []
    except DiscussError as exc:
        _fail(exc)
    if rebuild:
        if not slug:
            raise click.ClickException("Name the site to rebuild: spam-train SLUG --rebuild.")
        filter_training.reset(site_ids[0])
        db.session.commit()
    due = site_ids or filter_training.sites_with_new_examples()
    learned = _train_filters(due, "Training spam filters")
    click.echo(f"Learned {learned} decision(s) in {len(due)} site(s).")


@discuss_cli.command("spam-eval")
@click.argument("slug")
@click.option("--train-share", default=0.6, show_default=True, type=click.FloatRange(0.1, 0.9),
              help="Share of the decisions (oldest first) to train on; the rest are held out.")
@click.option("--threshold", type=click.FloatRange(0.5, 1.0),
              help="Spam probability to test at (default: the site's threshold).")
def spam_eval_command(slug: str, train_share: float, threshold: float | None) -> None:
    """Measure the learned filter on SLUG's own held-out decisions: precision and recall."""
    try:
        site = get_site(slug)
    except DiscussError as exc:
        _fail(exc)
    result = filter_training.evaluate(site, train_share=train_share, threshold=threshold)
    db.session.rollback()
    click.echo(f"Site {site.slug}: trained on {result.trained_on} decision(s), tested on "
               f"{result.tested_on} ({result.spam_tested} spam) at threshold "
               f"{result.threshold:g}.")
    if result.tested_on == 0 or result.spam_tested == 0:
        click.echo("Not enough decisions to measure: both kinds are needed in the held-out "
                   "part.")
        return
    click.echo(f"  precision: {result.precision:.3f}  ({result.true_positives} of "
               f"{result.true_positives + result.false_positives} flagged were spam)")
    click.echo(f"  recall:    {result.recall:.3f}  ({result.true_positives} of "
               f"{result.spam_tested} spam caught)")

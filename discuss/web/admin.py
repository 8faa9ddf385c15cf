"""The site admin pages under /admin: list, create and edit sites, snippets, moderators.

Only admins (``User.is_admin``) see these pages; everyone else, signed in or not, gets a 404 so
the pages do not reveal that they exist. Forms check their shape (Flask-WTF); the rules live in
``discuss.sites``, which every way in (these pages, the CLI) goes through.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from discuss import sites, sso, threads, webhooks
from discuss.errors import DiscussError
from discuss.extensions import db
from discuss.i18n import LANGUAGES, language_name
from discuss.models import (
    BlocklistAction,
    DeletedUserText,
    DeliveryState,
    ModerationPolicy,
    Site,
)
from discuss.permissions import Actor, require
from discuss.web.security import current_actor
from discuss.web.webhook_events import queue_test_event

bp = Blueprint("admin", __name__, url_prefix="/admin")

POLICIES = [
    SelectChoice(ModerationPolicy.FIRST.value,
                 "first: a new author's comments wait until one is approved"),
    SelectChoice(ModerationPolicy.PRE.value, "pre: every comment waits for a moderator"),
    SelectChoice(ModerationPolicy.POST.value,
                 "post: published at once (spam rules still hold comments)"),
]


BLOCKLIST_ACTIONS = [
    SelectChoice(BlocklistAction.PENDING.value, "pending: hold the comment for a moderator"),
    SelectChoice(BlocklistAction.SPAM.value, "spam: send the comment to the spam queue"),
]
LANGUAGE_CHOICES = [SelectChoice(lang, f"{lang}: {language_name(lang)}") for lang in LANGUAGES]
DELETED_USER_TEXTS = [
    SelectChoice(DeletedUserText.KEEP.value, 'keep: their text stays, signed "deleted user"'),
    SelectChoice(DeletedUserText.REMOVE.value,
                 "remove: their text is replaced by a note that it was removed"),
]


def _origins_valid(form: FlaskForm, field: TextAreaField) -> None:
    try:
        sites.check_origins((field.data or "").splitlines())
    except DiscussError as exc:
        raise ValidationError(exc.message) from exc


def _edit_window_valid(form: FlaskForm, field: StringField) -> None:
    try:
        sites.check_edit_window(field.data)
    except DiscussError as exc:
        raise ValidationError(exc.message) from exc


class SiteSettingsForm(FlaskForm):
    """The settings a site's edit page changes (the slug never changes: embeds name it)."""

    class Meta:
        csrf = False  # checked for every cookie-carrying POST by discuss.web.security

    name = StringField("Name", validators=[Optional(), Length(max=sites.MAX_NAME)],
                       description="Shown to moderators; defaults to the slug.")
    origins = TextAreaField("Origins allowed to embed the site", validators=[_origins_valid],
                            description="One per line, like https://news.example.com. "
                                        "Empty: any page may embed it.")
    moderation = SelectField("Moderation", choices=POLICIES,
                             validate_choice=True)
    allow_guests = BooleanField("Guests may comment without an account")
    require_guest_name = BooleanField("Guests must give a name")
    language = SelectField(
        "Language of the discussion pages", choices=LANGUAGE_CHOICES, default="en",
        validate_choice=True,
        description="For readers whose browser asks for no language discuss speaks; a page "
                    "may name its own (data-lang).")
    edit_window = StringField("Edit window in seconds", validators=[_edit_window_valid],
                              description="How long authors may edit or delete their "
                                          "comments: 0 to 86400. Empty: the service's "
                                          "default.")

    def settings(self) -> dict:
        chosen = {"name": self.name.data or "",
                  "origins": (self.origins.data or "").splitlines(),
                  "moderation": self.moderation.data, "allow_guests": self.allow_guests.data,
                  "require_guest_name": self.require_guest_name.data,
                  "edit_window": self.edit_window.data}
        if self.language.raw_data:  # a form from before the setting leaves it as it is
            chosen["language"] = self.language.data
        return chosen


def _spam_rule(check, fieldset: str = "spam_rules"):
    """A WTForms validator running a discuss.sites check, when its fieldset was sent (the
    fieldset's hidden field says 1)."""

    def validate(form: SiteEditForm, field) -> None:
        if getattr(form, fieldset).data != "1":
            raise StopValidation()  # an older form without the fieldset: those stay as they are
        try:
            check(field.data)
        except DiscussError as exc:
            raise ValidationError(exc.message) from exc

    return validate


class SiteEditForm(SiteSettingsForm):
    """The edit page's settings: the ones above plus the site's spam rules and reports."""

    # The fieldset sends spam_rules=1: an unticked box then means "off", while a form posted
    # without the fieldset leaves the spam rules alone.
    spam_rules = HiddenField()
    honeypot = BooleanField(
        "Honeypot: a hidden field in comment forms",
        description="People never see it; a bot that fills it in is marked as spam. "
                    "Untick to switch the rule off.")
    min_submit_seconds = StringField(
        "Seconds a comment form must be shown before it is sent",
        validators=[_spam_rule(sites.check_min_submit_seconds)],
        description="A form sent sooner is marked as spam (people take longer to type); one "
                    "whose timestamp is missing or forged waits for a moderator. 0 to "
                    f"{sites.MAX_SUBMIT_SECONDS}; 0 switches the rule off.")
    max_links = StringField(
        "Most links in a comment",
        validators=[_spam_rule(sites.check_max_links)],
        description="A comment with more links waits for a moderator. 0 to "
                    f"{sites.MAX_LINKS}; -1 switches the rule off.")
    blocklist = TextAreaField(
        "Blocked words and phrases",
        validators=[_spam_rule(sites.check_blocklist)],
        description="One per line (or separated by commas), matched as whole words whatever "
                    f"the case or accents. At most {sites.MAX_BLOCKLIST_ENTRIES} entries and "
                    f"{sites.MAX_BLOCKLIST_CHARS:,} characters; empty switches the rule off.")
    blocklist_action = SelectField(
        "When a comment contains a blocked word", choices=BLOCKLIST_ACTIONS,
        default=BlocklistAction.PENDING.value, validate_choice=True)
    report_threshold = StringField(
        "Reports that hide a comment",
        validators=[_spam_rule(sites.check_report_threshold)],
        description="When this many different readers report a comment, it is hidden until a "
                    f"moderator decides: 1 to {sites.MAX_REPORT_THRESHOLD}. Empty: the "
                    "service's default.")
    deleted_user_text = SelectField(
        "Comments of a reader who deletes their account", choices=DELETED_USER_TEXTS,
        default=DeletedUserText.KEEP.value, validate_choice=True)
    # The trust and filter fieldset sends learning=1, as the spam rules' does (above).
    learning = HiddenField()
    trust_after = StringField(
        "Approved comments before an author is trusted",
        validators=[_spam_rule(sites.check_trust_after, "learning")],
        description="Under the “first” policy an author's comments wait until this many of "
                    "theirs were approved; a comment marked spam takes the trust away until "
                    f"as many more are approved. 1 to {sites.MAX_TRUST_AFTER}.")
    spam_filter = BooleanField(
        "Learned spam filter",
        description="Learns from your moderators' decisions (approve and reject: not spam; "
                    "spam: spam) and sends comments it finds likely spam to the spam queue. "
                    "Untick to switch it off.")
    spam_threshold = StringField(
        "Spam probability that sends a comment to the spam queue",
        validators=[_spam_rule(sites.check_spam_threshold, "learning")],
        description=f"From {sites.MIN_SPAM_THRESHOLD} to 1; higher catches less and errs "
                    "less. The default is 0.9.")

    @property
    def has_spam_rules(self) -> bool:
        return self.spam_rules.data == "1"

    def spam_settings(self) -> dict:
        """The spam rules to save; none when the form was sent without their fieldset."""
        if not self.has_spam_rules:
            return {}
        return {"honeypot": bool(self.honeypot.data),
                "min_submit_seconds": self.min_submit_seconds.data,
                "max_links": self.max_links.data, "blocklist": self.blocklist.data or "",
                "blocklist_action": self.blocklist_action.data,
                "report_threshold": self.report_threshold.data,
                "deleted_user_text": self.deleted_user_text.data}

    def learning_settings(self) -> dict:
        """Trust and the learned filter; none when the form was sent without their fieldset."""
        if self.learning.data != "1":
            return {}
        return {"trust_after": self.trust_after.data, "spam_filter": bool(self.spam_filter.data),
                "spam_threshold": self.spam_threshold.data}


class SsoForm(FlaskForm):
    """Single sign-on: generate a secret (shown once), set one given, or turn it off."""

    class Meta:
        csrf = False

    action = SelectField(choices=["generate", "set", "off"], validate_choice=True)
    sso_secret = StringField("Secret", validators=[Optional()],
                             description="At least 32 characters. The publisher's server "
                                         "signs sign-on tokens with it (see docs/sso.md).")


class WebhookForm(FlaskForm):
    """The site's webhook: its URL and secret (empty: keep it, or generate one), or off."""

    class Meta:
        csrf = False

    action = SelectField(choices=["save", "off"], validate_choice=True)
    webhook_url = StringField("URL", validators=[Optional()],
                              description="Where each comment event is POSTed as JSON "
                                          "(http or https).")
    webhook_secret = StringField(
        "Secret", validators=[Optional()],
        description="Signs every request (X-Discuss-Signature). Empty: keep the current one, "
                    "or generate one for a new webhook (shown once).")


class NewSiteForm(SiteSettingsForm):
    """The new-site form's fields (saved by sites.create_site)."""

    slug = StringField("Slug", validators=[
        DataRequired("Give the site a slug."),
        Regexp(r"^[a-z0-9-]{1,64}$", message="The slug must be 1–64 characters of a-z, 0-9 "
                                              "and -.")],
        description="Used in the embed snippet: a-z, 0-9 and -, at most 64 characters.")


class ModeratorForm(FlaskForm):
    """Appointing a moderator by username."""

    class Meta:
        csrf = False

    username = StringField("Username", validators=[DataRequired("Give a username."),
                                                   Length(max=32)])


def _admin() -> Actor:
    actor = current_actor()
    if actor.user is None:  # signed out: sign in first (the page's existence is no secret)
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    try:
        require(actor, "admin", None)
    except DiscussError:
        abort(404)  # the admin pages do not exist for other readers
    return actor


def _site(slug: str) -> Site:
    try:
        return threads.get_site(slug)
    except DiscussError:
        abort(404)


def _mark_field(form: FlaskForm, exc: DiscussError) -> None:
    """Put a domain error next to the field it names (or above the form)."""
    db.session.rollback()
    name = next(iter(exc.fields), "")
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def snippets(site: Site) -> dict[str, str]:
    """The embed and count snippets of the SPEC, for this site on this service."""
    service = current_app.config["DISCUSS_PUBLIC_URL"].rstrip("/")
    article = (site.origins[0] if site.origins else "https://news.example.com") + "/ARTICLE-PATH"
    plain = f"{service}/embed/{site.slug}?" + urlencode({"key": "ARTICLE-ID", "url": article})
    embed = (f'<div id="discuss-thread" data-site="{site.slug}" data-key="ARTICLE-ID"\n'
             f'     data-title="ARTICLE TITLE" data-url="{article}">\n'
             f'  <noscript>\n'
             f'    <a href="{escape(plain)}">Read and join the discussion</a>\n'
             f'  </noscript>\n'
             f'</div>\n'
             f'<script async src="{service}/embed.js"></script>')
    count = (f'<a href="{article}#comments"><span data-discuss-count data-site="{site.slug}" '
             f'data-key="ARTICLE-ID"></span></a>\n'
             f'<script async src="{service}/count.js"></script>')
    return {"embed": embed, "count": count}


def _edit_page(site: Site, form: SiteEditForm, moderator_form: ModeratorForm,
               status: int = 200, **extra: object) -> tuple[str, int]:
    return render_template(
        "admin/site.html", site=site, form=form, moderator_form=moderator_form,
        moderators=sites.list_moderators(site), snippets=snippets(site),
        default_window=current_app.config["DISCUSS_EDIT_WINDOW"],
        default_threshold=current_app.config["DISCUSS_REPORT_THRESHOLD"],
        sso_form=extra.pop("sso_form", None) or SsoForm(formdata=None),
        webhook_form=extra.pop("webhook_form", None)
        or WebhookForm(formdata=None, data={"webhook_url": site.webhook_url}),
        deliveries=webhooks.recent_deliveries(site), **extra), status


@bp.get("")
def index() -> str:
    """GET /admin: every site, with links to its settings."""
    _admin()
    return render_template("admin/index.html", rows=sites.list_sites())


@bp.route("/sites/new", methods=["GET", "POST"])
def new_site() -> Response | tuple[str, int]:
    """GET/POST /admin/sites/new: create a site."""
    _admin()
    form = NewSiteForm()
    if request.method == "GET":
        form.allow_guests.data = True
        form.require_guest_name.data = True
        form.moderation.data = ModerationPolicy.FIRST.value
        return render_template("admin/new.html", form=form), 200
    if not form.validate():
        return render_template("admin/new.html", form=form), 400
    try:
        site = sites.create_site(form.slug.data, **form.settings())
        db.session.commit()
    except DiscussError as exc:
        _mark_field(form, exc)
        return render_template("admin/new.html", form=form), exc.status
    flash(f"Site {site.slug} was created. Paste its snippets into your article pages.", "ok")
    return redirect(url_for("admin.site", slug=site.slug), 303)


@bp.route("/sites/<slug>", methods=["GET", "POST"])
def site(slug: str) -> Response | tuple[str, int]:
    """GET/POST /admin/sites/<slug>: a site's settings, snippet and moderators."""
    _admin()
    site = _site(slug)
    if request.method == "GET":
        return _edit_page(site, _settings_form(site), ModeratorForm(formdata=None))
    form = SiteEditForm()
    if not form.validate():
        return _edit_page(site, form, ModeratorForm(formdata=None), 400)
    try:
        sites.update_site(site, **form.settings(), **form.spam_settings(),
                          **form.learning_settings())
        db.session.commit()
    except DiscussError as exc:
        _mark_field(form, exc)
        return _edit_page(_site(slug), form, ModeratorForm(formdata=None), exc.status)
    flash(f"The settings of {site.slug} were saved.", "ok")
    return redirect(url_for("admin.site", slug=site.slug), 303)


def _settings_form(site: Site) -> SiteEditForm:
    rules = sites.spam_settings(site)
    return SiteEditForm(formdata=None, data={
        "name": site.name, "origins": "\n".join(site.origins),
        "moderation": site.moderation.value, "allow_guests": site.allow_guests,
        "require_guest_name": site.require_guest_name, "language": site.language,
        "edit_window": "" if site.edit_window is None else str(site.edit_window),
        **rules, "min_submit_seconds": str(rules["min_submit_seconds"]),
        "max_links": str(rules["max_links"]), "trust_after": str(rules["trust_after"]),
        "spam_threshold": f"{rules['spam_threshold']:g}",
        "report_threshold": "" if rules["report_threshold"] is None
        else str(rules["report_threshold"])})


@bp.post("/sites/<slug>/sso")
def sso_secret(slug: str) -> Response | tuple[str, int]:
    """POST: generate (shown once), set or turn off the site's single sign-on secret."""
    _admin()
    site = _site(slug)
    form = SsoForm()
    if not form.validate():
        abort(400)
    generated = sso.generate_secret() if form.action.data == "generate" else None
    try:
        if form.action.data == "off":
            sso.turn_off(site)
        else:
            sso.set_secret(site, generated or form.sso_secret.data)
        db.session.commit()
    except DiscussError as exc:
        return _refused(slug, form, exc, sso_form=form)
    if generated:
        return _shown_once(site, new_sso_secret=generated)
    flash(f"Single sign-on of {site.slug} is {'on' if site.sso_secret else 'off'}.", "ok")
    return redirect(url_for("admin.site", slug=site.slug, _anchor="sso"), 303)


@bp.post("/sites/<slug>/moderators")
def appoint(slug: str) -> Response | tuple[str, int]:
    """POST: appoint a moderator of the site."""
    _admin()
    site = _site(slug)
    form = ModeratorForm()
    if not form.validate():
        return _edit_page(site, _settings_form(site), form, 400)
    try:
        user = sites.appoint_moderator(site, form.username.data)
        db.session.commit()
    except DiscussError as exc:
        _mark_field(form, exc)
        site = _site(slug)
        return _edit_page(site, _settings_form(site), form, exc.status)
    flash(f"{user.username} now moderates {site.slug}.", "ok")
    return redirect(url_for("admin.site", slug=site.slug, _anchor="moderators"), 303)


@bp.post("/sites/<slug>/moderators/<int:user_id>/remove")
def remove(slug: str, user_id: int) -> Response:
    """POST: remove a moderator from the site."""
    _admin()
    site = _site(slug)
    sites.remove_moderator(site, user_id)  # not a moderator: the app's 404 page
    db.session.commit()
    flash("The moderator was removed.", "ok")
    return redirect(url_for("admin.site", slug=site.slug, _anchor="moderators"), 303)


def _refused(slug: str, form: FlaskForm, exc: DiscussError,
             **forms: FlaskForm) -> tuple[str, int]:
    """The site page again, the error beside the form's field (a section's own form)."""
    _mark_field(form, exc)
    site = _site(slug)
    return _edit_page(site, _settings_form(site), ModeratorForm(formdata=None), exc.status,
                      **forms)


def _shown_once(site: Site, **secret: str) -> Response:
    # A generated secret is shown in this answer only (never in a redirect, a flash or a log).
    page, status = _edit_page(site, _settings_form(site), ModeratorForm(formdata=None), **secret)
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/sites/<slug>/webhook")
def webhook(slug: str) -> Response | tuple[str, int]:
    """POST: set the site's webhook URL and secret (generated when none is given), or turn
    webhooks off. Only admins reach it: the URL is called from this server as it is."""
    _admin()
    site = _site(slug)
    form = WebhookForm()
    if not form.validate():
        abort(400)
    generated = None
    try:
        if form.action.data == "off":
            webhooks.turn_off(site)
        else:
            secret = form.webhook_secret.data or ""
            if not secret and not site.webhook_secret:
                secret = generated = webhooks.generate_secret()
            webhooks.set_webhook(site, form.webhook_url.data, secret)
        db.session.commit()
    except DiscussError as exc:
        return _refused(slug, form, exc, webhook_form=form)
    if generated and site.webhook_url:
        return _shown_once(site, new_webhook_secret=generated)
    flash(f"Webhooks of {site.slug} are {'on' if site.webhook_url else 'off'}.", "ok")
    return redirect(url_for("admin.site", slug=site.slug, _anchor="webhook"), 303)


@bp.post("/sites/<slug>/webhook/test")
def webhook_test(slug: str) -> Response:
    """POST: send a ``ping`` event to the site's webhook now and say how it went (it is
    retried later like any delivery when it fails)."""
    _admin()
    site = _site(slug)
    if not site.webhook_url:
        flash("Set a webhook URL first.", "error")
        return redirect(url_for("admin.site", slug=site.slug, _anchor="webhook"), 303)
    delivery = queue_test_event(site)
    delivery = webhooks.deliver_now(
        delivery, retry_seconds=current_app.config["DISCUSS_WEBHOOK_RETRY_SECONDS"])
    if delivery.state == DeliveryState.DELIVERED:
        flash(f"The test event was delivered (HTTP {delivery.last_status}).", "ok")
    else:
        flash(f"The test event was not delivered: {delivery.last_error} It will be retried.",
              "error")
    return redirect(url_for("admin.site", slug=site.slug, _anchor="webhook"), 303)

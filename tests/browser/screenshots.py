"""`make screenshots`: the demo article with a seeded discussion, and the moderation queue.

Starts the service on a free port with a fresh SQLite database, seeds the `demo` site with a
realistic discussion through the domain functions, and saves PNGs of the demo page (light and
dark, 1280 px and 375 px wide; in Arabic and Japanese) and, where the moderation area exists,
of the moderation queue: to docs/screenshots/ (committed, shown in the README) and
tests/artifacts/ (git-ignored).

    python -m tests.browser.screenshots            # the thread, the queue
    python -m tests.browser.screenshots --all      # and every page issue 13 changed
    python -m tests.browser.screenshots --sign-in  # and signing up, an ended sign-in
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from discuss import accounts, comments, filter_training, moderation, sites, threads
from discuss.models import Status, utcnow
from discuss.permissions import Actor
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_service

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs" / "screenshots"
KEY = "2016/jessica-jones-season-2"
MODERATOR = ("mara", "mara@news.example.com", "queue-keeper-4-demo-screens")
ADMIN = ("ada", "ada@news.example.com", "site-keeper-4-demo-screens")
VARIANTS = [(scheme, width) for scheme in ("light", "dark") for width in (1280, 375)]

# (author, minutes ago, body, index of the comment it answers or None)
DISCUSSION: list[tuple[str, int, str, int | None]] = [
    ("Priya", 300, "They shared *one* scene in season 1 and it carried half the show. "
                   "If Luke Cage doesn't at least **mention** her I'll be disappointed.", None),
    ("Sam O.", 280, "Mention, sure. A cameo would step on Luke's own story though — "
                    "let him have his season first.", 0),
    ("Priya", 270, "Fair. A phone call that he doesn't pick up would be very on brand.", 1),
    ("Dev", 240, "The producers said in an interview that the shows share a timeline but "
                 "not a plot. I'd read that as *no crossover until The Defenders*.", None),
    ("Lena", 200, "> share a timeline but not a plot\n\nThat's what they said about "
                  "Daredevil too, and then Claire showed up in every single series.", 3),
    ("Marco", 150, "Honestly I just want more of Trish. Give her the second season.", None),
    ("Ana", 90, "Jessica walking into Pop's barbershop, ordering nothing and leaving. "
                "That's the cameo. Nothing else needed.", None),
    ("Joe", 45, "Counting the days. The first season was the best thing on TV last year.",
     None),
]
# Held for moderation, for the queue screenshot.
HELD = [
    ("Visitor 42", "BEST STREAMING DEALS here >>> cheap-tv.example", None),
    ("Kim", "Wasn't Luke supposed to be in Jessica's season 2 as well? Anyone know?", 6),
]
# Decided on an older story: what the site's spam filter has learned from its moderators.
LEARNED = [
    ("Great recap, thanks. The soundtrack deserves its own article.", "approve"),
    ("Does anyone know if season 2 comes out on Blu-ray?", "approve"),
    ("I preferred the first episodes, the pacing got slow later.", "approve"),
    ("CHEAP streaming deals, watch every series free >>> cheap-tv.example", "spam"),
    ("Best streaming deals of the year at http://cheap-tv.example/free", "spam"),
]



def _say(thread, actor, body, **kwargs):
    """A comment through the domain, in an existing thread."""
    return comments.post_comment(thread.site.slug, thread.key, actor, body, **kwargs)

def fake_ip_hash(seed_text: str) -> str:
    """Looks like the keyed hash the service stores for a real address."""
    return hashlib.sha256(seed_text.encode()).hexdigest()[:32]


def seed(service_url: str) -> None:
    site = sites.create_site("demo", origins=[service_url, "https://news.example.com"],
                             moderation="first", name="The Example News")
    thread = threads.get_or_create_thread(site, KEY, "https://news.example.com/2016/jj-s2",
                                          "Jessica Jones Season 2")
    posted = []
    now = utcnow()
    for n, (name, minutes, body, parent) in enumerate(DISCUSSION):
        reader = Actor(guest_key=f"reader{n}".ljust(40, "r"), ip_hash=fake_ip_hash(f"reader{n}"))
        comment = comments.post_comment(
            thread.site.slug, thread.key,
            reader, body, posted[parent].id if parent is not None else None,
            name=name, now=now - timedelta(minutes=minutes))
        if comment.status != Status.APPROVED:
            comments.set_status(comment, Status.APPROVED)
        posted.append(comment)
    username, email, password = MODERATOR
    moderator = Actor(user=accounts.create_user(username, email, password, verified=True,
                                                moderator_of=[site]))
    older = threads.get_or_create_thread(site, "2016/older", "https://news.example.com/older",
                                         "An older story")
    for n, (body, action) in enumerate(LEARNED):
        reader = Actor(guest_key=f"old{n}".ljust(40, "o"), ip_hash=fake_ip_hash(f"old{n}"))
        decided = comments.post_comment(site.slug, older.key, reader, body, name=f"Reader {n}",
                                        now=now - timedelta(days=2, minutes=n))
        moderation.act_on_comments([decided.id], action, moderator)
    for n, (name, body, parent) in enumerate(HELD):
        reader = Actor(guest_key=f"held{n}".ljust(40, "h"), ip_hash=fake_ip_hash(f"held{n}"))
        comment = comments.post_comment(
            thread.site.slug, thread.key,
            reader, body, posted[parent].id if parent is not None else None,
            name=name, now=now - timedelta(minutes=20 - n))
        if comment.status != Status.PENDING:
            comments.set_status(comment, Status.PENDING)
        if name == "Kim":  # an edit shows in the queue as a diff
            comments.edit_comment(comment, reader, body.replace("Anyone know?",
                                                                "Does anyone know?"),
                                  now=comment.created_at + timedelta(minutes=1))
    filter_training.train(site.id)
    # A spammer banned with their comments removed: the audit log, ban list and Deleted list.
    spammer = Actor(guest_key="spam".ljust(40, "s"), ip_hash=fake_ip_hash("spammer"))
    spam = [_say(thread, spammer, f"Cheap followers, {n} for a dollar!",
                                  name="Promo Bot", email="promo@spam.example",
                                  now=now - timedelta(minutes=60 - n)) for n in (1000, 5000)]
    moderation.ban_author(spam[0], moderator, remove="deleted", reason="advertising",
                          now=now - timedelta(minutes=30))
    moderation.act_on_comments([posted[-1].id], "pin", moderator,
                               now=now - timedelta(minutes=25))
    username, email, password = ADMIN
    accounts.create_user(username, email, password, verified=True, is_admin=True)
    sites.create_site("community-forum", origins=["https://forum.example.org"],
                      moderation="pre", name="Community forum (members)", allow_guests=False)


def save(image: bytes, name: str) -> None:
    for folder in (DOCS, ARTIFACTS):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(image)
    print(f"saved docs/screenshots/{name}")


def shoot_thread(browser, service_url: str, scheme: str, width: int, lang: str = "") -> None:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme=scheme, device_scale_factor=1)
    page = context.new_page()
    page.goto(service_url + "/" + (f"?lang={lang}" if lang else ""))
    page.locator("#discuss-thread").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const f = document.querySelector('#discuss-thread iframe');"
        " return f && f.offsetHeight > 300; }", timeout=20000)
    page.wait_for_timeout(300)  # the last resize message and web fonts settle
    page.evaluate("() => window.scrollTo(0, 0)")
    size = "desktop" if width >= 1000 else "mobile"
    name = f"thread-{lang}.png" if lang else f"thread-{scheme}-{size}.png"
    save(page.screenshot(full_page=True), name)
    context.close()


def moderation_url(service) -> str | None:
    """The moderation queue's URL for the demo site, when the moderation area is built."""
    from flask import url_for

    candidates = sorted(
        (rule for rule in service.app.url_map.iter_rules()
         if rule.rule.startswith("/moderate") and "GET" in (rule.methods or ())
         and len(rule.arguments) <= 1),
        # The one site's queue (/moderate/<slug>) before an overview of every site.
        key=lambda rule: (-len(rule.arguments), len(rule.rule)))
    for rule in candidates:
        with service.app.test_request_context():
            if not rule.arguments:
                return service.url + url_for(rule.endpoint, site="demo")
            (name,) = rule.arguments
            if "site" in name or "slug" in name:
                return service.url + url_for(rule.endpoint, **{name: "demo"})
    return None


def shoot_queue(browser, service) -> None:
    url = moderation_url(service)
    if url is None:
        print("no /moderate pages in this build: skipped the moderation queue screenshot")
        return
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    username, _, password = MODERATOR
    signed_in = page.request.post(service.url + "/api/v1/auth/login",
                                  data={"login": username, "password": password})
    if not signed_in.ok:
        print(f"could not sign in the moderator ({signed_in.status}): skipped the queue")
        context.close()
        return
    response = page.goto(url)
    if response is None or not response.ok:
        print(f"{url} answered {response.status if response else 'nothing'}: skipped the queue")
    else:
        page.wait_for_timeout(300)
        save(page.screenshot(full_page=True), "moderation-queue.png")
    context.close()


def shoot_pages(browser, service) -> None:
    """The pages issue 13 changed, each light and dark, 1280 and 375 px wide: a reader's held
    comment, sign-in and registration inside a dark thread, the account page, the admin's
    sites, the moderator's ban preview, edit page, audit log, ban list and Deleted list."""
    from urllib.parse import urlencode

    thread = "/embed/demo?" + urlencode({"key": KEY, "url": "https://news.example.com/2016/jj-s2",
                                         "title": "Jessica Jones Season 2"})
    held_id = service.run(lambda: _first_held_id())
    reader_pages = [("reader-held-comment", thread + "&theme={scheme}", None),
                    ("signin-in-thread", "/auth/login?" + "next={next}", None),
                    ("register-errors", "/auth/register?" + "next={next}", "register")]
    staff_pages = [("account", "/auth/account", MODERATOR),
                   ("admin-sites", "/admin", ADMIN),
                   ("ban-preview", f"/moderate/demo/comments/{held_id}/ban-author", MODERATOR),
                   ("moderator-edit", f"/moderate/demo/comments/{held_id}/edit", MODERATOR),
                   ("moderation-audit", "/moderate/demo/audit", MODERATOR),
                   ("moderation-bans", "/moderate/demo/bans", MODERATOR),
                   ("moderation-deleted", "/moderate/demo/deleted", MODERATOR)]
    for scheme, width in VARIANTS:
        size = "desktop" if width >= 1000 else "mobile"
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      color_scheme=scheme, device_scale_factor=1)
        page = context.new_page()
        for name, path, extra in reader_pages:
            target = path.format(scheme=scheme, next=_quoted(thread + f"&theme={scheme}"))
            page.goto(service.url + target)
            if name == "reader-held-comment":
                page.fill("#discuss-body-new",
                          f"Typed fast ({scheme}, {size}): is the theme song back?")
                page.fill("#discuss-name-new", "Quick reader")
                page.click("#discuss-form-new button[type=submit]")
                page.locator(".discuss-held-note").first.wait_for(timeout=15000)
                page.locator(".discuss-held-note").first.scroll_into_view_if_needed()
            if extra == "register":
                page.fill("#f-username", "x")
                page.fill("#f-email", "ann@example.org")
                page.fill("#f-password", "short")
                page.click("form[data-discuss-register] button[type=submit]")
                page.locator("#e-password").wait_for()
            page.wait_for_timeout(200)
            save(page.screenshot(full_page=name != "reader-held-comment"),
                 f"{name}-{scheme}-{size}.png")
        context.close()
        for name, path, (username, _, password) in staff_pages:
            context = browser.new_context(viewport={"width": width, "height": 900},
                                          color_scheme=scheme, device_scale_factor=1)
            page = context.new_page()
            page.request.post(service.url + "/api/v1/auth/login",
                              data={"login": username, "password": password})
            page.goto(service.url + path)
            page.wait_for_timeout(200)
            save(page.screenshot(full_page=True), f"{name}-{scheme}-{size}.png")
            context.close()


def shoot_sign_in_pages(browser, service) -> None:
    """Signing up and an ended sign-in (issue 13), light and dark, 1280 and 375 px wide:
    "Check your inbox" inside a thread, the thread offering "Continue as …" afterwards, and
    the signed-out form that keeps a comment whose sign-in ended."""
    from urllib.parse import urlencode

    from sqlalchemy import select

    from discuss.extensions import db
    from discuss.models import User

    for n, (scheme, width) in enumerate(VARIANTS):
        size = "desktop" if width >= 1000 else "mobile"
        thread = "/embed/demo?" + urlencode({
            "key": KEY, "url": "https://news.example.com/2016/jj-s2",
            "title": "Jessica Jones Season 2", "theme": scheme})
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      color_scheme=scheme, device_scale_factor=1)
        page = context.new_page()
        page.goto(service.url + "/auth/register?" + urlencode({"next": thread}))
        page.fill("#f-username", f"newreader{n}")
        page.fill("#f-email", f"newreader{n}@example.org")
        page.fill("#f-password", "a-long-and-new-password-4-screens")
        page.click("form[data-discuss-register] button[type=submit]")
        page.get_by_role("heading", name="Check your inbox").wait_for()
        save(page.screenshot(full_page=True), f"register-check-inbox-{scheme}-{size}.png")
        page.goto(service.url + thread)
        page.get_by_role("button", name=f"Continue as newreader{n}").wait_for()
        save(page.screenshot(), f"thread-continue-sign-up-{scheme}-{size}.png")
        context.close()

        username = f"ended{n}"
        service.run(lambda name=username: accounts.create_user(
            name, f"{name}@example.org", "a-long-and-new-password-4-screens").id)
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      color_scheme=scheme, device_scale_factor=1)
        page = context.new_page()
        # Signed in through the page, as a reader is (a cookie set by page.request would sit
        # in another partition beside the page's own).
        page.goto(service.url + "/auth/login?" + urlencode({"next": thread}))
        page.fill("#f-login", username)
        page.fill("#f-password", "a-long-and-new-password-4-screens")
        page.click("form[data-discuss-login] button[type=submit]")
        page.get_by_text(f"Signed in as {username}").wait_for()
        service.run(lambda name=username: accounts.end_all_sessions(db.session.scalars(
            select(User).where(User.username == name)).one()))
        page.fill("#discuss-body-new", "Written while my sign-in ended elsewhere: still here.")
        page.click("#discuss-form-new button[type=submit]")
        page.locator("#discuss-error-new").wait_for(state="visible", timeout=15000)
        page.wait_for_timeout(200)
        save(page.screenshot(), f"ended-sign-in-{scheme}-{size}.png")
        context.close()


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _first_held_id() -> int:
    from sqlalchemy import select

    from discuss.extensions import db
    from discuss.models import Comment

    held = db.session.scalars(select(Comment).where(Comment.status == Status.PENDING)
                              .order_by(Comment.id)).first()
    return held.id


def main() -> int:
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: no screenshots", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="discuss-screens-"))
    service, stop = start_service(workdir)
    try:
        service.run(lambda: seed(service.url))
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                for width in (1280, 375):
                    shoot_thread(browser, service.url, scheme, width)
            # Right to left, and a script without spaces (docs/languages.md).
            for lang in ("ar", "ja"):
                shoot_thread(browser, service.url, "light", 1280, lang)
            shoot_queue(browser, service)
            if "--all" in sys.argv:
                shoot_pages(browser, service)
            if "--all" in sys.argv or "--sign-in" in sys.argv:
                shoot_sign_in_pages(browser, service)
            browser.close()
    finally:
        stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accessibility in Chromium: axe-core (the copy shipped by PyPI's axe-playwright-python) on the
thread page, the account pages, the site admin and the moderation queue, in the light and dark
themes at 1280 and 320 px wide; no violation of impact "serious" or "critical" is allowed. Also:
the thread fits a 320 px wide frame, and Tab reaches every control with a visible focus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe

from discuss import accounts, comments, sites, threads
from discuss.models import Status
from discuss.permissions import Actor
from tests.browser.conftest import LiveService, start_service

pytestmark = pytest.mark.browser

PASSWORD = "violet-harbor-lantern-42"
TIMEOUT = 15_000
WIDTHS = {"desktop": 1280, "mobile": 320}
THEMES = ("light", "dark")
BLOCKING = ("serious", "critical")
THREAD_QUERY = {"key": "jj-s2", "url": "https://news.example.com/jj-s2",
                "title": "Jessica Jones Season 2"}


def _seed() -> None:
    site = sites.create_site("news", name="The Example News", moderation="post",
                             origins=["https://news.example.com"])
    site.min_submit_seconds = 0
    jessica = accounts.create_user("jessica", "jessica@example.org", PASSWORD, verified=True)
    accounts.create_user("moira", "moira@example.org", PASSWORD, verified=True,
                         moderator_of=[site])
    accounts.create_user("adaline", "adaline@example.org", PASSWORD, verified=True,
                         is_admin=True)
    sites.create_site("sports", origins=["https://sports.example.com"], moderation="pre")
    thread = threads.get_or_create_thread(site, THREAD_QUERY["key"], THREAD_QUERY["url"],
                                          THREAD_QUERY["title"])

    def guest(n: int) -> Actor:
        return Actor(guest_key=f"{n}" * 40, ip_hash=f"ip{n}")

    first = comments.post_comment(
        thread.site.slug, thread.key,
        guest(1), "Do you think **Jessica Jones** will appear in *Luke Cage*?\n\n"
        "> Let us know in the comments!\n\nSee https://example.org/luke-cage and `S02E01`.",
        name="Trish")
    reply = comments.post_comment(thread.site.slug, thread.key,
                                  guest(2), "Almost certainly: the shows share a "
                                  "street.\n\n- Hell's Kitchen\n- Harlem", first.id, name="Malcolm")
    comments.post_comment(thread.site.slug, thread.key,
                          Actor(user=jessica), "I will be there.", reply.id)
    gone = comments.post_comment(thread.site.slug, thread.key,
                                 guest(3), "This one is deleted later.", name="Hogarth")
    comments.post_comment(thread.site.slug, thread.key,
                          guest(4), "A reply that keeps its deleted parent in the tree.",
                          gone.id, name="Oscar")
    comments.set_status(gone, Status.DELETED)
    long_word = "Super" + "califragilistic" * 8
    comments.post_comment(thread.site.slug, thread.key,
                          guest(5), f"A very long word: {long_word}\n\n```\n"
                          "a line of code that is rather long and must not widen the page\n```",
                          name="A reader with a rather long name indeed")
    site.moderation = "pre"
    site.blocklist = "watches"  # the spammer's comment waits with the rule's reason shown
    comments.post_comment(thread.site.slug, thread.key,
                          Actor(user=jessica), "Waiting for a moderator, as it should.")
    comments.post_comment(thread.site.slug, thread.key,
                          guest(6), "Buy cheap watches at https://spam.example.com",
                          name="Spammer")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    live, stop = start_service(tmp_path_factory.mktemp("a11y"))
    try:
        live.run(_seed)
        yield live
    finally:
        stop()


@pytest.fixture(scope="module")
def sessions(browser, service: LiveService) -> dict[str, dict]:
    """Each role's signed-in browser state (cookies), made once through the sign-in form."""
    states: dict[str, dict] = {"anonymous": {"cookies": [], "origins": []}}
    for username in ("jessica", "moira", "adaline"):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(f"{service.url}/auth/login?next=/auth/account")
        page.locator("input[name=login]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{service.url}/auth/account", timeout=TIMEOUT)
        states[username] = ctx.storage_state()
        ctx.close()
    return states


def thread_url(service: LiveService, theme: str) -> str:
    return f"{service.url}/embed/news?{urlencode({**THREAD_QUERY, 'theme': theme})}"


def _open_reply_form(page) -> None:
    page.locator(".discuss-reply-link").first.click()
    page.locator(".discuss-reply-box textarea").first.wait_for(timeout=TIMEOUT)


def _submit_bad_settings(page) -> None:
    page.locator("#f-edit_window").fill("-5")
    page.locator("#f-origins").fill("news.example.com")
    page.get_by_role("button", name="Save settings").click()
    page.locator("[data-admin-errors]").wait_for(timeout=TIMEOUT)


# (role, path or None for the thread, what to do once loaded)
PAGES = {
    "thread-guest": ("anonymous", None, _open_reply_form),
    "thread-signed-in": ("jessica", None, _open_reply_form),
    "sign-in": ("anonymous", "/auth/login", None),
    "register": ("anonymous", "/auth/register", None),
    "admin-sites": ("adaline", "/admin", None),
    "admin-site": ("adaline", "/admin/sites/news", None),
    "admin-site-errors": ("adaline", "/admin/sites/news", _submit_bad_settings),
    "moderation-queue": ("moira", "/moderate/news/pending", None),
}


def _open(browser, sessions, service, name: str, theme: str, width: int):
    role, path, prepare = PAGES[name]
    ctx = browser.new_context(viewport={"width": width, "height": 900},
                              color_scheme=theme, storage_state=sessions[role])
    page = ctx.new_page()
    if path is None:
        page.goto(thread_url(service, theme))
    else:
        page.goto(service.url + path)
        # Service pages that follow the reader's system theme do so through
        # prefers-color-scheme (emulated above); pinned ones are switched the same way the
        # embed does it, so the dark palette of their styles is checked too.
        page.evaluate("t => { const r = document.documentElement;"
                      " if (r.dataset.theme !== 'auto') r.dataset.theme = t; }", theme)
    page.wait_for_load_state("load")
    if prepare is not None:
        prepare(page)
    return ctx, page


def readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"       {summary[:300]}")
            lines.append(f"       {node['html'][:200]}")
    return "\n".join(lines)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("width", list(WIDTHS), ids=list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_accessibility_violations(browser, sessions, service, artifacts,
                                                      console_errors, name, width, theme):
    ctx, page = _open(browser, sessions, service, name, theme, WIDTHS[width])
    errors = console_errors(page)
    try:
        if name == "thread-signed-in":
            assert page.get_by_text("Waiting for a moderator, as it should.").is_visible()
        if name == "moderation-queue":
            assert page.locator(".mod-item").count() >= 1
        results = Axe().run(page)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
        if blocking:
            shot = Path(artifacts) / f"a11y-{name}-{width}-{theme}.png"
            page.screenshot(path=str(shot), full_page=True)
        assert not blocking, (
            f"{name} at {WIDTHS[width]}px, {theme} theme:\n{readable(blocking)}")
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("role", ["anonymous", "jessica"])
def test_thread_fits_a_320_px_wide_frame_without_sideways_scrolling(browser, sessions,
                                                                    service, role):
    ctx = browser.new_context(viewport={"width": 320, "height": 700},
                              storage_state=sessions[role])
    page = ctx.new_page()
    try:
        page.goto(thread_url(service, "light"))
        _open_reply_form(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 320.5)
            .slice(0, 5).map(e => e.outerHTML.slice(0, 120))""")
        assert width <= 320, f"the page is {width}px wide; too wide: {wide}"
    finally:
        ctx.close()


FOCUS_PROBE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const label = (e.getAttribute('aria-label') || e.textContent || e.name || e.id || '')
    .trim().slice(0, 40);
  return {tag: e.tagName.toLowerCase(), label, visible: e.matches(':focus-visible'),
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          shadow: s.boxShadow !== 'none', hidden: e.closest('.discuss-hp') !== null};
}"""

CONTROLS = ("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
            "select, textarea, [tabindex]:not([tabindex='-1'])")


@pytest.mark.parametrize(("role", "path"), [
    ("anonymous", None), ("jessica", None), ("anonymous", "/auth/login"),
    ("adaline", "/admin/sites/news"), ("moira", "/moderate/news/pending"),
])
def test_tab_reaches_every_control_with_a_visible_focus(browser, sessions, service, role, path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                              storage_state=sessions[role])
    page = ctx.new_page()
    try:
        page.goto(thread_url(service, "light") if path is None else service.url + path)
        if path is None:
            _open_reply_form(page)
        expected = page.evaluate(f"""() => [...document.querySelectorAll("{CONTROLS}")]
            .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
            .filter(e => !e.closest('.discuss-hp')).length""")
        page.locator("body").click(position={"x": 1, "y": 1})
        seen: list[dict] = []
        for _ in range(expected + 5):
            page.keyboard.press("Tab")
            state = page.evaluate(FOCUS_PROBE)
            if state is None:
                continue
            if seen and state == seen[0] and len(seen) >= expected:
                break
            seen.append(state)
        reached = [s for s in seen if not s["hidden"]]
        assert not [s for s in seen if s["hidden"]], "the honeypot must stay out of the tab order"
        assert len(reached) >= expected, (
            f"Tab reached {len(reached)} of {expected} controls: {reached}")
        unseen = [s for s in reached if not (s["visible"] and (s["outline"] or s["shadow"]))]
        assert not unseen, f"focus is not visible on: {unseen}"
    finally:
        ctx.close()

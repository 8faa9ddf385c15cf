/* discuss.js: progressive enhancement of the discussion page inside the iframe.
 *
 * The page works without scripts (plain forms, links). This one keeps the frame sized, times
 * relative and the guest's own comments shown, and turns forms and action links into calls to
 * the JSON API (/api/v1/comments). The code for those calls, comment-actions.js, and the code
 * that keeps a sign-in token, account.js, are fetched only when a reader needs them (their
 * URLs, with content hashes, are #discuss's data-actions-js and data-account-js), so a reader
 * who only reads downloads neither.
 *
 * localStorage keys: discuss.token (bearer token, set by the sign-in code), discuss.guest (this
 * browser's guest key, from the X-Discuss-Guest-Key response header), discuss.name and
 * discuss.email (remembered guest fields).
 * The account and moderation pages load this script too, for what every page's scripts share
 * (window.discuss: the CSRF token, texts, storage, swapping in a page fetched again) and, in
 * the frame, to keep it sized; account.js and moderate.js use it from there.
 * Messages to the host page: {discuss: "ready"} once, {discuss: "resize", height} on changes.
 * From the host page (embed.js, parent window only): {discuss: "theme", theme} and
 * {discuss: "sso", token?, login} (single sign-on: account.js exchanges the token; "Sign in"
 * links go to the publisher's own sign-in page).
 */
(() => {
  "use strict";

  const KEYS = { token: "discuss.token", guest: "discuss.guest", name: "discuss.name", email: "discuss.email" };
  const store = { // an empty value removes the key
    get(key) { try { return window.localStorage.getItem(key); } catch { return null; } },
    set(key, value) {
      try {
        if (value) window.localStorage.setItem(key, value); else window.localStorage.removeItem(key);
      } catch { /* storage blocked */ }
    },
  };

  // ------------------------------------------------------------ talking to the host page

  function tellHost(message) {
    if (window.parent === window) return;
    // The height and readiness are not secret, and the host's origin is not reliably known
    // (its Referrer-Policy may hide it), so "*" is used; embed.js checks the sender itself.
    window.parent.postMessage(message, "*");
  }

  let lastHeight = 0;
  function reportHeight() {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      tellHost({ discuss: "resize", height });
    }
  }

  // ------------------------------------------------------------ texts in the page's language

  // The server hands the page's first texts over as JSON in data-i18n (on #discuss, or the
  // account pages' <main>; CSP allows no inline script), the others with the action script
  // (loadTexts). t("posted") is the text, t("page_failed", {status: 500}) fills its "{status}". A
  // text with a number picks its plural form by values.count, else values.n (which may be the
  // number as written).
  let texts = null;
  function t(key, values) {
    if (texts === null) {
      try { texts = JSON.parse(document.querySelector("[data-i18n]")?.dataset.i18n || "{}"); } catch { texts = {}; }
    }
    let text = texts[key] || key;
    if (typeof text === "object") { // one text per CLDR plural category of values.n
      const rules = "PluralRules" in Intl ? new Intl.PluralRules(document.documentElement.lang || "en") : null;
      text = text[rules ? rules.select(values.count ?? values.n) : "other"] || text.other || Object.values(text)[0];
    }
    return text.replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? String(values[name]) : whole));
  }

  // ------------------------------------------------------------ relative times

  // The browser's CLDR data, as Babel's on the server: "3 hours ago", "قبل 3 ساعات", "3 時間前".
  const UNITS = [["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  const relativeFormat = "RelativeTimeFormat" in Intl
    ? new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "always" }) : null;
  function relativeTime(iso) {
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 45) return t("just_now") === "just_now" ? null : t("just_now");
    if (!relativeFormat) return null;
    for (const [unit, size] of UNITS) {
      if (seconds >= size) return relativeFormat.format(-Math.floor(seconds / size), unit);
    }
    return null;
  }
  function refreshTimes(scope) {
    for (const time of scope.querySelectorAll("time[data-discuss-time]")) {
      const text = relativeTime(time.getAttribute("datetime"));
      if (text !== null && time.textContent !== text) time.textContent = text;
    }
  }

  // The host page (embed.js) tells a frame shown with theme "auto" when its colour scheme
  // changes; only the parent window may, and only to one of the two themes.
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent || !data || data.discuss !== "theme") return;
    if (data.theme === "light" || data.theme === "dark") document.documentElement.dataset.theme = data.theme;
  });

  // Single sign-on, from the host page (embed.js) only: account.js does the rest.
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent || !data || data.discuss !== "sso" || !page()) return;
    accountScript().then((account) => account.singleSignOn(page().dataset.site, data))
      .catch(() => { /* the page as rendered still works; "Sign in" is still there */ });
  });

  function startSizing() {
    if ("ResizeObserver" in window) {
      new ResizeObserver(reportHeight).observe(document.documentElement);
    } else {
      window.addEventListener("resize", reportHeight);
    }
    tellHost({ discuss: "ready" });
    reportHeight();
    // Opened at #comment-N (a permalink): ask the host page to scroll to it. (embed.js asks
    // the server for the page that holds it, ?comment=N.)
    const target = /^#comment-\d{1,18}$/.test(window.location.hash) && document.querySelector(window.location.hash);
    if (target) tellHost({ discuss: "scroll-to", top: Math.max(0, Math.round(target.getBoundingClientRect().top + window.scrollY)) });
  }

  // ------------------------------------------------------------ what every page's scripts share

  // The one reading of the page's CSRF token, sent as X-CSRF-Token with every write.
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // This page fetched again (``doc``, for a reader who is now signed in or out) replaces what
  // is shown, with the form token it came with; "discuss:refreshed" tells the scripts.
  function swapPage(doc) {
    const fresh = doc.getElementById("discuss");
    const current = page();
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
    else if (!current) document.body.replaceChildren(...Array.from(doc.body.childNodes, (n) => document.adoptNode(n)));
    else return false;
    const meta = doc.querySelector('meta[name="csrf-token"]');
    const mine = document.querySelector('meta[name="csrf-token"]');
    if (meta && mine) mine.content = meta.content;
    document.dispatchEvent(new CustomEvent("discuss:refreshed"));
    return true;
  }

  // account.js may swap the whole body (signed in by token): always look the root up again.
  const page = () => document.getElementById("discuss");
  const shared = { KEYS, store, t, csrfToken, swapPage, page };
  if (!page()) {
    // Account, moderation and error pages: share the helpers, and size the frame (if any).
    window.discuss = Object.freeze(shared);
    if (window.parent !== window) startSizing();
    return;
  }

  // ------------------------------------------------------------ requests

  function requestHeaders(json) {
    const headers = { "X-CSRF-Token": csrfToken(), "Accept": json ? "application/json" : "text/html" };
    // Answers (and their error messages) in the page's language, whatever the browser's.
    if (document.documentElement.lang) headers["Accept-Language"] = document.documentElement.lang;
    const guestKey = store.get(KEYS.guest);
    // account.js also holds the token where the iframe has no storage of its own.
    const token = store.get(KEYS.token) || window.discussAccount?.token();
    if (guestKey) headers["X-Discuss-Guest"] = guestKey;
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  function keepGuestKey(response) {
    const key = response.headers.get("X-Discuss-Guest-Key");
    if (key) store.set(KEYS.guest, key);
  }

  async function fetchDocument(url) {
    const response = await fetch(url, { headers: requestHeaders(false), credentials: "same-origin" });
    keepGuestKey(response);
    if (!response.ok) {
      const error = new Error(t("page_failed", { status: response.status }));
      error.status = response.status; // a 401 tells comment-actions.js the sign-in ended
      throw error;
    }
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  // ------------------------------------------------------------ telling the reader

  const live = () => document.getElementById("discuss-live");
  function announce(text) {
    const region = live();
    if (!region) return;
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  function showError(form, error) {
    const box = form.querySelector(".discuss-form-error");
    if (box) {
      box.textContent = error.message;
      box.hidden = false;
    }
    for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    for (const name of Object.keys(error.fields || {})) {
      const field = form.elements.namedItem(name);
      if (field && field.setAttribute) field.setAttribute("aria-invalid", "true");
    }
    const first = form.querySelector("[aria-invalid=true]") || box;
    if (first && first.focus) first.focus();
  }

  function clearError(form) {
    const box = form.querySelector(".discuss-form-error");
    if (box) { box.hidden = true; box.textContent = ""; }
    for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
  }

  // An action's errors go to its form (or, without one, to the live region).
  async function guarded(form, action) {
    const button = form ? form.querySelector("button[type=submit]") : null;
    if (button) button.disabled = true;
    try {
      if (form) clearError(form);
      await action();
    } catch (error) {
      if (form) showError(form, error); else announce(error.message);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  // ------------------------------------------------------------ remembered guest fields

  function fillRemembered(scope) {
    for (const input of scope.querySelectorAll("input[data-remember]")) {
      const saved = store.get(KEYS[input.dataset.remember]);
      if (!input.value && saved) input.value = saved;
    }
  }

  // ------------------------------------------------------------ scripts fetched on demand

  // Same-origin scripts with hashed URLs (from #discuss's data-*), which CSP allows.
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => {
        script.remove();
        reject(new Error(t("unreachable")));
      };
      document.head.append(script);
    });
  }

  // Posting, replying, editing, deleting, votes, reports and "show more" live in
  // comment-actions.js: fetched when a reader first moves into a form or uses one of them,
  // so a reader who only reads never downloads it.
  // The texts comment-actions.js shows, fetched with it.
  // The script may arrive first: whatever it writes waits for whenTexts().
  let textsLoaded = null;
  function whenTexts() {
    textsLoaded ??= (async () => {
      const url = page().dataset.texts;
      if (!url) return;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(t("unreachable"));
      t("unreachable"); // the page's own texts first
      Object.assign(texts, await response.json());
    })().catch((error) => { textsLoaded = null; throw error; });
    return textsLoaded;
  }

  let actionsLoaded = null;
  function actions() {
    actionsLoaded ??= Promise.all([loadScript(page().dataset.actionsJs), whenTexts()]).then(
      () => window.discussActions,
      (error) => { actionsLoaded = null; throw error; }, // a later try fetches it again
    );
    return actionsLoaded;
  }
  const act = async (name, ...args) => (await actions())[name](...args);

  // ------------------------------------------------------------ events (delegated)

  const FORMS = new Set(["comment", "edit", "delete", "report"]);

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("#discuss")) return;
    const kind = form.dataset.discussForm;
    if (FORMS.has(kind)) {
      event.preventDefault();
      guarded(form, () => act(kind, form));
    } else if (kind === "vote") {
      // Enter in no field here; a vote button's click is handled below.
      event.preventDefault();
    }
  });

  // [class of the link or button, function in comment-actions.js, what it is given]: each
  // replaces the link's plain page (or the button's form post) for readers with scripts.
  const CLICKS = [
    ["discuss-vote", "vote", (target) => target],
    ["discuss-report", "openReport", (target) => target.dataset.commentId],
    ["discuss-edit-link", "openEdit", (target) => target.dataset.commentId],
    ["discuss-more", "showMore", (target) => target],
    ["discuss-permalink", "copyLink", (target) => target],
  ];

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("a, button") : null;
    if (!target || !target.closest("#discuss")) return;
    const click = CLICKS.find(([name]) => target.classList.contains(name));
    const cancelled = target.classList.contains("discuss-cancel") &&
      target.closest(".discuss-report-form, .discuss-edit-form");
    if (click) {
      event.preventDefault();
      if (!target.disabled) guarded(null, () => act(click[1], click[2](target)));
    } else if (cancelled) {
      event.preventDefault();
      const report = cancelled.classList.contains("discuss-report-form");
      guarded(null, () => act(report ? "closeReport" : "cancelEdit", cancelled, target));
    } else if (target.classList.contains("discuss-reply-link")) {
      // The reply form is a copy of the one for new comments; without it, the link's page.
      if (!document.getElementById("discuss-form-new")) return;
      event.preventDefault();
      guarded(null, () => act("openReply", target.dataset.commentId));
    } else if (target.dataset.discussCancelReply) {
      guarded(null, () => act("cancelReply", target.dataset.discussCancelReply));
    }
  });

  // A reader moving into a form is about to write: fetch the script while they type.
  document.addEventListener("focusin", (event) => {
    if (event.target instanceof Element && event.target.closest("#discuss form")) {
      actions().catch(() => { /* tried again on submit, where the error is shown */ });
    }
  });

  // ------------------------------------------------------------ identity and start-up

  // Where the browser blocks the iframe's cookies, the server rendered the page for nobody.
  // A guest who posted here before holds a key in localStorage: fetch the page once more with
  // it, so they see their own held comments and edit buttons. (A stored sign-in token is
  // handled the same way by account.js, which then fires "discuss:refreshed".)
  async function renderForGuestKey() {
    const viewer = page().dataset.viewer;
    if (!store.get(KEYS.guest) || store.get(KEYS.token) || viewer !== "anyone") return;
    const doc = await fetchDocument(window.location.href);
    const fresh = doc.getElementById("discuss");
    if (fresh && fresh.dataset.viewer !== viewer) swapPage(doc); // "discuss:refreshed": prepare()
  }

  function prepare() {
    fillRemembered(page());
    refreshTimes(page());
  }

  // account.js (a sign-in kept as a token, signing out through the API) matters only to a
  // reader who is signed in or holds a token: everyone else never downloads it. Signing in
  // happens on the account pages, which load it themselves.
  let accountLoaded = null;
  function accountScript() {
    const src = page().dataset.accountJs;
    if (!src) return Promise.reject(new Error()); // no sign-in here: every caller stays quiet
    accountLoaded ??= loadScript(src).then(
      () => window.discussAccount,
      (error) => { accountLoaded = null; throw error; },
    );
    return accountLoaded;
  }

  function loadAccountScript() {
    if (page().dataset.viewer !== "user" && !store.get(KEYS.token)) return;
    accountScript().catch(() => { /* the plain sign-out page still works */ });
  }

  // Live updates (docs/live.md): the stream opens here; live.js, which shows what arrives, is
  // fetched with the first new comment, so a reader of a quiet thread never downloads it.
  const liveWaiting = [];
  function startLive() {
    const url = page().dataset.stream;
    if (!url || !window.EventSource) return;
    let loading = null;
    new EventSource(url).addEventListener("comment", (event) => {
      liveWaiting.push(JSON.parse(event.data));
      if (window.discussLive) window.discussLive.arrived();
      else loading ??= loadScript(page().dataset.liveJs).catch(() => { loading = null; });
    });
  }

  document.addEventListener("discuss:refreshed", prepare);
  prepare();
  startLive();
  loadAccountScript();
  window.setInterval(() => refreshTimes(page()), 60 * 1000);
  startSizing();
  renderForGuestKey().catch(() => { /* the page as rendered still works */ });

  // For comment-actions.js, which shares this script's requests, storage and messages.
  window.discuss = Object.freeze({
    ...shared, requestHeaders, keepGuestKey, fetchDocument, announce, clearError,
    fillRemembered, refreshTimes, whenTexts, actions, liveWaiting,
  });
})();

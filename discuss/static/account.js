// discuss account.js: signing in, and staying signed in, inside the embed iframe.
//
// The sign-in form is sent to POST /api/v1/auth/login, which answers with a session token and
// also sets the session cookie. The token is kept in this origin's own storage (localStorage
// "discuss.token") and sent as `Authorization: Bearer`. Where a cross-site iframe gets no
// storage (Safari, Chromium with third-party cookies blocked) the token lives in memory for
// the page's lifetime only, and across reloads the session cookie carries the sign-in: it is
// `SameSite=None; Secure; Partitioned; HttpOnly`, a partitioned (CHIPS) cookie such browsers
// still keep for this embedding site. The token is never handed to the embedding page.
// A page the iframe navigates to carries no Authorization header, so when a token is held
// and the server-rendered page shows nobody signed in (no cookie), the page is fetched again
// with the header and its content swapped in; the "discuss:refreshed" event then tells other
// scripts (discuss.js) to attach to the new content. discuss.js, loaded before this script,
// shares the CSRF token, the texts and storage, and keeps the account pages' frame sized.
(() => {
  "use strict";

  // discuss.js, loaded first on every page that loads this one, shares these.
  const { KEYS, store, t, csrfToken, swapPage } = window.discuss;
  let memoryToken = null; // when storage is refused, the token lives as long as the page

  // Where the iframe has no storage (Chromium with third-party storage blocked: "Access is
  // denied"), memory for now, and the partitioned session cookie across reloads.
  function readToken() {
    return store.get(KEYS.token) || memoryToken;
  }

  function storeToken(token) {
    memoryToken = token || null;
    store.set(KEYS.token, token || "");
  }

  function headers(extra) {
    const result = Object.assign({ "X-CSRF-Token": csrfToken() }, extra || {});
    if (document.documentElement.lang) result["Accept-Language"] = document.documentElement.lang;
    const token = readToken();
    if (token) {
      result.Authorization = "Bearer " + token;
    }
    return result;
  }

  // Only paths on this service: never an absolute or protocol-relative URL.
  function safePath(value, fallback) {
    if (typeof value === "string" && value.startsWith("/") && !value.startsWith("//") &&
        !value.includes("\\")) {
      return value;
    }
    return fallback;
  }

  function showError(form, message) {
    let box = form.querySelector("[data-discuss-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "discuss-form-error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-discuss-error", "");
      form.prepend(box);
    }
    box.textContent = message;
  }

  async function errorMessage(response) {
    try {
      const data = await response.json();
      if (data && data.error && data.error.message) {
        return data.error.message;
      }
    } catch (err) {
      // not JSON
    }
    return t("went_wrong", { status: response.status });
  }

  async function signIn(form) {
    const data = new FormData(form);
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      const response = await fetch("/api/v1/auth/login", {
        method: "POST",
        credentials: "same-origin",
        headers: Object.assign(headers(), { "Content-Type": "application/json" }),
        body: JSON.stringify({
          login: data.get("login") || "",
          password: data.get("password") || "",
          remember: data.get("remember") === "1" || isFramed(),
        }),
      });
      if (!response.ok) {
        showError(form, await errorMessage(response));
        return;
      }
      const body = await response.json();
      storeToken(body.token);
      window.location.assign(safePath(form.dataset.next, "/auth/account"));
    } catch (err) {
      showError(form, t("service_unreachable"));
    } finally {
      if (button) button.disabled = false;
    }
  }

  // Ends the session on the server (bearer token or cookie, with the CSRF token) and forgets
  // the token here; if the server could not be told, the plain sign-out form takes over.
  async function signOut(next, form) {
    const target = safePath(next, window.location.pathname + window.location.search);
    let ended = false;
    try {
      const response = await fetch("/api/v1/auth/logout", {
        method: "POST", credentials: "same-origin", headers: headers(),
      });
      ended = response.ok;
    } catch (err) {
      // offline: the plain sign-out page below says so
    }
    storeToken(null);
    if (ended) window.location.assign(target);
    else if (form) form.submit(); // the plain form post (no submit event, so no loop)
    else window.location.assign("/auth/logout?next=" + encodeURIComponent(target));
  }

  function isFramed() {
    try {
      return window.self !== window.top;
    } catch (err) {
      return true;
    }
  }

  function isLogoutTarget(url) {
    return url.origin === window.location.origin && url.pathname === "/auth/logout";
  }

  function pageShowsSignedIn() {
    return Boolean(document.querySelector(
      '#discuss[data-viewer="user"], a[href^="/auth/logout"], form[action^="/auth/logout"]'));
  }

  // Fetch this page again with the bearer token and swap in what a signed-in reader sees.
  async function refreshSignedIn() {
    const response = await fetch(window.location.href, {
      credentials: "same-origin", headers: headers({ Accept: "text/html" }),
    });
    if (!response.ok) return;
    swapPage(new DOMParser().parseFromString(await response.text(), "text/html"));
  }

  async function checkSession() {
    if (document.querySelector("[data-discuss-auth]")) return;
    if (!readToken()) return; // a cookie session (if any) is already on the page
    try {
      const response = await fetch("/api/v1/me", {
        credentials: "same-origin", headers: headers(),
      });
      if (response.status === 401) {
        storeToken(null); // expired or revoked (a password change, "sign out everywhere"): forget it
        return;
      }
      if (!response.ok) return;
      const me = await response.json();
      if (me === null) {
        storeToken(null); // expired or revoked: forget it
        return;
      }
      if (!pageShowsSignedIn()) await refreshSignedIn();
    } catch (err) {
      // offline: the page stays as the server rendered it
    }
  }

  // Single sign-on: the publisher's signed token (from embed.js, through discuss.js) becomes a
  // session here exactly as a password sign-in does; the page is then shown signed in. An
  // empty token means nobody is signed in at the publisher: a reader it signed in here
  // (a site user) is signed out, anyone else stays.
  async function signOn(site, token) {
    if (!token) {
      if (!readToken() && !pageShowsSignedIn()) return;
      const response = await fetch("/api/v1/me", { credentials: "same-origin", headers: headers() });
      const me = response.ok ? await response.json() : null;
      if (me && me.site) await signOut(window.location.pathname + window.location.search);
      return;
    }
    const response = await fetch("/api/v1/auth/sso", {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign(headers(), { "Content-Type": "application/json" }),
      body: JSON.stringify({ site: site, token: token }),
    });
    if (!response.ok) return; // refused: the page stays as it is, "Sign in" still works
    const body = await response.json();
    storeToken(body.token);
    await refreshSignedIn();
  }

  // The publisher's sign-in page replaces ours in "Sign in" links (in the whole window:
  // readers sign in there, then come back).
  let publisherLogin = "";
  function pointSignInLinks() {
    if (!publisherLogin) return;
    for (const link of document.querySelectorAll('#discuss a[href^="/auth/login"]')) {
      link.href = publisherLogin;
      link.target = "_top";
    }
  }
  document.addEventListener("discuss:refreshed", pointSignInLinks);

  // {discuss: "sso", token?, login} from embed.js (discuss.js checked it came from the parent).
  function singleSignOn(site, data) {
    let login = null;
    try {
      login = data.login ? new URL(data.login) : null;
    } catch (err) {
      login = null; // not a URL: our own sign-in stays
    }
    if (login && (login.protocol === "https:" || login.protocol === "http:")) {
      publisherLogin = login.href;
      pointSignInLinks();
    }
    if (typeof data.token === "string" && data.token.length <= 4096) {
      return signOn(site, data.token);
    }
    return Promise.resolve();
  }

  // discuss.js asks here for the token (held in memory when the iframe has no storage).
  window.discussAccount = Object.freeze({
    token: readToken, forget: () => storeToken(null), singleSignOn: singleSignOn,
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.matches("[data-discuss-login]")) {
      event.preventDefault();
      signIn(form);
    } else if (isLogoutTarget(new URL(form.action, window.location.href))) {
      event.preventDefault();
      const next = form.querySelector('input[name="next"]');
      signOut(next ? next.value : form.dataset.next, form);
    }
  });

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link) return;
    const url = new URL(link.href, window.location.href);
    if (isLogoutTarget(url) && (readToken() || pageShowsSignedIn())) {
      event.preventDefault();
      signOut(url.searchParams.get("next"));
    }
  });

  // "Check your inbox" after signing up: when the reader comes back to this page (from their
  // mail), continue by itself; once the mailed link made the account the service signs this
  // browser in and sends it back to the discussion. Before that nothing changes here.
  let continuing = false;
  async function continueSignUp() {
    const form = document.querySelector("form[data-discuss-continue]");
    if (!form || document.visibilityState !== "visible" || continuing) return;
    continuing = true;
    try {
      const response = await fetch(form.action, {
        method: "POST", credentials: "same-origin", body: new FormData(form),
        headers: { "X-CSRF-Token": csrfToken() },
      });
      if (response.ok && response.redirected) window.location.assign(response.url);
    } catch (err) {
      // offline: the button still works
    } finally {
      continuing = false;
    }
  }
  document.addEventListener("visibilitychange", continueSignUp);
  window.addEventListener("focus", continueSignUp);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", checkSession);
  } else {
    checkSession();
  }
})();

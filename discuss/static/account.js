// discuss account.js: signing in, and staying signed in, inside the embed iframe.
//
// A cross-site iframe may get no cookies at all (Safari, or Chromium with third-party cookies
// blocked), so the sign-in form is sent to POST /api/v1/auth/login and the session token it
// returns is kept in this origin's own storage (localStorage "discuss.token") and sent as
// `Authorization: Bearer`. A page the iframe navigates to carries no such header, so when a
// token is held and the server-rendered page shows nobody signed in, the page is fetched
// again with the header and its content swapped in; the "discuss:refreshed" event then tells
// other scripts (discuss.js) to attach to the new content.
(() => {
  "use strict";

  const TOKEN_KEY = "discuss.token";
  let memoryToken = null; // when storage is refused, the token lives as long as the page

  function hasStorage() {
    try {
      return Boolean(window.localStorage);
    } catch (err) {
      return false; // Chromium with third-party cookies blocked: "Access is denied"
    }
  }

  function readToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch (err) {
      return memoryToken;
    }
  }

  // The embedding page's origin: only it may be handed the token for safekeeping.
  function hostOrigin() {
    const ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) return ancestors[0];
    const main = document.getElementById("discuss");
    let article = main ? main.dataset.url : "";
    if (!article) {
      const next = new URLSearchParams(window.location.search).get("next") || "";
      article = new URLSearchParams(next.split("?")[1] || "").get("url") || "";
    }
    try {
      return article ? new URL(article).origin : null;
    } catch (err) {
      return null;
    }
  }

  function storeToken(token) {
    memoryToken = token;
    if (hasStorage()) {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
      return;
    }
    // No storage of our own: the host page's embed.js keeps it (see embed.js keepToken).
    const origin = hostOrigin();
    if (isFramed() && origin) {
      window.parent.postMessage({ discuss: "keep-token", token: token || null }, origin);
    }
  }

  // Ask embed.js for the token it keeps for us; resolves to null after a short wait.
  function tokenFromHost() {
    const origin = hostOrigin();
    if (hasStorage() || !isFramed() || !origin) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => done(null), 1500);
      function done(token) {
        window.clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        resolve(token);
      }
      function onMessage(event) {
        const data = event.data;
        if (event.source !== window.parent || event.origin !== origin || !data ||
            data.discuss !== "token") return;
        done(typeof data.token === "string" && data.token ? data.token : null);
      }
      window.addEventListener("message", onMessage);
      window.parent.postMessage({ discuss: "need-token" }, origin);
    });
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function headers(extra) {
    const result = Object.assign({ "X-CSRF-Token": csrfToken() }, extra || {});
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
    return "Something went wrong (" + response.status + "). Please try again.";
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
      showError(form, "The service could not be reached. Please try again.");
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function signOut(next) {
    try {
      await fetch("/api/v1/auth/logout", {
        method: "POST", credentials: "same-origin", headers: headers(),
      });
    } catch (err) {
      // signed out locally below either way
    }
    storeToken(null);
    window.location.assign(safePath(next, window.location.pathname + window.location.search));
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
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const freshMeta = doc.querySelector('meta[name="csrf-token"]');
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (freshMeta && meta) meta.setAttribute("content", freshMeta.getAttribute("content"));
    const fresh = doc.getElementById("discuss");
    const current = document.getElementById("discuss");
    if (fresh && current) {
      current.replaceWith(document.adoptNode(fresh));
    } else {
      document.body.replaceChildren(...Array.from(doc.body.childNodes, (n) => document.adoptNode(n)));
    }
    document.dispatchEvent(new CustomEvent("discuss:refreshed"));
  }

  async function checkSession() {
    if (document.querySelector("[data-discuss-auth]")) return;
    if (!readToken()) memoryToken = await tokenFromHost();
    const token = readToken();
    if (!token) return;
    try {
      const response = await fetch("/api/v1/me", {
        credentials: "same-origin", headers: headers(),
      });
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

  // discuss.js asks here for the token when the iframe has no storage of its own.
  window.discussAccount = Object.freeze({ token: readToken });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.matches("[data-discuss-login]")) {
      event.preventDefault();
      signIn(form);
    } else if (isLogoutTarget(new URL(form.action, window.location.href))) {
      event.preventDefault();
      const next = form.querySelector('input[name="next"]');
      signOut(next ? next.value : form.dataset.next);
    }
  });

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link) return;
    const url = new URL(link.href, window.location.href);
    if (isLogoutTarget(url) && readToken()) {
      event.preventDefault();
      signOut(url.searchParams.get("next"));
    }
  });

  // The account pages shown inside the iframe tell embed.js their height, as the thread does.
  function sizeFrame() {
    if (!document.querySelector("[data-discuss-auth]") || !isFramed()) return;
    const tell = () => window.parent.postMessage(
      { discuss: "resize", height: document.documentElement.scrollHeight }, "*");
    tell();
    if (window.ResizeObserver) new ResizeObserver(tell).observe(document.body);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", sizeFrame);
  } else {
    sizeFrame();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", checkSession);
  } else {
    checkSession();
  }
})();

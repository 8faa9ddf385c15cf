/* discuss.js: progressive enhancement of the discussion page inside the iframe.
 *
 * The page works without this script (plain forms, links). With it, forms go through the JSON
 * API (/api/v1/comments) and the server renders each new or edited comment as HTML through
 * GET /embed/<site>/comments/<id>/fragment, so a comment is only ever rendered by the one
 * server-side template (no HTML is built from reader text here).
 *
 * Votes and reports go through the same API (POST /api/v1/comments/<id>/vote and …/report); the
 * report form itself is the server's, fetched as the comment's fragment with ?report=1.
 *
 * localStorage keys: discuss.token (bearer token, set by the sign-in code), discuss.guest (this
 * browser's guest key, from the X-Discuss-Guest-Key response header), discuss.name and
 * discuss.email (remembered guest fields).
 * Messages to the host page: {discuss: "ready"} once, {discuss: "resize", height} on changes.
 */
(() => {
  "use strict";

  const KEYS = { token: "discuss.token", guest: "discuss.guest", name: "discuss.name", email: "discuss.email" };
  // The spam fields of a comment form: the honeypot and the signed time the form was shown.
  const SPAM_FIELDS = ["website", "rendered_at"];

  const store = {
    get(key) { try { return window.localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { window.localStorage.setItem(key, value); } catch { /* storage blocked */ } },
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

  // ------------------------------------------------------------ relative times

  const UNITS = [["year", 365 * 86400], ["month", 30 * 86400], ["day", 86400], ["hour", 3600], ["minute", 60]];
  function relativeTime(iso) {
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 45) return "just now";
    for (const [unit, size] of UNITS) {
      if (seconds >= size) {
        const count = Math.floor(seconds / size);
        return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
      }
    }
    return "1 minute ago";
  }
  function refreshTimes(scope) {
    for (const time of scope.querySelectorAll("time[data-discuss-time]")) {
      const text = relativeTime(time.getAttribute("datetime"));
      if (time.textContent !== text) time.textContent = text;
    }
  }

  // The host page (embed.js) tells a frame shown with theme "auto" when its colour scheme
  // changes; only the parent window may, and only to one of the two themes.
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent || !data || data.discuss !== "theme") return;
    if (data.theme === "light" || data.theme === "dark") document.documentElement.dataset.theme = data.theme;
  });

  function startSizing() {
    if ("ResizeObserver" in window) {
      new ResizeObserver(reportHeight).observe(document.documentElement);
    } else {
      window.addEventListener("resize", reportHeight);
    }
    tellHost({ discuss: "ready" });
    reportHeight();
    // Opened at #comment-N (a permalink): ask the host page to scroll to it.
    const target = /^#comment-\d{1,18}$/.test(window.location.hash) && document.querySelector(window.location.hash);
    if (target) tellHost({ discuss: "scroll-to", top: Math.max(0, Math.round(target.getBoundingClientRect().top + window.scrollY)) });
  }

  // account.js may swap the whole body (signed in by token): always look the root up again.
  const page = () => document.getElementById("discuss");
  if (!page()) {
    // Error pages: still let the host show and size the frame.
    startSizing();
    return;
  }

  // ------------------------------------------------------------ requests

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function requestHeaders(json) {
    const headers = { "X-CSRF-Token": csrfToken(), "Accept": json ? "application/json" : "text/html" };
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

  async function api(method, url, body) {
    const headers = requestHeaders(true);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    keepGuestKey(response);
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch { data = null; }
    }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `The request failed (${response.status}). Please try again.`);
      error.fields = (data && data.error && data.error.fields) || {};
      error.code = (data && data.error && data.error.code) || "";
      error.status = response.status;
      throw error;
    }
    return data;
  }

  async function fetchDocument(url) {
    const response = await fetch(url, { headers: requestHeaders(false), credentials: "same-origin" });
    keepGuestKey(response);
    if (!response.ok) throw new Error(`The page could not be loaded (${response.status}).`);
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  function fragmentUrl(commentId, extra) {
    const base = page().dataset.fragment.replace(/\/0\/fragment$/, `/${commentId}/fragment`);
    const query = new URLSearchParams(page().dataset.query || "");
    if (extra) for (const [name, value] of Object.entries(extra)) query.set(name, value);
    return `${base}?${query}`;
  }

  async function fetchComment(commentId, extra) {
    const doc = await fetchDocument(fragmentUrl(commentId, extra));
    const item = doc.body.querySelector("li.discuss-item");
    if (!item) throw new Error("The comment could not be shown.");
    return document.adoptNode(item);
  }

  // ------------------------------------------------------------ small DOM helpers

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

  function itemOf(commentId) { return document.getElementById(`comment-${commentId}`); }
  function articleOf(item) { return item.querySelector(":scope > article"); }

  function focusComment(item) {
    const article = articleOf(item);
    if (!article) return;
    article.setAttribute("tabindex", "-1");
    article.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  // Where a new comment goes: top level by the current sort; a reply after its parent's
  // earlier replies, nested until the indentation cap, then as a following sibling.
  function placeComment(item, parentId) {
    const list = document.getElementById("discuss-comments");
    const empty = document.getElementById("discuss-empty");
    if (empty) empty.remove();
    const parent = parentId ? itemOf(parentId) : null;
    if (!parent) {
      if (page().dataset.sort === "newest") list.prepend(item); else list.append(item);
      return;
    }
    const parentDepth = Number(parent.dataset.depth || 0);
    const maxIndent = Number(page().dataset.maxIndent || 4);
    if (parentDepth < maxIndent) {
      let replies = parent.querySelector(":scope > ol.discuss-replies");
      if (!replies) {
        replies = document.createElement("ol");
        replies.className = "discuss-replies";
        parent.append(replies);
      }
      replies.append(item);
      return;
    }
    let last = parent;
    while (last.nextElementSibling && Number(last.nextElementSibling.dataset.depth) > parentDepth) {
      last = last.nextElementSibling;
    }
    last.after(item);
  }

  // ------------------------------------------------------------ remembered guest fields

  function fillRemembered(scope) {
    for (const input of scope.querySelectorAll("input[data-remember]")) {
      const saved = store.get(KEYS[input.dataset.remember]);
      if (!input.value && saved) input.value = saved;
    }
  }

  // ------------------------------------------------------------ posting and replying

  function commentPayload(form) {
    const data = new FormData(form);
    const payload = {
      site: page().dataset.site, key: page().dataset.key,
      url: page().dataset.url || undefined, title: page().dataset.title || undefined,
      body: data.get("body") || "", notify: data.get("notify") === "1", form: {},
    };
    const parentId = data.get("parent_id");
    if (parentId) payload.parent_id = Number(parentId);
    if (form.elements.namedItem("name")) {
      payload.name = data.get("name") || "";
      payload.email = data.get("email") || "";
    }
    for (const name of SPAM_FIELDS) {
      const value = data.get(name);
      if (typeof value === "string") payload.form[name] = value;
    }
    return payload;
  }

  async function submitComment(form) {
    const payload = commentPayload(form);
    const comment = await api("POST", page().dataset.commentsUrl, payload);
    if (payload.name !== undefined) {
      store.set(KEYS.name, payload.name);
      store.set(KEYS.email, payload.email);
    }
    const item = await fetchComment(comment.id);
    placeComment(item, payload.parent_id);
    refreshTimes(item);
    form.elements.namedItem("body").value = "";
    const box = form.closest(".discuss-reply-box");
    if (box) box.remove();
    focusComment(item);
    announce(comment.status === "pending"
      ? "Your comment was posted and is awaiting moderation."
      : "Your comment was posted.");
  }

  function openReply(commentId) {
    const item = itemOf(commentId);
    const template = document.getElementById("discuss-form-new");
    if (!item || !template) return false;
    let box = document.getElementById(`reply-${commentId}`);
    if (!box) {
      const form = template.cloneNode(true);
      const suffix = `r${commentId}`;
      form.id = `discuss-form-${suffix}`;
      for (const element of form.querySelectorAll("[id]")) element.id = element.id.replace(/-new$/, `-${suffix}`);
      for (const label of form.querySelectorAll("label[for]")) label.htmlFor = label.htmlFor.replace(/-new$/, `-${suffix}`);
      for (const element of form.querySelectorAll("[aria-describedby]")) {
        element.setAttribute("aria-describedby", element.getAttribute("aria-describedby").replace(/-new$/, `-${suffix}`));
      }
      clearError(form);
      form.elements.namedItem("body").value = "";
      const bodyLabel = form.querySelector(`label[for="discuss-body-${suffix}"]`);
      if (bodyLabel) bodyLabel.textContent = "Your reply";
      const parent = document.createElement("input");
      parent.type = "hidden";
      parent.name = "parent_id";
      parent.value = String(commentId);
      form.prepend(parent);
      form.querySelector("button[type=submit]").textContent = "Post reply";
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "discuss-cancel";
      cancel.dataset.discussCancelReply = String(commentId);
      cancel.textContent = "Cancel";
      form.querySelector(".discuss-buttons").append(cancel);
      box = document.createElement("div");
      box.className = "discuss-reply-box";
      box.id = `reply-${commentId}`;
      box.append(form);
      articleOf(item).after(box);
      fillRemembered(box);
    }
    box.querySelector("textarea").focus();
    return true;
  }

  // ------------------------------------------------------------ editing and deleting

  const beforeEdit = new Map();

  async function openEdit(commentId) {
    const item = itemOf(commentId);
    if (!item) return;
    const fresh = await fetchComment(commentId, { edit: "1" });
    const current = articleOf(item);
    beforeEdit.set(String(commentId), current);
    current.replaceWith(articleOf(fresh));
    const textarea = articleOf(item).querySelector("textarea");
    if (textarea) textarea.focus();
  }

  async function replaceArticle(commentId) {
    const item = itemOf(commentId);
    const fresh = await fetchComment(commentId);
    articleOf(item).replaceWith(articleOf(fresh));
    refreshTimes(item);
  }

  async function submitEdit(form) {
    const commentId = form.dataset.commentId;
    await api("PATCH", `${page().dataset.commentsUrl}/${commentId}`, { body: form.elements.namedItem("body").value });
    beforeEdit.delete(commentId);
    await replaceArticle(commentId);
    focusComment(itemOf(commentId));
    announce("Your comment was saved.");
  }

  function hasReplies(item) {
    const nested = item.querySelector(":scope > ol.discuss-replies > li");
    const next = item.nextElementSibling;
    return Boolean(nested) || Boolean(next && Number(next.dataset.depth) > Number(item.dataset.depth));
  }

  async function submitDelete(form) {
    if (!window.confirm("Delete this comment?")) return;
    const commentId = form.dataset.commentId;
    await api("DELETE", `${page().dataset.commentsUrl}/${commentId}`);
    const item = itemOf(commentId);
    if (item && hasReplies(item)) {
      const placeholder = document.createElement("article");
      placeholder.className = "discuss-comment discuss-deleted";
      const text = document.createElement("p");
      text.className = "discuss-deleted-text";
      text.textContent = "This comment was deleted.";
      placeholder.append(text);
      articleOf(item).replaceWith(placeholder);
    } else if (item) {
      item.remove();
    }
    announce("Your comment was deleted.");
  }

  // ------------------------------------------------------------ votes

  // Show a comment's score and the reader's vote: the pressed button, and what each button
  // sends next (pressing the vote already given sends 0 and takes it back).
  function showVote(commentId, score, myVote) {
    for (const element of document.querySelectorAll(`.discuss-score[data-comment-id="${commentId}"]`)) {
      element.textContent = String(score);
      element.setAttribute("aria-label", `Score ${score}`);
    }
    for (const button of document.querySelectorAll(`button.discuss-vote[data-comment-id="${commentId}"]`)) {
      const value = Number(button.dataset.value);
      button.setAttribute("aria-pressed", String(value === myVote));
      button.value = String(value === myVote ? 0 : value);
    }
  }

  function showCommentMessage(commentId, text) {
    const article = itemOf(commentId) && articleOf(itemOf(commentId));
    if (!article) return;
    let box = article.querySelector(":scope > .discuss-vote-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "discuss-form-error discuss-vote-error";
      box.setAttribute("role", "alert");
      const footer = article.querySelector(":scope > footer");
      if (footer) footer.after(box); else article.append(box);
    }
    box.textContent = text;
  }

  async function submitVote(button) {
    const commentId = button.dataset.commentId;
    const pressed = button.getAttribute("aria-pressed") === "true";
    const value = pressed ? 0 : Number(button.dataset.value);
    const buttons = document.querySelectorAll(`button.discuss-vote[data-comment-id="${commentId}"]`);
    for (const b of buttons) b.disabled = true;
    try {
      const result = await api("POST", `${page().dataset.commentsUrl}/${commentId}/vote`, { value });
      showVote(commentId, result.score, result.my_vote);
      itemOf(commentId)?.querySelector(".discuss-vote-error")?.remove();
      announce(result.my_vote === 0 ? `Vote taken back. Score ${result.score}.`
        : `Voted ${result.my_vote > 0 ? "up" : "down"}. Score ${result.score}.`);
    } catch (error) {
      showCommentMessage(commentId, error.message);
      announce(error.message);
    } finally {
      for (const b of buttons) if (b.isConnected) b.disabled = false;
    }
  }

  // ------------------------------------------------------------ reports

  async function openReport(commentId) {
    const item = itemOf(commentId);
    if (!item) return;
    const article = articleOf(item);
    let form = article.querySelector(":scope > form.discuss-report-form");
    if (!form) {
      const fresh = await fetchComment(commentId, { report: "1" });
      form = fresh.querySelector("form.discuss-report-form");
      if (!form) throw new Error("This comment cannot be reported.");
      article.querySelector(":scope > .discuss-reported")?.remove();
      article.append(form);
    }
    form.querySelector("select")?.focus();
  }

  function closeReport(form) {
    const commentId = form.dataset.commentId;
    form.remove();
    itemOf(commentId)?.querySelector(".discuss-report")?.focus();
  }

  async function submitReport(form) {
    const commentId = form.dataset.commentId;
    const data = new FormData(form);
    try {
      await api("POST", `${page().dataset.commentsUrl}/${commentId}/report`,
        { reason: data.get("reason") || "", note: data.get("note") || "" });
    } catch (error) {
      if (error.code === "already_reported") error.message = "You already reported this comment.";
      throw error;
    }
    const thanks = document.createElement("p");
    thanks.className = "discuss-notice discuss-reported";
    thanks.setAttribute("role", "status");
    thanks.textContent = "Thanks, a moderator will look at it.";
    form.replaceWith(thanks);
  }

  // ------------------------------------------------------------ more comments

  async function showMore(link) {
    const doc = await fetchDocument(link.href);
    const list = document.getElementById("discuss-comments");
    for (const item of doc.querySelectorAll("#discuss-comments > li")) {
      if (!document.getElementById(item.id)) list.append(document.adoptNode(item));
    }
    const more = doc.querySelector("a.discuss-more");
    const paging = link.closest(".discuss-paging");
    if (more) link.href = more.href; else paging.remove();
    refreshTimes(list);
    announce("More comments loaded.");
  }

  // ------------------------------------------------------------ events (delegated)

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

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("#discuss")) return;
    const kind = form.dataset.discussForm;
    if (kind === "comment") {
      event.preventDefault();
      guarded(form, () => submitComment(form));
    } else if (kind === "edit") {
      event.preventDefault();
      guarded(form, () => submitEdit(form));
    } else if (kind === "delete") {
      event.preventDefault();
      guarded(form, () => submitDelete(form));
    } else if (kind === "report") {
      event.preventDefault();
      guarded(form, () => submitReport(form));
    } else if (kind === "vote") {
      // Enter in no field here; a vote button's click is handled below.
      event.preventDefault();
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("a, button") : null;
    if (!target || !target.closest("#discuss")) return;
    if (target.classList.contains("discuss-vote")) {
      event.preventDefault();
      if (!target.disabled) submitVote(target);
    } else if (target.classList.contains("discuss-report")) {
      event.preventDefault();
      guarded(null, () => openReport(target.dataset.commentId));
    } else if (target.classList.contains("discuss-cancel") && target.closest(".discuss-report-form")) {
      event.preventDefault();
      closeReport(target.closest(".discuss-report-form"));
    } else if (target.classList.contains("discuss-reply-link")) {
      if (openReply(target.dataset.commentId)) event.preventDefault();
    } else if (target.dataset.discussCancelReply) {
      const box = document.getElementById(`reply-${target.dataset.discussCancelReply}`);
      if (box) box.remove();
      const link = itemOf(target.dataset.discussCancelReply)?.querySelector(".discuss-reply-link");
      if (link) link.focus();
    } else if (target.classList.contains("discuss-edit-link")) {
      event.preventDefault();
      guarded(null, () => openEdit(target.dataset.commentId));
    } else if (target.classList.contains("discuss-cancel") && target.closest(".discuss-edit-form")) {
      event.preventDefault();
      const commentId = target.closest(".discuss-edit-form").dataset.commentId;
      const saved = beforeEdit.get(commentId);
      const item = itemOf(commentId);
      if (saved && item) {
        articleOf(item).replaceWith(saved);
        beforeEdit.delete(commentId);
        item.querySelector(".discuss-edit-link")?.focus();
      }
    } else if (target.classList.contains("discuss-more")) {
      event.preventDefault();
      guarded(null, () => showMore(target));
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
    if (!fresh || fresh.dataset.viewer === viewer) return;
    page().replaceWith(document.adoptNode(fresh));
    const meta = doc.querySelector('meta[name="csrf-token"]');
    const mine = document.querySelector('meta[name="csrf-token"]');
    if (meta && mine) mine.content = meta.content;
    prepare();
  }

  function prepare() {
    fillRemembered(page());
    refreshTimes(page());
  }

  document.addEventListener("discuss:refreshed", prepare);
  prepare();
  window.setInterval(() => refreshTimes(page()), 60 * 1000);
  startSizing();
  renderForGuestKey().catch(() => { /* the page as rendered still works */ });

  // For other scripts of the service (votes, reports, sign-in) to reuse the same requests.
  window.discuss = Object.freeze({ api, announce, refreshTimes, reportHeight, keys: KEYS });
})();

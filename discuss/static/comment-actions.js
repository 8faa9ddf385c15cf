/* comment-actions.js: posting, replying, editing, deleting, votes, reports and "show more".
 *
 * discuss.js fetches this script when a reader first moves into a form or uses one of these
 * (most readers only read), then calls the functions it registers as window.discussActions.
 * Each new or edited comment comes from the server as HTML (GET
 * /embed/<site>/comments/<id>/fragment), so a comment is only ever rendered by the one
 * server-side template and no HTML is built from reader text here. The report form itself is
 * the server's too, fetched as the comment's fragment with ?report=1.
 */
(() => {
  "use strict";

  const { KEYS, store, page, requestHeaders, keepGuestKey, fetchDocument, announce, clearError, t,
    fillRemembered, refreshTimes, whenTexts, swapPage } = window.discuss;

  // The spam fields of a comment form: the honeypot and the signed time the form was shown.
  const SPAM_FIELDS = ["website", "rendered_at"];

  // ------------------------------------------------------------ requests

  let lastFormToken = ""; // a fresh form token, sent with each posted comment's answer

  async function api(method, url, body) {
    const headers = requestHeaders(true);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    keepGuestKey(response);
    lastFormToken = response.headers.get("X-Discuss-Form-Token") || "";
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch { data = null; }
    }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || t("request_failed", { status: response.status }));
      error.fields = (data && data.error && data.error.fields) || {};
      error.code = (data && data.error && data.error.code) || "";
      error.status = response.status;
      throw error;
    }
    return data;
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
    if (!item) throw new Error(t("cannot_show"));
    return document.adoptNode(item);
  }

  // ------------------------------------------------------------ placing comments

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

  // ------------------------------------------------------------ the length of a comment

  // Near the limit a counter says how much is left; over it, how much too much (nothing is
  // cut: the form refuses to send it, and so would the server).
  // Numbers as the page's language groups them ("10 000", "10.000"), in the server's digits.
  const number = (n) => n.toLocaleString(document.documentElement.lang || "en", { numberingSystem: "latn" });
  function tooLong(textarea) {
    const limit = Number(textarea.dataset.max || 0);
    return limit && textarea.value.trim().length > limit ? textarea.value.trim().length - limit : 0;
  }

  // The counter is made on first use, after the textarea, and named by its aria-describedby.
  function counterOf(textarea) {
    const id = `${textarea.id}-count`;
    let counter = document.getElementById(id);
    if (!counter) {
      counter = document.createElement("p");
      counter.id = id;
      counter.className = "discuss-help discuss-counter";
      counter.setAttribute("aria-live", "polite");
      textarea.after(counter);
      const described = textarea.getAttribute("aria-describedby");
      textarea.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
    }
    return counter;
  }

  function showCount(textarea) {
    const limit = Number(textarea.dataset.max || 0);
    if (!limit || textarea.value.length < limit * 0.9 && !document.getElementById(`${textarea.id}-count`)) return;
    const counter = counterOf(textarea);
    const length = textarea.value.trim().length;
    const over = length - limit;
    counter.hidden = length < limit * 0.9;
    counter.classList.toggle("discuss-form-error", over > 0);
    const text = over > 0 ? t("chars_over", { count: over, n: number(over), max: number(limit) })
      : t("chars_left", { count: limit - length, n: number(limit - length) });
    if (counter.textContent !== text) counter.textContent = text;
    if (over > 0) textarea.setAttribute("aria-invalid", "true");
    else if (counter.dataset.marked) textarea.removeAttribute("aria-invalid");
    counter.dataset.marked = over > 0 ? "1" : "";
  }

  // ------------------------------------------------------------ "Link": copy the address

  async function copyLink(link) {
    let copied = false;
    try {
      await navigator.clipboard.writeText(link.href);
      copied = true;
    } catch {
      const field = document.createElement("textarea");
      field.value = link.href;
      field.setAttribute("readonly", "");
      field.className = "discuss-visually-hidden";
      document.body.append(field);
      field.select();
      try { copied = document.execCommand("copy"); } catch { copied = false; }
      field.remove();
    }
    if (!copied) {
      window.open(link.href, "_top");
      return;
    }
    const label = link.textContent;
    link.textContent = t("link_copied");
    announce(t("link_copied_said"));
    window.setTimeout(() => { link.textContent = label; }, 2500);
  }

  const countLater = (textarea) => {
    whenTexts().then(() => showCount(textarea), () => { /* the server still says it */ });
  };
  document.addEventListener("input", (event) => {
    const target = event.target;
    if (target instanceof HTMLTextAreaElement && target.dataset.max) countLater(target);
  });
  // This script arrives after the first keystroke or paste that asked for it: count what is
  // already typed, or a long paste would show no counter until the next key.
  for (const textarea of document.querySelectorAll("#discuss textarea[data-max]")) {
    if (textarea.value) countLater(textarea);
  }

  // A comment over the limit is not sent: the form says by how much (the server would too).
  function refuseTooLong(form) {
    const body = form.elements.namedItem("body");
    const over = body instanceof HTMLTextAreaElement ? tooLong(body) : 0;
    if (!over) return;
    const limit = Number(body.dataset.max);
    const error = new Error(t("too_long", { length: number(limit + over), max: number(limit) }));
    error.fields = { body: "too_long" };
    throw error;
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

  // The "N comments" heading, from the service (only approved comments count, so a comment
  // waiting for a moderator leaves it as it is).
  async function refreshCount() {
    const heading = document.getElementById("discuss-count");
    const url = `/api/v1/counts?${new URLSearchParams({ site: page().dataset.site, key: page().dataset.key })}`;
    try {
      const response = await fetch(url, { cache: "no-store", credentials: "omit" });
      const data = await response.json();
      const n = Number(data.counts[page().dataset.key] || 0);
      if (heading) heading.textContent = t("comments", { n });
    } catch { /* the heading stays until the next reload */ }
  }

  async function submitComment(form) {
    refuseTooLong(form);
    const payload = commentPayload(form);
    const comment = await api("POST", page().dataset.commentsUrl, payload);
    // The form's token was spent with this comment: every form of the page takes the new one.
    const fresh = lastFormToken;
    if (fresh) for (const field of document.querySelectorAll('input[name="rendered_at"]')) field.value = fresh;
    if (payload.name !== undefined) {
      store.set(KEYS.name, payload.name);
      store.set(KEYS.email, payload.email);
    }
    let item;
    try {
      item = await fetchComment(comment.id);
    } catch {
      // Posted, but it could not be fetched to show in place: the page shows it instead.
      const url = new URL(window.location.href);
      url.searchParams.set("posted", comment.id);
      url.hash = `comment-${comment.id}`;
      window.location.assign(url.href);
      return;
    }
    placeComment(item, payload.parent_id);
    refreshTimes(item);
    form.elements.namedItem("body").value = "";
    const box = form.closest(".discuss-reply-box");
    if (box) box.remove();
    focusComment(item);
    announce(comment.status === "approved" ? t("posted") : t("posted_pending"));
    if (comment.status === "approved") refreshCount();
  }

  function openReply(commentId) {
    const item = itemOf(commentId);
    const template = document.getElementById("discuss-form-new");
    if (!item || !template) return false;
    let box = document.getElementById(`reply-${commentId}`);
    if (!box) {
      const form = template.cloneNode(true);
      const suffix = `r${commentId}`;
      form.querySelector(".discuss-counter")?.remove();
      form.querySelector("textarea").setAttribute("aria-describedby", "discuss-help-new");
      form.id = `discuss-form-${suffix}`;
      for (const element of form.querySelectorAll("[id]")) element.id = element.id.replace(/-new$/, `-${suffix}`);
      for (const label of form.querySelectorAll("label[for]")) label.htmlFor = label.htmlFor.replace(/-new$/, `-${suffix}`);
      for (const element of form.querySelectorAll("[aria-describedby]")) {
        element.setAttribute("aria-describedby", element.getAttribute("aria-describedby").replace(/-new$/, `-${suffix}`));
      }
      clearError(form);
      form.elements.namedItem("body").value = "";
      const bodyLabel = form.querySelector(`label[for="discuss-body-${suffix}"]`);
      if (bodyLabel) bodyLabel.textContent = t("your_reply");
      const parent = document.createElement("input");
      parent.type = "hidden";
      parent.name = "parent_id";
      parent.value = String(commentId);
      form.prepend(parent);
      form.querySelector("button[type=submit]").textContent = t("post_reply");
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "discuss-cancel";
      cancel.dataset.discussCancelReply = String(commentId);
      cancel.textContent = t("cancel");
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

  function cancelReply(commentId) {
    document.getElementById(`reply-${commentId}`)?.remove();
    itemOf(commentId)?.querySelector(".discuss-reply-link")?.focus();
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
    refuseTooLong(form);
    const commentId = form.dataset.commentId;
    await api("PATCH", `${page().dataset.commentsUrl}/${commentId}`, { body: form.elements.namedItem("body").value });
    beforeEdit.delete(commentId);
    await replaceArticle(commentId);
    focusComment(itemOf(commentId));
    announce(t("saved"));
  }

  // Cancel puts back the comment as it was; an edit form the server rendered (opened without
  // scripts) has nothing to put back, so its link leads to the plain page.
  function cancelEdit(form, link) {
    const commentId = form.dataset.commentId;
    const saved = beforeEdit.get(commentId);
    const item = itemOf(commentId);
    if (!saved || !item) {
      window.location.assign(link.href);
      return;
    }
    articleOf(item).replaceWith(saved);
    beforeEdit.delete(commentId);
    item.querySelector(".discuss-edit-link")?.focus();
  }

  function hasReplies(item) {
    const nested = item.querySelector(":scope > ol.discuss-replies > li");
    const next = item.nextElementSibling;
    return Boolean(nested) || Boolean(next && Number(next.dataset.depth) > Number(item.dataset.depth));
  }

  async function submitDelete(form) {
    if (!window.confirm(t("confirm_delete"))) return;
    const commentId = form.dataset.commentId;
    await api("DELETE", `${page().dataset.commentsUrl}/${commentId}`);
    const item = itemOf(commentId);
    if (item && hasReplies(item)) {
      const placeholder = document.createElement("article");
      placeholder.className = "discuss-comment discuss-deleted";
      const text = document.createElement("p");
      text.className = "discuss-deleted-text";
      text.textContent = t("deleted_placeholder");
      placeholder.append(text);
      articleOf(item).replaceWith(placeholder);
    } else if (item) {
      item.remove();
    }
    announce(t("deleted"));
    refreshCount();
  }

  // ------------------------------------------------------------ votes

  // Show a comment's score and the reader's vote: the pressed button, and what each button
  // sends next (pressing the vote already given sends 0 and takes it back).
  function showVote(commentId, score, myVote) {
    for (const element of document.querySelectorAll(`.discuss-score[data-comment-id="${commentId}"]`)) {
      element.textContent = String(score);
      element.setAttribute("aria-label", t("score", { score }));
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
      const said = result.my_vote === 0 ? "vote_back" : result.my_vote > 0 ? "voted_up" : "voted_down";
      announce(t(said, { score: result.score }));
    } catch (error) {
      if (endedSignIn(error)) throw error; // the page switches to signed out (minding)
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
      if (!form) throw new Error(t("cannot_report"));
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
      if (error.code === "already_reported") error.message = t("already_reported");
      throw error;
    }
    const thanks = document.createElement("p");
    thanks.className = "discuss-notice discuss-reported";
    thanks.setAttribute("role", "status");
    thanks.textContent = t("reported");
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
    announce(t("more_loaded"));
  }

  // ------------------------------------------------------------ an ended sign-in

  // A reader the page shows signed in (or who holds a token) is answered 401: their sign-in
  // ended (signed out everywhere, a changed password, expiry), whatever they were doing.
  function endedSignIn(error) {
    return error.status === 401 &&
      (page().dataset.viewer === "user" || Boolean(store.get(KEYS.token) || window.discussAccount?.token()));
  }

  // Show the page as it now is for them, signed out, with a word why and what they wrote
  // kept: a comment or reply in the guest's form, an edit or a report note in its own form.
  async function signedOut(target, error) {
    const form = target instanceof HTMLFormElement ? target : null;
    const kind = form ? form.dataset.discussForm : "";
    const element = target instanceof Element ? target : null;
    const commentId = element ? element.closest("[data-comment-id]")?.dataset.commentId : target;
    const parentId = kind === "comment" ? new FormData(form).get("parent_id") : null;
    store.set(KEYS.token, "");
    window.discussAccount?.forget();
    if (!swapPage(await fetchDocument(window.location.href))) throw error;
    const message = t(kind === "comment" ? "ended_post" : "ended");
    let again = null;
    if (kind === "comment") {
      if (parentId) openReply(parentId);
      again = parentId ? document.getElementById(`reply-${parentId}`)?.querySelector("form")
        : document.getElementById("discuss-form-new");
      if (again) again.elements.namedItem("body").value = form.elements.namedItem("body").value;
    } else if ((kind === "edit" || kind === "report") && itemOf(commentId)) {
      const article = articleOf(itemOf(commentId));
      if (kind === "edit") {
        beforeEdit.set(String(commentId), article); // Cancel shows the comment as it now is
        article.replaceWith(form.closest("article"));
      } else {
        article.querySelector(":scope > form.discuss-report-form")?.remove();
        article.append(form);
      }
      again = form;
    }
    const box = again?.querySelector(".discuss-form-error");
    if (box) {
      box.textContent = message;
      box.hidden = false;
      (again.elements.namedItem("name") || again.querySelector("textarea") || box).focus();
    } else if (commentId && itemOf(commentId)) {
      showCommentMessage(commentId, message);
    }
    announce(message);
  }

  // Every action the page calls goes through here: a 401 for a signed-in reader switches the
  // page to signed out instead of showing the raw error.
  const minding = (action) => async (target, ...rest) => {
    try {
      return await action(target, ...rest);
    } catch (error) {
      if (endedSignIn(error)) return signedOut(target, error);
      throw error;
    }
  };

  const ACTIONS = {
    comment: submitComment, openReply, cancelReply, openEdit, cancelEdit, edit: submitEdit, delete: submitDelete, vote: submitVote,
    openReport, closeReport, report: submitReport, showMore, copyLink,
    fetchComment, placeComment, refreshCount, // for live.js
  };
  window.discussActions = Object.freeze(Object.fromEntries(
    Object.entries(ACTIONS).map(([name, action]) => [name, minding(action)])));
})();

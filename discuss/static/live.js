/* live.js: comments that others post while the page is open (docs/live.md).
 *
 * discuss.js opens the thread's stream (#discuss's data-stream, Server-Sent Events: the
 * browser reconnects by itself and resumes after the last event it got) and fetches this
 * script with the first new comment; what arrives waits in discuss.liveWaiting, which this
 * script empties (window.discussLive.arrived). Nothing moves while the reader reads: new
 * comments wait behind an "N new comments" button above the list. A click fetches each as the
 * server renders it (comment-actions.js's fragment, fetched with the first comment) and puts
 * it in its place; the comment at the top of the window stays where it was.
 */
(() => {
  "use strict";

  const { page, t, announce, refreshTimes, actions, liveWaiting } = window.discuss;
  const waiting = new Map(); // comment id -> parent id, in the order they arrived
  let bar = null;

  const shown = (id) => document.getElementById(`comment-${id}`);

  function update() {
    if (!waiting.size) {
      bar?.remove();
      bar = null;
      return;
    }
    if (!bar) {
      // Sticky and of no height: it floats over the list, so nothing below it moves.
      bar = document.createElement("div");
      bar.className = "discuss-new-comments";
      Object.assign(bar.style, { position: "sticky", top: "0.5rem", height: "0", zIndex: "2",
        display: "flex", justifyContent: "center", alignItems: "flex-start" });
      const button = document.createElement("button");
      button.type = "button";
      button.className = "discuss-primary";
      button.addEventListener("click", () => { show().catch(() => announce(t("cannot_show"))); });
      bar.append(button);
      document.getElementById("discuss-comments").before(bar);
    }
    const text = t("new_comments", { n: waiting.size });
    bar.firstChild.textContent = text;
    announce(text);
  }

  // The first comment whose top is in the window, and where it is.
  function anchor() {
    for (const article of page().querySelectorAll(".discuss-item > article")) {
      const top = article.getBoundingClientRect().top;
      if (top >= 0) return { article, top };
    }
    return null;
  }

  async function show() {
    const { fetchComment, placeComment, refreshCount } = await actions();
    const arrived = [...waiting];
    waiting.clear();
    update();
    const items = [];
    for (const [id, parentId] of arrived) {
      if (!shown(id)) items.push([id, await fetchComment(id), parentId]);
    }
    const before = anchor();
    for (const [id, item, parentId] of items) if (!shown(id)) placeComment(item, parentId);
    if (before) window.scrollBy(0, before.article.getBoundingClientRect().top - before.top);
    refreshTimes(page());
    refreshCount(); // the "N comments" heading counts them too
  }

  function arrived(comment) {
    // The reader's own new comment is put in place by comment-actions.js: give it a moment.
    window.setTimeout(() => {
      if (shown(comment.id) || waiting.has(comment.id)) return;
      waiting.set(comment.id, comment.parent_id);
      // The button's words come with comment-actions.js's texts.
      actions().then(update, () => { /* the button waits for the next comment */ });
    }, 1000);
  }

  function drain() {
    for (const comment of liveWaiting.splice(0)) arrived(comment);
  }
  window.discussLive = Object.freeze({ arrived: drain });
  drain(); // what came while this script was on its way
})();

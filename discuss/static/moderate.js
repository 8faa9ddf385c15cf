// The moderation queue's keyboard and in-place actions. Without this script every button is
// a plain form submit; with it, actions go through the JSON API and the page stays put.
// Keys: j/k move, a/r/s/d approve/reject/spam/delete, x select, ? help.
(function () {
  "use strict";
  const form = document.getElementById("mod-bulk");
  const status = document.getElementById("mod-status");
  const help = document.getElementById("mod-keys");
  const siteSwitch = document.querySelector("[data-site-switch]");
  if (siteSwitch) {
    siteSwitch.removeAttribute("name");  // the page's URL names the site, not a parameter
    siteSwitch.addEventListener("change", () => { window.location.href = siteSwitch.value; });
  }
  if (!form) return;
  const { csrfToken } = window.discuss; // discuss.js, loaded first, reads it for every page
  const KEYS = { a: "approve", r: "reject", s: "spam", d: "delete", u: "restore" };
  const DONE = { approve: "Approved", reject: "Rejected", spam: "Marked as spam", delete: "Deleted",
    pin: "Pinned", unpin: "Unpinned", restore: "Restored" };
  const count = document.getElementById("mod-count");
  let current = -1;

  function items() { return Array.from(form.querySelectorAll(".mod-item")); }

  function say(message, isError, undo) {
    const p = document.createElement("p");
    p.className = "mod-flash " + (isError ? "mod-flash-error" : "mod-flash-ok");
    p.textContent = message;
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mod-undo-button";
      button.textContent = "Undo";
      button.addEventListener("click", undo);
      p.append(" ", button);
    }
    status.replaceChildren(p);
  }

  // "Ann’s “first words…”": which comment an action was about.
  function describe(li) {
    const author = li.querySelector(".discuss-author");
    const body = li.querySelector(".discuss-body");
    const words = body ? body.textContent.replace(/\s+/g, " ").trim() : "";
    return (author ? author.textContent.trim() + "’s " : "") +
      "“" + (words.length > 40 ? words.slice(0, 39) + "…" : words) + "”";
  }

  function focusItem(index) {
    const list = items();
    if (!list.length) { current = -1; return; }
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((li, i) => li.classList.toggle("mod-current", i === current));
    list[current].focus({ preventScroll: false });
  }

  function checkedIds() {
    return Array.from(form.querySelectorAll('input[name="ids"]:checked')).map((c) => Number(c.value));
  }

  async function act(ids, action) {
    if (!ids.length) { say("Select at least one comment.", true); return; }
    const expected = {};
    ids.forEach((id) => {
      const li = document.getElementById("mod-item-" + id);
      if (li) expected[id] = li.dataset.status;
    });
    const note = form.querySelector('input[name="note"]').value;
    let response;
    try {
      response = await fetch("/api/v1/moderation/actions", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ ids, action, note, expected_status: expected }),
      });
    } catch (err) {
      say("The service could not be reached. Nothing was changed.", true);
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (!data.results) {
      say((data.error && data.error.message) || "That did not work.", true);
      return;
    }
    const problems = [];
    const done = [];
    const names = [];
    let removed = 0;
    data.results.forEach((r) => {
      const li = document.getElementById("mod-item-" + r.id);
      if (!li) return;
      if (r.result === "ok") {
        done.push(r.id);
        if (names.length < 3) names.push(describe(li));
      }
      if (r.result === "ok" && (action === "pin" || action === "unpin")) {
        li.dataset.status = r.status;
        return;
      }
      if (r.result === "ok" || r.result === "conflict") {
        if (r.result === "conflict") problems.push("Comment " + r.id + ": " + r.message);
        li.remove();
        removed += 1;
      } else {
        problems.push("Comment " + r.id + ": " + (r.message || r.result));
      }
    });
    if (count && removed) {
      count.dataset.count = String(Math.max(0, Number(count.dataset.count) - removed));
      count.textContent = "(" + count.dataset.count + ")";
    }
    const more = done.length > names.length ? " and " + (done.length - names.length) + " more" : "";
    const text = done.length ? (DONE[action] || action) + ": " + names.join(", ") + more + "." : "Nothing was changed.";
    const undoable = done.length && action !== "pin" && action !== "unpin";
    say(text + (problems.length ? " " + problems.join(" ") : ""), problems.length > 0,
      undoable ? () => undo(done) : null);
    if (!items().length) {
      document.getElementById("mod-empty-js").hidden = false;
      form.hidden = true;
    }
    // The highlight stays where the comment was, on nothing: the next j lands on the comment
    // that moved up, and a letter key needs a j first (a habit must never hit an innocent one).
    current -= 1;
    items().forEach((li) => li.classList.remove("mod-current"));
  }

  // Undo: each comment goes back to the status it had (the page shows it again on reload).
  async function undo(ids) {
    let response;
    try {
      response = await fetch("/api/v1/moderation/actions", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ ids, action: "restore" }),
      });
    } catch (err) {
      say("The service could not be reached. Nothing was undone.", true);
      return;
    }
    const data = await response.json().catch(() => ({}));
    const back = (data.results || []).filter((r) => r.result === "ok").length;
    say(back ? "Undone: " + back + " comment(s) are back as they were. Reload to see them here."
      : "Nothing could be undone.", !back);
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button.mod-act");
    if (!button) return;
    event.preventDefault();
    const li = button.closest(".mod-item");
    current = items().indexOf(li);
    act([Number(li.dataset.commentId)], button.dataset.action);
  });

  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (!submitter || submitter.name !== "action") return;  // thread controls submit normally
    event.preventDefault();
    act(checkedIds(), submitter.value);
  });

  const selectAll = form.querySelector("[data-select-all]");
  selectAll.addEventListener("change", () => {
    form.querySelectorAll('input[name="ids"]').forEach((c) => { c.checked = selectAll.checked; });
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key;
    if (key === "?") {
      help.hidden = !help.hidden;
      event.preventDefault();
    } else if (key === "Escape" && !help.hidden) {
      help.hidden = true;
    } else if (key === "j") {
      focusItem(current + 1);
      event.preventDefault();
    } else if (key === "k") {
      focusItem(current - 1);
      event.preventDefault();
    } else if (key === "x" && current >= 0) {
      const box = items()[current].querySelector('input[name="ids"]');
      box.checked = !box.checked;
      event.preventDefault();
    } else if (KEYS[key]) {
      const selected = checkedIds();
      const highlighted = form.querySelector(".mod-item.mod-current");
      if (selected.length) act(selected, KEYS[key]);
      else if (highlighted) act([Number(highlighted.dataset.commentId)], KEYS[key]);
      else { say("Move to a comment first (j).", true); return; }
      event.preventDefault();
    }
  });
})();

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
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const KEYS = { a: "approve", r: "reject", s: "spam", d: "delete" };
  let current = -1;

  function items() { return Array.from(form.querySelectorAll(".mod-item")); }

  function say(message, isError) {
    const p = document.createElement("p");
    p.className = "mod-flash " + (isError ? "mod-flash-error" : "mod-flash-ok");
    p.textContent = message;
    status.replaceChildren(p);
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
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
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
    data.results.forEach((r) => {
      const li = document.getElementById("mod-item-" + r.id);
      if (!li) return;
      if (r.result === "ok" && (action === "pin" || action === "unpin")) {
        li.dataset.status = r.status;
        return;
      }
      if (r.result === "ok" || r.result === "conflict") {
        if (r.result === "conflict") problems.push("Comment " + r.id + ": " + r.message);
        li.remove();
      } else {
        problems.push("Comment " + r.id + ": " + (r.message || r.result));
      }
    });
    const done = data.results.filter((r) => r.result === "ok").length;
    say(action + ": " + done + " of " + data.results.length + " done." +
        (problems.length ? " " + problems.join(" ") : ""), problems.length > 0);
    if (!items().length) {
      document.getElementById("mod-empty-js").hidden = false;
      form.hidden = true;
    } else {
      focusItem(current);
    }
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
      const list = items();
      if (selected.length) act(selected, KEYS[key]);
      else if (current >= 0 && list[current]) act([Number(list[current].dataset.commentId)], KEYS[key]);
      else return;
      event.preventDefault();
    }
  });
})();

/* admin.js: the Copy buttons next to the site's snippets (the text stays selectable without it). */
(function () {
  "use strict";
  var status = document.getElementById("admin-copy-status");

  function say(button, text) {
    if (status) status.textContent = text;
    button.setAttribute("data-copied", "");
    button.textContent = "Copied";
    window.setTimeout(function () {
      button.removeAttribute("data-copied");
      button.textContent = "Copy";
    }, 2000);
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, "The snippet was copied.");
      }, function () {
        selectText(source);
        if (status) status.textContent = "Copying is not allowed here: the snippet is selected, press Ctrl+C.";
      });
    } else {
      // Plain http (other than localhost) has no clipboard API: select it for Ctrl+C.
      selectText(source);
      if (status) status.textContent = "The snippet is selected: press Ctrl+C to copy it.";
    }
  });
})();

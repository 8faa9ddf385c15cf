/* discuss comment counts: fills every [data-discuss-count] (data-site, data-key) with one
   batched GET /api/v1/counts per site and 100 keys. Wording: data-zero, data-one, data-many
   ("{n}" is the number). One global: window.DiscussCount.load() fills new elements. */
(function () {
  "use strict";
  if (window.DiscussCount) return;

  var script = document.currentScript ||
    document.querySelector('script[src$="/count.js"]');
  var service = new URL(script ? script.src : location.href).origin;
  var BATCH = 100;

  function words(el, n) {
    var d = el.dataset;
    var text = n === 0 ? d.zero || "No comments yet"
      : n === 1 ? d.one || "1 comment" : d.many || "{n} comments";
    return text.replace(/\{n\}/g, String(n));
  }

  function fetchBatch(site, keys, els) {
    var q = new URLSearchParams({ site: site });
    keys.forEach(function (key) { q.append("key", key); });
    fetch(service + "/api/v1/counts?" + q, { credentials: "omit", mode: "cors" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.counts) return;
        els.forEach(function (el) {
          var n = body.counts[el.dataset.key];
          if (typeof n === "number") el.textContent = words(el, n);
        });
      })
      .catch(function () { /* counts are decoration: leave the elements as they were */ });
  }

  function load() {
    var sites = {};
    var els = document.querySelectorAll("[data-discuss-count]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i], d = el.dataset;
      if (el.hasAttribute("data-discuss-counted")) continue;
      if (!d.site || !d.key || d.key.length > 512) continue;
      el.setAttribute("data-discuss-counted", "");
      var site = sites[d.site] || (sites[d.site] = { keys: [], els: {} });
      if (!site.els[d.key]) { site.els[d.key] = []; site.keys.push(d.key); }
      site.els[d.key].push(el);
    }
    Object.keys(sites).forEach(function (name) {
      var site = sites[name];
      for (var start = 0; start < site.keys.length; start += BATCH) {
        var keys = site.keys.slice(start, start + BATCH);
        var targets = [];
        keys.forEach(function (key) { targets = targets.concat(site.els[key]); });
        fetchBatch(name, keys, targets);
      }
    });
  }

  window.DiscussCount = { load: load };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", load);
  } else {
    load();
  }
})();

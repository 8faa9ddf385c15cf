/* discuss comment counts: fills every [data-discuss-count] (data-site, data-key) with one
   batched GET /api/v1/counts per site, language and 100 keys. The words come from the service
   in the element's language (data-lang, else the nearest lang attribute, else <html lang>),
   plural forms by CLDR's rules. A page's own wording: data-zero, data-one, data-two, data-few,
   data-many, data-other, chosen by the count's CLDR category ("{n}" is the number); data-many
   also stands for the categories not given. One global: window.DiscussCount.load(). */
(function () {
  "use strict";
  if (window.DiscussCount) return;

  var script = document.currentScript ||
    document.querySelector('script[src$="/count.js"]');
  var service = new URL(script ? script.src : location.href).origin;
  var BATCH = 100;

  function words(el, n, label, category) {
    var d = el.dataset;
    var own = d[category] || (category !== "one" && category !== "zero" ? d.many : null);
    var text = own || label || String(n);
    return text.replace(/\{n\}/g, String(n));
  }

  function languageOf(el) {
    var tagged = el.closest("[lang]");
    return el.dataset.lang || (tagged ? tagged.getAttribute("lang") : "") || "";
  }

  function fetchBatch(site, lang, keys, els) {
    var q = new URLSearchParams({ site: site });
    if (lang) q.set("lang", lang);
    keys.forEach(function (key) { q.append("key", key); });
    fetch(service + "/api/v1/counts?" + q, { credentials: "omit", mode: "cors" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.counts) return;
        els.forEach(function (el) {
          var key = el.dataset.key, n = body.counts[key];
          if (typeof n === "number") {
            // "8 تعليقات" on a left-to-right page: the words keep their own direction.
            if (!el.hasAttribute("dir")) el.setAttribute("dir", "auto");
            el.textContent = words(el, n, (body.labels || {})[key], (body.plurals || {})[key]);
          }
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
      var lang = languageOf(el), group = d.site + "\n" + lang;
      var site = sites[group] || (sites[group] = { name: d.site, lang: lang, keys: [], els: {} });
      if (!site.els[d.key]) { site.els[d.key] = []; site.keys.push(d.key); }
      site.els[d.key].push(el);
    }
    Object.keys(sites).forEach(function (name) {
      var site = sites[name];
      for (var start = 0; start < site.keys.length; start += BATCH) {
        var keys = site.keys.slice(start, start + BATCH);
        var targets = [];
        keys.forEach(function (key) { targets = targets.concat(site.els[key]); });
        fetchBatch(site.name, site.lang, keys, targets);
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

/* discuss embed loader: each div#discuss-thread, [data-discuss-thread] or .discuss-thread
   (data-site, data-key; data-url, data-title, data-theme, data-lang; data-sso,
   data-sso-login) gets an iframe of the service; data-theme "auto" (the default) matches the
   host page's background. One global: DiscussEmbed.load() scans again (single-page apps).
   data-sso (the publisher's signed sign-on token) never goes into a URL: once the frame says
   it is ready, it is posted to that frame's window only, addressed to the service's origin. */
(function () {
  "use strict";
  if (window.DiscussEmbed) return;

  var script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  var service = new URL(script ? script.src : location.href).origin;
  var SELECTOR = "#discuss-thread, [data-discuss-thread], .discuss-thread";
  var TIMEOUT = 15000; // no word from the frame at all
  var GRACE = 3000; // loaded but silent: an error page
  var embeds = [];
  var dark = window.matchMedia ? matchMedia("(prefers-color-scheme: dark)") : null;
  var hash = /^#comment-\d{1,18}$/.test(location.hash) ? location.hash : "";
  // The placeholder's words are English here; a page in another language asks the service
  // for its own (one small request per language, kept for a year under the words' version,
  // which the service writes in when it serves this file): {"loading": …, "failed": …, …}.
  var VERSION = /*@words*/"";
  var WORDS = {};

  function langOf(box) {
    return (box.dataset.lang || document.documentElement.lang || "").toLowerCase();
  }

  function withWords(box, then) {
    var lang = langOf(box);
    if (!lang || /^en\b/.test(lang)) return then();
    var entry = WORDS[lang];
    if (!entry) {
      entry = WORDS[lang] = { waiting: [] };
      fetch(service + "/i18n/embed.json?" + new URLSearchParams({ lang: lang, v: VERSION }))
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; }) // unreachable: English
        .then(function (words) {
          entry.words = words || {};
          entry.waiting.forEach(function (f) { f(); });
        });
    }
    if (entry.words) then(); else entry.waiting.push(then);
  }

  function text(box, key, english) {
    var entry = WORDS[langOf(box)];
    return (entry && entry.words && entry.words[key]) || english;
  }

  function say(box, text, cls) {
    var p = box.appendChild(document.createElement("p"));
    p.className = cls;
    p.setAttribute("role", "status");
    p.textContent = text;
    return p;
  }

  // "auto" matches the host page: the first opaque background behind the placeholder (light
  // or dark by its luminance), else the page's color-scheme (the reader's system where the
  // page allows both), else light, as a page that says nothing is white.
  function hostTheme(el) {
    for (; el; el = el.parentElement) {
      var c = getComputedStyle(el).backgroundColor.match(/[\d.]+/g);
      if (c && !(c[3] < 0.5)) return c[0] * 0.2 + c[1] * 0.7 + c[2] * 0.1 < 128 ? "dark" : "light";
    }
    var s = getComputedStyle(document.documentElement).colorScheme +
      (document.querySelector("meta[name=color-scheme]") || {}).content;
    return /dark/.test(s) && (!/light/.test(s) || dark && dark.matches) ? "dark" : "light";
  }

  function themeOf(embed) {
    return embed.theme === "auto" ? hostTheme(embed.box) : embed.theme;
  }

  function canonical() {
    var link = document.querySelector('link[rel="canonical"]');
    return link && link.href ? link.href : location.href.split("#")[0];
  }

  function named(embed) {
    if (embed.frame) embed.frame.title = text(embed.box, "title", "Comments");
    if (!embed.heard && !embed.failed) {
      embed.note = say(embed.box, text(embed.box, "loading", "Loading comments…"), "discuss-loading");
    }
  }

  function fail(embed, message) {
    clearTimeout(embed.timer);
    embed.failed = true;
    embed.box.textContent = "";
    say(embed.box, message || text(embed.box, "failed", "Comments could not be loaded."),
      "discuss-error");
  }

  function build(embed) {
    if (embed.frame) return;
    var d = embed.box.dataset;
    var q = new URLSearchParams({ key: d.key, url: d.url || canonical(),
      title: d.title || document.title, theme: themeOf(embed) });
    var lang = d.lang || document.documentElement.lang;
    if (lang) q.set("lang", lang);
    if (hash) q.set("comment", hash.slice(9)); // the server opens the page that holds it
    var frame = document.createElement("iframe");
    frame.title = text(embed.box, "title", "Comments");
    frame.src = service + "/embed/" + encodeURIComponent(d.site) + "?" + q + hash;
    frame.setAttribute("width", "100%");
    frame.style.cssText = "width:100%;border:0;display:block;overflow:hidden;height:0";
    embed.frame = frame;
    embed.box.appendChild(frame);
    embed.timer = setTimeout(function () { fail(embed); }, TIMEOUT);
    frame.addEventListener("load", function () {
      if (embed.heard) return;
      clearTimeout(embed.timer);
      embed.timer = setTimeout(function () { fail(embed); }, GRACE);
    });
  }

  function scrollTo(embed, top) {
    window.scrollTo(0, Math.max(0, embed.frame.getBoundingClientRect().top + pageYOffset + top - 16));
  }

  function onMessage(event) {
    var data = event.data;
    if (event.origin !== service || !data || typeof data !== "object") return;
    for (var i = 0; i < embeds.length; i++) {
      var embed = embeds[i];
      if (!embed.frame || event.source !== embed.frame.contentWindow || embed.failed) continue;
      if (!embed.heard) {
        embed.heard = true;
        clearTimeout(embed.timer);
        if (embed.note) embed.note.remove();
      }
      if (data.discuss === "ready") {
        handOver(embed);
      } else if (data.discuss === "resize" && data.height >= 0) {
        embed.frame.style.height = Math.ceil(Number(data.height)) + "px";
        if (embed.top != null) scrollTo(embed, embed.top);
        embed.top = null;
      } else if (data.discuss === "scroll-to" && hash && data.top >= 0) {
        if (embed.frame.offsetHeight > data.top) scrollTo(embed, Number(data.top));
        else embed.top = Number(data.top);
      }
      return;
    }
  }

  // Single sign-on: the token once per embed (it can be exchanged once), the publisher's
  // sign-in page on every page the frame shows. data-sso="" says nobody is signed in there.
  function handOver(embed) {
    var d = embed.box.dataset;
    if (d.sso === undefined && !d.ssoLogin) return;
    var message = { discuss: "sso", login: d.ssoLogin || "" };
    if (d.sso !== undefined && !embed.ssoSent) {
      embed.ssoSent = true;
      message.token = d.sso;
    }
    embed.frame.contentWindow.postMessage(message, service);
  }

  function onScheme() {
    embeds.forEach(function (e) {
      if (e.theme === "auto" && e.frame && e.frame.contentWindow) {
        e.frame.contentWindow.postMessage({ discuss: "theme", theme: themeOf(e) }, service);
      }
    });
  }

  var observer = "IntersectionObserver" in window && !hash ?
    new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        embeds.forEach(function (e) { if (e.box === entry.target) build(e); });
      });
    }, { rootMargin: "600px 0px" }) : null;

  function load() {
    var boxes = document.querySelectorAll(SELECTOR);
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.hasAttribute("data-discuss-loaded")) continue;
      box.setAttribute("data-discuss-loaded", "");
      var d = box.dataset;
      var embed = { box: box, theme: /^(light|dark)$/.test(d.theme) ? d.theme : "auto" };
      embeds.push(embed);
      box.textContent = "";
      if (!d.site || !d.key) {
        fail(embed, "Comments could not be loaded: this page does not say which " +
          "discussion to show (data-site and data-key).");
      } else if (d.key.length > 512) {
        fail(embed, "Comments could not be loaded: the discussion key is longer than 512 characters.");
      } else {
        // The frame starts at once; the placeholder and the frame's title wait for the words.
        withWords(box, named.bind(null, embed));
        if (observer) observer.observe(box); else build(embed);
      }
    }
  }

  window.addEventListener("message", onMessage);
  if (dark) dark.addEventListener ? dark.addEventListener("change", onScheme) : dark.addListener(onScheme);
  window.DiscussEmbed = { load: load, origin: service };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();

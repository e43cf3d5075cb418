// Keeps a status page current without the dashboard's WASM: every 10 s it
// asks for the page's JSON (a 304 while nothing changed); when it did
// change, it fetches the page and swaps its content in place.
(function () {
  "use strict";
  var main = document.getElementById("status");
  if (!main || !window.fetch || !window.DOMParser) return;
  var slug = main.getAttribute("data-slug");
  var base = location.pathname === "/" ? "/" : "/status/" + slug;
  // The JSON's ETag is the version the page was rendered from, quoted.
  var tag = '"' + main.getAttribute("data-version") + '"';
  function tick() {
    fetch("/status/" + slug + ".json", { cache: "no-cache", credentials: "omit" })
      .then(function (r) {
        if (!r.ok) return null;
        var now = r.headers.get("ETag");
        if (!now || now === tag) return null;
        tag = now;
        return fetch(base, { cache: "no-cache", credentials: "omit" }).then(function (p) { return p.ok ? p.text() : null; });
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("status");
        if (!fresh) return;
        main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
        main.setAttribute("data-version", fresh.getAttribute("data-version"));
        tag = '"' + fresh.getAttribute("data-version") + '"';
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 10000); });
  }
  tick();
})();

// The page's theme, inline in <head> (with the response's CSP nonce) so
// that it applies before the first paint without a request that blocks
// rendering: the choice stored in this browser (light or dark; none means
// the system's) goes on <html data-theme>, the color-scheme meta and the
// theme-color metas. /pwa.js (deferred) wires the theme button to
// `window.vigilTheme`.
(function () {
  var root = document.documentElement;
  var KEY = 'vigil.theme';
  // Tells the stylesheet that scripts run (the theme button is shown only then).
  root.setAttribute('data-js', '');
  // The theme-color metas as the server wrote them, one per system scheme.
  var metas = Array.prototype.map.call(document.querySelectorAll('meta[name="theme-color"]'), function (el) {
    return { el: el, color: el.getAttribute('content'), dark: /dark/.test(el.getAttribute('media') || '') };
  });
  var scheme = document.querySelector('meta[name="color-scheme"]');
  var theme = {
    KEY: KEY,
    CHOICES: ['system', 'light', 'dark'],
    stored: function () {
      try {
        var value = localStorage.getItem(KEY);
        return value === 'light' || value === 'dark' ? value : 'system';
      } catch (e) {
        return 'system'; // storage blocked: follow the system
      }
    },
    current: function () {
      var value = root.getAttribute('data-theme');
      return value === 'light' || value === 'dark' ? value : 'system';
    },
    apply: function (choice) {
      if (choice === 'system') root.removeAttribute('data-theme');
      else root.setAttribute('data-theme', choice);
      if (scheme) scheme.setAttribute('content', choice === 'system' ? 'light dark' : choice);
      // The browser's title bar: with a choice, every meta carries that
      // scheme's color, so it applies whatever the system prefers.
      metas.forEach(function (m) {
        var from = m;
        if (choice !== 'system') {
          for (var i = 0; i < metas.length; i++) if (metas[i].dark === (choice === 'dark')) from = metas[i];
        }
        m.el.setAttribute('content', from.color);
      });
    },
  };
  window.vigilTheme = theme;
  theme.apply(theme.stored());
})();

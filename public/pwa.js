// Vigil's page script, deferred (it runs once the document is parsed,
// before the app's module script, so it never holds up the first paint):
// 1. the theme button cycles system -> light -> dark (the stored choice was
//    applied before the first paint by the inline script, app/src/theme.js);
// 2. the skip link: focus moves to the page, also after hydration;
// 3. the service worker: registered once the app is up, with a reload
//    offered when a new version of Vigil is waiting;
// 4. the live connection, opened now so its handshake overlaps loading the
//    WASM; the app's live client adopts it.
// It needs neither the WASM nor hydration. A file of its own (not an inline
// script), so a strict Content-Security-Policy can allow it, and the
// browser caches it.
(function () {
  // Defined and first applied by the inline script before it (app/src/theme.js).
  var theme = window.vigilTheme;
  if (!theme) return;
  var KEY = theme.KEY;
  var CHOICES = theme.CHOICES;
  var stored = theme.stored;
  var current = theme.current;
  var apply = theme.apply;

  // One listener on the document: it works before the header exists and
  // whatever renders the button (the server, or the app after hydration).
  document.addEventListener('click', function (event) {
    var button = event.target && event.target.closest ? event.target.closest('[data-action="theme"]') : null;
    if (!button) return;
    var next = CHOICES[(CHOICES.indexOf(current()) + 1) % CHOICES.length];
    try {
      if (next === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch (e) {
      // not remembered, but still applied to this page
    }
    apply(next);
    changed();
  });
  // For code that draws with the theme's colors (a canvas, not CSS): an
  // event on window whenever the colors change.
  var changed = function () {
    window.dispatchEvent(new CustomEvent('vigil:theme', { detail: current() }));
  };
  // Another tab of Vigil changed the theme.
  window.addEventListener('storage', function (event) {
    if (event.key === KEY || event.key === null) {
      apply(stored());
      changed();
    }
  });
  // The system switched between light and dark (matters while following it).
  if (window.matchMedia) {
    var dark = window.matchMedia('(prefers-color-scheme: dark)');
    var onScheme = function () {
      if (current() === 'system') changed();
    };
    if (dark.addEventListener) dark.addEventListener('change', onScheme);
    else if (dark.addListener) dark.addListener(onScheme);
  }
})();

// The skip link: once the app has hydrated, its router handles in-page links
// itself (it scrolls, but keyboard focus stays put), so move focus here.
document.addEventListener('click', function (event) {
  var link = event.target && event.target.closest ? event.target.closest('a.skip-link') : null;
  var target = link && document.getElementById((link.getAttribute('href') || '').slice(1));
  if (target) target.focus();
});

(function () {
  if (!('serviceWorker' in navigator)) return;
  var banner = function () {
    return document.querySelector('[data-testid="update-ready"]');
  };
  var offer = function (worker) {
    var el = banner();
    if (!el || !worker) return;
    el.hidden = false;
    var button = el.querySelector('button');
    if (button)
      button.addEventListener('click', function () {
        worker.postMessage('skip-waiting');
      });
  };
  // The first install also changes the controller (clients.claim()): only a
  // page that already had one is running an old version and reloads.
  var hadController = !!navigator.serviceWorker.controller;
  var reloading = false;
  // Nor does a page that is already going elsewhere (signing out, which
  // also removes the worker, must land on the sign-in page, not reload).
  var leaving = false;
  window.addEventListener('beforeunload', function () {
    leaving = true;
  });
  navigator.serviceWorker.addEventListener('controllerchange', function () {
    if (reloading || leaving || !hadController || !navigator.serviceWorker.controller) return;
    reloading = true;
    window.location.reload();
  });
  var register = function () {
    navigator.serviceWorker
      .register('/sw.js')
      .then(function (registration) {
        // A first install takes control without asking; only a new
        // version replacing a running one needs the person's go-ahead.
        if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
        registration.addEventListener('updatefound', function () {
          var installing = registration.installing;
          if (!installing) return;
          installing.addEventListener('statechange', function () {
            if (installing.state === 'installed' && navigator.serviceWorker.controller) offer(installing);
          });
        });
      })
      .catch(function (err) {
        console.warn('service worker not registered:', err);
      });
  };
  // Installing the worker precaches the whole build: on a first visit that
  // competes with compiling the WASM for the CPU, so it waits until the
  // app has hydrated (or 5 s, if it never does) and the page is idle.
  var root = document.documentElement;
  var whenHydrated = function (next) {
    if (root.hasAttribute('data-hydrated')) return next();
    var fired = false;
    var fire = function () {
      if (fired) return;
      fired = true;
      clearTimeout(timer);
      observer.disconnect();
      next();
    };
    var timer = setTimeout(fire, 5000);
    var observer = new MutationObserver(function () {
      if (root.hasAttribute('data-hydrated')) fire();
    });
    observer.observe(root, { attributes: true, attributeFilter: ['data-hydrated'] });
  };
  var whenIdle = function (next) {
    if (window.requestIdleCallback) window.requestIdleCallback(next, { timeout: 2000 });
    else setTimeout(next, 0);
  };
  window.addEventListener('load', function () {
    whenHydrated(function () {
      whenIdle(register);
    });
  });
})();

// The live connection, opened while the page loads rather than once the app
// has hydrated. Frames that arrive before the app takes the socket over wait
// in `frames`; the live client (app/src/live/socket.rs, `adopt_early`)
// removes `onMessage`, attaches its own listener and applies them first. It
// opens as soon as the document is parsed, resuming after the `data-seq` the page
// was rendered at (the overview's last sample), as the app would; not on the
// sign-in pages, where /ws refuses. A socket the app has not taken within
// 15 s, or that has piled up 500 frames, is closed: the app opens its own.
(function () {
  var path = window.location.pathname;
  if (path === '/login' || path === '/setup' || !window.WebSocket) return;
  var open = function () {
    var seqAt = document.querySelector('[data-seq]');
    var seq = seqAt ? seqAt.getAttribute('data-seq') : '';
    var url = (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + '/ws';
    if (/^[1-9][0-9]*$/.test(seq)) url += '?since=' + seq;
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      return;
    }
    ws.binaryType = 'arraybuffer';
    var early = { ws: ws, frames: [], onMessage: null };
    var giveUp = function () {
      if (window.__vigilEarlySocket !== early) return;
      delete window.__vigilEarlySocket;
      ws.removeEventListener('message', early.onMessage);
      ws.close();
    };
    early.onMessage = function (event) {
      early.frames.push(event.data);
      if (early.frames.length >= 500) giveUp();
    };
    ws.addEventListener('message', early.onMessage);
    window.__vigilEarlySocket = early;
    setTimeout(giveUp, 15000);
  };
  // `interactive` comes as the parser finishes, before any module script
  // runs: the app cannot hydrate first and miss this socket.
  if (document.readyState !== 'loading') return open();
  document.addEventListener('readystatechange', function parsed() {
    document.removeEventListener('readystatechange', parsed);
    open();
  });
})();

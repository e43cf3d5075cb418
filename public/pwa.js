// Registers the service worker and offers a reload when a new version of
// Vigil is waiting. A file of its own (not an inline script), so a strict
// Content-Security-Policy can allow it.
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
  navigator.serviceWorker.addEventListener('controllerchange', function () {
    if (reloading || !hadController) return;
    reloading = true;
    window.location.reload();
  });
  window.addEventListener('load', function () {
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
  });
})();

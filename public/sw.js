// Vigil's service worker. The server fills in VERSION (a hash of the built
// site), so a new deploy gets a new cache and the old one is dropped, and
// the list of built files to precache.
//
// - Pages: network first (the request starts with navigation preload, in
//   parallel with this worker's start); offline, the cached copy of the page
//   (or of `/`), which carries the last state the server rendered into it.
// - Built assets (/pkg, /icons, /vendor, the manifest): cache first; they
//   only change with VERSION.
// - Never cached: the live socket, the JSON API, server functions, /metrics
//   and /healthz: those are live data, and stale answers would lie.
const VERSION = '__VIGIL_VERSION__';
const CACHE = `vigil-${VERSION}`;
const PRECACHE = [
  // Every file under /pkg: the entry point, its WASM and CSS, and the
  // chunks `--split` loads later (filled in by the server for each build).
  '__VIGIL_PKG_FILES__',
  '/manifest.webmanifest',
  '/favicon.svg',
  '/pwa.js',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
];
const LIVE = ['/ws', '/api/', '/metrics', '/healthz'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all([
        cache.addAll(PRECACHE),
        // The overview too, unless signing in stands in front of it: a
        // redirect to /login is no offline copy of the overview.
        fetch('/').then((response) => (response.ok && !response.redirected ? cache.put('/', response) : undefined)),
      ]),
    ),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('vigil-') && k !== CACHE).map((k) => caches.delete(k))))
      // Navigation preload: the browser asks for a page while this worker
      // is still starting, instead of after (see the fetch handler).
      .then(() => self.registration.navigationPreload && self.registration.navigationPreload.enable())
      .then(() => self.clients.claim()),
  );
});

// The page asks for this when the person accepts the new version.
self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (LIVE.some((prefix) => url.pathname === prefix || url.pathname.startsWith(prefix))) return;

  if (request.mode === 'navigate') {
    event.respondWith(
      Promise.resolve(event.preloadResponse)
        .then((preloaded) => preloaded || fetch(request))
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() =>
          caches
            .open(CACHE)
            .then((cache) => cache.match(url.pathname).then((hit) => hit || cache.match('/')))
            .then((hit) => hit || new Response('Vigil is offline and this page was never opened here.', { status: 503 })),
        ),
    );
    return;
  }

  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(request).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok) cache.put(request, response.clone());
            return response;
          }),
      ),
    ),
  );
});

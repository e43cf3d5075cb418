// Compares the time to live of the overview between two builds of Vigil,
// alternating them load by load so that both see the same machine (a
// shared, noisy one moves a single run's figures by more than most changes
// do). Prints, per build, the medians of cold and warm loads as in
// tests/hydrate.bench.ts: navigation start to `data-hydrated`, to the badge
// saying `connected`, and the first contentful paint.
//
//     cp target/release/vigil /tmp/vigil-before     # then change, rebuild
//     node end2end/tools/ab-hydrate.cjs /tmp/vigil-before target/release/vigil [loads]
//
// Each build serves from its own fresh data dir; the overview is opened
// once the first samples are in.
const { chromium } = require('@playwright/test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [A, B, loads = '20'] = process.argv.slice(2);
if (!A || !B) {
  console.error('usage: node end2end/tools/ab-hydrate.cjs OLD_BINARY NEW_BINARY [loads]');
  process.exit(2);
}
const N = Number(loads);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** In the page: notes when it hydrates and connects, and says so on the console. */
function milestones() {
  const w = window;
  w.__ab = {};
  new MutationObserver(() => {
    if (w.__ab.hydrated === undefined && document.documentElement.getAttribute('data-hydrated') === 'true') w.__ab.hydrated = performance.now();
    const badge = document.querySelector('[data-testid="connection-state"]');
    if (w.__ab.connected === undefined && badge?.getAttribute('data-state') === 'connected') {
      w.__ab.connected = performance.now();
      console.log('ab: connected');
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
}

async function load(page, go) {
  const done = page.waitForEvent('console', { predicate: (m) => m.text() === 'ab: connected', timeout: 30_000 });
  await go();
  await done;
  return page.evaluate(async () => {
    const fcp = await new Promise((resolve) => {
      new PerformanceObserver((list) => {
        const entry = list.getEntriesByName('first-contentful-paint')[0];
        if (entry) resolve(entry.startTime);
      }).observe({ type: 'paint', buffered: true });
      setTimeout(() => resolve(NaN), 2_000);
    });
    return { ...window.__ab, fcp };
  });
}

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)].toFixed(0) : '?';
};

(async () => {
  const builds = { A: { bin: A, port: 3961 }, B: { bin: B, port: 3962 } };
  const servers = [];
  for (const b of Object.values(builds)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ab-'));
    servers.push(spawn(b.bin, ['--bind', `127.0.0.1:${b.port}`, '--data-dir', dir], { stdio: 'ignore' }));
    b.url = `http://127.0.0.1:${b.port}/`;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    await new Promise((r) => setTimeout(r, 3_000));
    const results = { A: { cold: [], warm: [] }, B: { cold: [], warm: [] } };
    const order = (i) => (i % 2 ? ['A', 'B'] : ['B', 'A']);
    for (let i = 0; i < N; i++) {
      for (const k of order(i)) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        await context.addInitScript(milestones);
        const page = await context.newPage();
        results[k].cold.push(await load(page, () => page.goto(builds[k].url, { waitUntil: 'commit' })));
        await context.close();
      }
    }
    const warm = {};
    for (const k of ['A', 'B']) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addInitScript(milestones);
      const page = await context.newPage();
      await load(page, () => page.goto(builds[k].url, { waitUntil: 'commit' }));
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
      await page.waitForTimeout(1_000);
      await load(page, () => page.reload({ waitUntil: 'commit' }));
      warm[k] = page;
    }
    for (let i = 0; i < N; i++) {
      for (const k of order(i)) results[k].warm.push(await load(warm[k], () => warm[k].reload({ waitUntil: 'commit' })));
    }
    for (const k of ['A', 'B']) {
      for (const c of ['cold', 'warm']) {
        const r = results[k][c];
        const f = (key) => median(r.map((x) => x[key]));
        console.log(`${k} (${builds[k].bin}) ${c}: hydrated ${f('hydrated')} ms, connected ${f('connected')} ms, fcp ${f('fcp')} ms`);
      }
    }
  } finally {
    await browser.close();
    for (const s of servers) s.kill();
  }
})();

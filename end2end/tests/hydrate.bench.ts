// Load-time benchmark of the overview, for BENCHMARKS.md. The test suite
// never runs it (it is not a *.spec.ts); run it through its own config:
//
//     cd end2end && npx playwright test --config playwright.bench.config.ts
//
// (VIGIL_BENCH_LOADS=N changes the 20 loads per case.) It measures, in
// headless Chromium on loopback:
// - time to hydrated and to live: from navigation start (performance.now()
//   is 0 there) to `data-hydrated` on <html>, and to the connection badge
//   saying `connected`;
//   cold: a fresh browser context for every load (empty HTTP cache, no
//   service worker); warm: one context with the service worker installed
//   and controlling the page, reloaded;
//   these loads go straight to Vigil, and nothing of the benchmark runs in
//   the page while it loads but a MutationObserver noting the two moments:
//   the page says `connected` on its console, which the browser reports
//   without touching the page's main thread (waiting with waitForFunction
//   would inject and poll a script there, competing with hydration);
// - bytes over the network, in loads of their own: the browser talks to
//   Vigil through a small TCP proxy that counts every byte either way, HTTP
//   and WebSocket apart, and by request path; up to the badge saying
//   `connected` (plus 250 ms for the frames in flight). Their times are
//   printed too: the proxy, in this process, slows every request.
// - Lighthouse (performance, accessibility, best practices) of the
//   overview, with its mobile defaults (simulated slow 4G, 4x slower CPU),
//   the same throttling applied by DevTools instead of simulated, and its
//   desktop preset, through `npx lighthouse@12` (fetched from the npm
//   registry the first time) driving the same Chromium.
// Results are printed, and attached to the report (bench.txt, bench.json,
// lighthouse-*.json).

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import type { Browser, Page, TestInfo } from '@playwright/test';
import { BrowserErrors, expect, test } from './fixtures';
import { useVigilServer } from './server';


const vigil = useVigilServer();
const LOADS = Number(process.env.VIGIL_BENCH_LOADS || 20);

/** A TCP proxy in front of Vigil that counts the bytes of each load. */
class CountingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  down = { http: 0, ws: 0 };
  up = 0;
  byPath = new Map<string, number>();

  private constructor(
    private readonly target: number,
    server: net.Server,
  ) {
    this.server = server;
  }

  static async start(target: number): Promise<{ proxy: CountingProxy; port: number }> {
    let proxy!: CountingProxy;
    const server = net.createServer((client) => proxy.connection(client));
    proxy = new CountingProxy(target, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { proxy, port: (server.address() as net.AddressInfo).port };
  }

  reset(): void {
    this.down = { http: 0, ws: 0 };
    this.up = 0;
    this.byPath = new Map();
  }

  private connection(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    let path = '(unknown)';
    let ws = false;
    client.on('data', (chunk: Buffer) => {
      this.up += chunk.length;
      // HTTP/1.1 without pipelining: the answer bytes belong to the last request line.
      const line = /^(GET|POST|HEAD|PUT|DELETE) (\S+) HTTP\/1\.1/.exec(chunk.toString('latin1', 0, 300));
      if (line && !ws) {
        path = line[2].replace(/\?.*$/, '');
        ws = path === '/ws';
        // The splitter's small shared chunks, counted together.
        path = path.replace(/^\/pkg\/chunk_\d+\.wasm$/, '/pkg/chunk_*.wasm');
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (ws) this.down.ws += chunk.length;
      else this.down.http += chunk.length;
      this.byPath.set(path, (this.byPath.get(path) ?? 0) + chunk.length);
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What the page prints on its console once the badge says connected. */
const CONNECTED = 'bench: connected';

/** Records, in the page, when it hydrates and when the badge says connected. */
function recordMilestones(connected: string): void {
  const w = window as unknown as { __vigil: Record<string, number> };
  w.__vigil = {};
  new MutationObserver(() => {
    const root = document.documentElement;
    if (w.__vigil.hydrated === undefined && root.getAttribute('data-hydrated') === 'true') {
      w.__vigil.hydrated = performance.now();
    }
    const badge = document.querySelector('[data-testid="connection-state"]');
    if (w.__vigil.connected === undefined && badge?.getAttribute('data-state') === 'connected') {
      w.__vigil.connected = performance.now();
      console.log(connected);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

interface Load {
  hydrated: number;
  connected: number;
  fcp: number;
  http: number;
  ws: number;
  up: number;
  byPath: Record<string, number>;
}

/**
 * Navigates (or reloads) and waits for the page to say connected; returns
 * the figures, with the bytes when `proxy` carries the load.
 */
async function measure(page: Page, go: (waitUntil: 'commit') => Promise<unknown>, proxy?: CountingProxy): Promise<Load> {
  proxy?.reset();
  const connected = page.waitForEvent('console', { predicate: (m) => m.text() === CONNECTED, timeout: 30_000 });
  await go('commit');
  await connected;
  // Frames already on their way when the badge turned.
  if (proxy) await page.waitForTimeout(250);
  const m = await page.evaluate(async () => {
    const v = (window as unknown as { __vigil: { hydrated: number; connected: number } }).__vigil;
    // The first paint may still be on its way: a warm page can be live
    // before the browser reports it.
    const fcp = await new Promise<number>((resolve) => {
      new PerformanceObserver((list) => {
        const entry = list.getEntriesByName('first-contentful-paint')[0];
        if (entry) resolve(entry.startTime);
      }).observe({ type: 'paint', buffered: true });
      setTimeout(() => resolve(NaN), 2_000);
    });
    return { hydrated: v.hydrated, connected: v.connected, fcp };
  });
  const bytes = proxy ? { ...proxy.down, up: proxy.up, byPath: Object.fromEntries(proxy.byPath) } : { http: NaN, ws: NaN, up: NaN, byPath: {} };
  return { ...m, ...bytes };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function summary(name: string, loads: Load[]): string {
  const f = (k: keyof Omit<Load, 'byPath'>, unit: string, digits = 0) => {
    const xs = loads.map((l) => l[k] as number);
    return `${k} p50 ${quantile(xs, 0.5).toFixed(digits)}${unit} (min ${Math.min(...xs).toFixed(digits)}, p90 ${quantile(xs, 0.9).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;
  };
  const paths = new Map<string, number[]>();
  for (const l of loads) for (const [p, b] of Object.entries(l.byPath)) paths.set(p, [...(paths.get(p) ?? []), b]);
  const byPath = [...paths.entries()]
    .map(([p, bs]) => `${p} ${quantile(bs, 0.5)} B${bs.length < loads.length ? ` (in ${bs.length} of ${loads.length} loads)` : ''}`)
    .join(', ');
  const lines = [`${name} (${loads.length} loads)`, `  ${f('hydrated', ' ms')}`, `  ${f('connected', ' ms')}`, `  ${f('fcp', ' ms')}`];
  if (loads.every((l) => !Number.isNaN(l.http))) {
    lines.push(`  ${f('http', ' B')}`, `  ${f('ws', ' B')}`, `  ${f('up', ' B')}`, `  down by path (p50): ${byPath}`);
  }
  return lines.join('\n');
}

async function newPage(browser: Browser, port: number) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const errors = new BrowserErrors(context);
  await context.addInitScript(recordMilestones, CONNECTED);
  const page = await context.newPage();
  return { context, page, errors, url: `http://127.0.0.1:${port}/` };
}

/** `loads` cold loads against `port`, each in a new context. */
async function coldLoads(browser: Browser, port: number, loads: number, testInfo: TestInfo, proxy?: CountingProxy) {
  const out: Load[] = [];
  for (let i = 0; i < loads; i++) {
    const { context, page, errors, url } = await newPage(browser, port);
    out.push(await measure(page, (waitUntil) => page.goto(url, { waitUntil }), proxy));
    // The service worker installs on every first visit (its precache is
    // in the bytes above when it was done by then: /sw.js, the icons).
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await errors.check({}, testInfo);
    await context.close();
  }
  return out;
}

/** One context against `port`: the service worker installed and in control, then `loads` reloads. */
async function warmLoads(browser: Browser, port: number, loads: number, testInfo: TestInfo, proxy?: CountingProxy) {
  const { context, page, errors, url } = await newPage(browser, port);
  await measure(page, (waitUntil) => page.goto(url, { waitUntil }));
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  // One reload to settle the caches (the first controlled load fills the page cache).
  await measure(page, (waitUntil) => page.reload({ waitUntil }));
  const out: Load[] = [];
  for (let i = 0; i < loads; i++) {
    out.push(await measure(page, (waitUntil) => page.reload({ waitUntil }), proxy));
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'served by the worker').toBe(true);
  }
  await errors.check({}, testInfo);
  await context.close();
  return out;
}

test('time to live and bytes of the overview, cold and warm', async ({ browser }, testInfo) => {
  const byteLoads = Math.min(LOADS, 5);
  test.setTimeout((LOADS + byteLoads) * 2 * 10_000 + 60_000);
  const { proxy, port } = await CountingProxy.start(vigil().port);
  try {
    const cold = await coldLoads(browser, vigil().port, LOADS, testInfo);
    const warm = await warmLoads(browser, vigil().port, LOADS, testInfo);
    const coldBytes = await coldLoads(browser, port, byteLoads, testInfo, proxy);
    const warmBytes = await warmLoads(browser, port, byteLoads, testInfo, proxy);

    const report = [
      summary('cold: fresh context, no service worker', cold),
      summary('warm: service worker in control, reload', warm),
      summary('bytes, cold (through the counting proxy)', coldBytes),
      summary('bytes, warm (through the counting proxy)', warmBytes),
    ].join('\n\n');
    console.log(`\n${report}\n`);
    await testInfo.attach('bench.txt', { body: report, contentType: 'text/plain' });
    await testInfo.attach('bench.json', { body: JSON.stringify({ cold, warm, coldBytes, warmBytes }, null, 1), contentType: 'application/json' });
    expect(quantile(warm.map((l) => l.connected), 0.5)).toBeGreaterThan(0);
    expect(quantile(warmBytes.map((l) => l.http), 0.5)).toBeGreaterThan(0);
  } finally {
    await proxy.stop();
  }
});

/** Runs Lighthouse once against `url`; returns its JSON report. */
function lighthouse(url: string, out: string, mode: LighthouseMode): Promise<LighthouseReport> {
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const args = [
    '--yes',
    'lighthouse@12',
    url,
    '--only-categories=performance,accessibility,best-practices',
    '--output=json',
    `--output-path=${out}`,
    '--quiet',
    '--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run',
    ...(mode === 'desktop' ? ['--preset=desktop'] : []),
    ...(mode === 'mobile, throttled by DevTools' ? ['--throttling-method=devtools'] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile('npx', args, { env: { ...process.env, CHROME_PATH: chromium }, timeout: 300_000 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`lighthouse failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(readFileSync(out, 'utf8')));
    });
  });
}

/**
 * mobile: Lighthouse's defaults (a phone's screen, 4x slower CPU, slow 4G,
 * simulated: the page loads at full speed and the times are modelled from
 * its dependency graph); the same with the throttling applied while the
 * page loads; desktop: its desktop preset.
 */
type LighthouseMode = 'mobile' | 'mobile, throttled by DevTools' | 'desktop';

interface LighthouseReport {
  categories: Record<string, { score: number }>;
  audits: Record<string, { displayValue?: string }>;
}

test('Lighthouse scores of the overview', async ({}, testInfo) => {
  test.setTimeout(600_000);
  const lines: string[] = [];
  const modes: LighthouseMode[] = ['mobile', 'mobile, throttled by DevTools', 'desktop'];
  for (const name of modes) {
    const file = `lighthouse-${name.replace(/\W+/g, '-')}.json`;
    const out = testInfo.outputPath(file);
    const report = await lighthouse(`${vigil().url}/`, out, name);
    await testInfo.attach(file, { path: out, contentType: 'application/json' });
    const score = (c: string) => Math.round((report.categories[c]?.score ?? 0) * 100);
    const metric = (a: string) => report.audits[a]?.displayValue ?? '?';
    lines.push(
      `${name}: performance ${score('performance')}, accessibility ${score('accessibility')}, ` +
        `best practices ${score('best-practices')}; FCP ${metric('first-contentful-paint')}, ` +
        `LCP ${metric('largest-contentful-paint')}, TBT ${metric('total-blocking-time')}, CLS ${metric('cumulative-layout-shift')}`,
    );
  }
  console.log(`\nLighthouse, overview\n  ${lines.join('\n  ')}\n`);
  await testInfo.attach('lighthouse.txt', { body: lines.join('\n'), contentType: 'text/plain' });
});

// Back to live after a restart, for BENCHMARKS.md. The test suite never
// runs it (it is not a *.spec.ts); run it through the benchmark config:
//
//     cd end2end && npx playwright test --config playwright.bench.config.ts restart
//
// One overview page stays open while the server is stopped (SIGTERM: it
// closes every socket with 1001, going away), kept down for
// VIGIL_BENCH_DOWN_MS (3 s), and started again on the same port and data,
// VIGIL_BENCH_RESTARTS times (20). For each restart it notes, on one clock
// (the page's Date.now() and this process's are the same machine's):
// - `back`: the new process answers /healthz (polled every 10 ms here);
// - `connected`: the page's connection badge says `connected` again (a
//   MutationObserver in the page notes the moment; nothing polls there).
// and prints connected − back (what a person waits once the server is
// there again) and connected − stop (the whole outage as the page saw it),
// p50, p90, p99 and max. The page is never reloaded.

import * as http from 'node:http';
import { expect, test } from './fixtures';
import { openLiveOverview } from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();
const RESTARTS = Number(process.env.VIGIL_BENCH_RESTARTS || 20);
const DOWN_MS = Number(process.env.VIGIL_BENCH_DOWN_MS || 3_000);

test.use({
  allowedErrors: {
    'the server is stopped on purpose: refused reconnects are logged by the browser':
      /^console\.error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws(\?since=\d+)?' failed: .*net::ERR_CONNECTION_REFUSED/,
  },
});

/** Resolves at the first moment `url` answers 200, polling every 10 ms. */
async function answersAt(url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(url, { agent: false, timeout: 500 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) return Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summary(label: string, values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number) => `${Math.round(v)} ms`;
  return `${label}: p50 ${f(quantile(s, 0.5))}, p90 ${f(quantile(s, 0.9))}, p99 ${f(quantile(s, 0.99))}, max ${f(s[s.length - 1])}`;
}

test('back to live after restarts', async ({ page }, testInfo) => {
  test.setTimeout(60_000 + RESTARTS * (DOWN_MS + 20_000));
  const server = vigil();
  const ov = await openLiveOverview(page, server.url);
  // Installing the service worker fetches the build; let it finish first.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.evaluate(() => {
    const w = window as unknown as { __states: [number, string][] };
    w.__states = [];
    const badge = document.querySelector('[data-testid="connection-state"]')!;
    new MutationObserver(() => w.__states.push([Date.now(), badge.getAttribute('data-state') ?? ''])).observe(badge, {
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });

  const afterBack: number[] = [];
  const outage: number[] = [];
  const lines: string[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    await expect(ov.connection).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    const stopAt = Date.now();
    await server.stop();
    await expect(ov.connection).not.toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
    const sinceStop = Date.now() - stopAt;
    await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - sinceStop)));
    const starting = server.start();
    const backAt = await answersAt(`${server.url}/healthz`, 30_000);
    await starting;
    await expect(ov.connection).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    const states = await page.evaluate(() => (window as unknown as { __states: [number, string][] }).__states);
    const connectedAt = states.filter(([t, s]) => s === 'connected' && t >= stopAt).map(([t]) => t)[0];
    expect(connectedAt, 'the page noted when it was connected again').toBeDefined();
    afterBack.push(connectedAt - backAt);
    outage.push(connectedAt - stopAt);
    lines.push(`restart ${i + 1}: down ${backAt - stopAt} ms, connected ${connectedAt - backAt} ms after back`);
  }
  const report = [
    ...lines,
    summary('connected after the server is back', afterBack),
    summary('connected after the stop (outage as the page saw it)', outage),
  ].join('\n');
  console.log(report);
  await testInfo.attach('restart.txt', { body: report, contentType: 'text/plain' });
});

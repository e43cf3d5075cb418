import { expect, test } from './fixtures';
import { openLiveOverview } from './dashboard';
import { useVigilServer } from './server';

// Prints what applying one live frame costs in the browser: parsing, the
// reactive update and the DOM changes it causes (a `vigil-frame` Performance
// measure taken by the live client when `window.__vigilPerf` is set). The
// figure goes to BENCHMARKS.md; the test only checks that it was measured.
//
// A fresh server has seconds of history; a page open for ten minutes has
// 600 points per sparkline. To measure that case, the snapshot's history is
// filled to 600 points in flight (values varying like real ones).

const vigil = useVigilServer();

test('cost of applying one live frame', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.addInitScript(() => {
    (window as unknown as { __vigilPerf: boolean }).__vigilPerf = true;
  });
  // The page resumes after its server-rendered snapshot, so the first
  // sample it receives is turned into a resync with 600 points of history.
  await page.routeWebSocket(/\/ws(\?.*)?$/, (ws) => {
    const server = ws.connectToServer();
    let inflated = false;
    server.onMessage((message) => {
      if (typeof message !== 'string' || inflated) return ws.send(message);
      const frame = JSON.parse(message);
      if (frame.type !== 'sample') return ws.send(message);
      inflated = true;
      const now = frame.data.ts;
      const history = Array.from({ length: 600 }, (_, i) => ({
        t: now - (600 - i) * 1000,
        cpu: 50 + 40 * Math.sin(i / 7),
        mem: 40 + 10 * Math.cos(i / 11),
        rx: 1e5 * (1 + Math.sin(i / 5)),
        tx: 5e4 * (1 + Math.cos(i / 3)),
        rd: 2e6 * (1 + Math.sin(i / 13)),
        wr: 1e6 * (1 + Math.cos(i / 17)),
      }));
      const data = { host: 'perf', interval_ms: 1000, seq: frame.seq, current: frame.data, history };
      ws.send(JSON.stringify({ type: 'resync', seq: frame.seq, data }));
    });
  });
  await openLiveOverview(page, vigil().url);
  const frames = Number(process.env.VIGIL_PERF_FRAMES || 20);
  await expect
    .poll(() => page.evaluate(() => performance.getEntriesByName('vigil-frame').length), {
      timeout: frames * 1_500 + 10_000,
    })
    .toBeGreaterThanOrEqual(frames + 2);
  // The first two are the resync itself and the frame before it.
  for (const name of ['vigil-apply', 'vigil-frame']) {
    const ms = await page.evaluate((n) => performance.getEntriesByName(n).slice(2).map((e) => e.duration), name);
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
    const line = `${name} over ${ms.length} frames: p50 ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, max ${ms[ms.length - 1].toFixed(2)} ms`;
    console.log(line);
    testInfo.annotations.push({ type: 'perf', description: line });
    if (name === 'vigil-frame') expect(q(0.5)).toBeGreaterThan(0);
  }
});

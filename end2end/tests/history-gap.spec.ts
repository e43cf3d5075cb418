// A browser that loses its live connection for longer than the server's
// replay window comes back without a hole in its charts: the server can no
// longer replay the frames it missed, so it answers the resume with a
// `resync`, and the page takes its history from that.
//
// The server runs with a fast collector and a short replay window, so the
// outage is short in wall time but still many samples and several windows
// long. The test cuts the page's WebSocket itself (routeWebSocket), then
// compares what the overview's CPU sparkline holds with what the history
// store recorded over the same stretch: every sample taken while the page
// was away must be on the chart.

import type { Page, WebSocketRoute } from '@playwright/test';
import { expect, test } from './fixtures';
import { expectNextSample, lastUpdateTs, openLiveOverview } from './dashboard';
import { useVigilServer } from './server';

const INTERVAL_MS = 200;
const REPLAY_WINDOW_MS = 1_000;
/** Five replay windows, 25 samples. */
const OUTAGE_MS = 5 * REPLAY_WINDOW_MS;

const vigil = useVigilServer(
  () => `
[collector]
interval = "${INTERVAL_MS}ms"

[live]
replay_window = "${REPLAY_WINDOW_MS}ms"
`,
);

/** Points on the CPU sparkline (one per sample the page holds) and the newest sample's time. */
async function chart(page: Page): Promise<{ points: number; ts: number }> {
  return page.evaluate(() => {
    const raw = document.querySelector('svg[data-testid="sparkline-cpu"] polyline')?.getAttribute('points') ?? '';
    const ts = Number(document.querySelector('[data-testid="last-update"]')?.getAttribute('data-ts'));
    return { points: raw.trim() === '' ? 0 : raw.trim().split(/\s+/).length, ts };
  });
}

test('after an outage longer than the replay window the charts have no hole', async ({ page, request }) => {
  test.setTimeout(90_000);
  const server = vigil();

  // The page's sockets go through here: passed on to the server, or, while
  // `down`, closed at once as if the network were gone. The first frame the
  // server sends on each connection is kept, with the URL it was asked on.
  let down = false;
  const open: WebSocketRoute[] = [];
  const connections: { url: string; first?: string }[] = [];
  await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    if (down) {
      void ws.close({ code: 1001, reason: 'link down (test)' });
      return;
    }
    const connection: { url: string; first?: string } = { url: ws.url() };
    connections.push(connection);
    const upstream = ws.connectToServer();
    upstream.onMessage((message) => {
      if (connection.first === undefined && typeof message === 'string') {
        connection.first = (JSON.parse(message) as { type: string }).type;
      }
      ws.send(message);
    });
    open.push(ws);
  });

  const ov = await openLiveOverview(page, server.url);
  // A few seconds of samples, so there is a chart to keep.
  await expect.poll(async () => (await chart(page)).points, { timeout: 15_000 }).toBeGreaterThan(10);

  server.note(`cutting the page's WebSocket for ${OUTAGE_MS} ms`);
  down = true;
  const cutAt = connections.length;
  for (const ws of open.splice(0)) await ws.close({ code: 1001, reason: 'link down (test)' });
  await expect(ov.connection).not.toHaveAttribute('data-state', 'connected');
  const before = await chart(page);
  expect(before.ts, 'the page showed live samples').toBeGreaterThan(0);
  await page.waitForTimeout(OUTAGE_MS);
  const stuck = await chart(page);
  expect(stuck, 'nothing reached the page while the link was down').toEqual(before);
  down = false;
  server.note('link restored');

  // The page reconnects by itself and resumes after the last frame it
  // applied; the server no longer holds the frames after it and answers
  // with a resync.
  await expect
    .poll(() => connections[cutAt]?.first, { message: 'the first frame after the outage', timeout: 20_000 })
    .toBe('resync');
  expect(connections[cutAt].url, 'the page asked to resume').toMatch(/[?&]since=\d+/);
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');
  const shown = await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'after the reconnect');
  const after = await chart(page);
  expect(after.ts).toBeGreaterThanOrEqual(shown);
  expect(after.ts - before.ts, 'the comparison spans the outage').toBeGreaterThan(OUTAGE_MS);
  expect(after.points, 'still short of the 600 points a sparkline keeps').toBeLessThan(600);

  // What the history store recorded in (before.ts, after.ts]: one raw point
  // per sample. The writer commits once a second, so ask until the last
  // one is in; each ask with another `points`, because the server caches
  // the answer for a range in the past.
  let asks = 0;
  const stored = async (): Promise<number[]> => {
    asks += 1;
    const url =
      `${server.url}/api/v1/query?series=cpu_usage_percent` +
      `&from=${before.ts + 1}&to=${after.ts + 1}&points=${100_000 - asks}`;
    const answer = await request.get(url);
    expect(answer.status(), url).toBe(200);
    return ((await answer.json()) as { points: number[][] }).points.map((p) => p[0]);
  };
  let times: number[] = [];
  await expect
    .poll(
      async () => {
        times = await stored();
        return times.at(-1);
      },
      { timeout: 10_000 },
    )
    .toBe(after.ts);
  const steps = times.slice(1).map((t, i) => t - times[i]);
  expect(Math.max(...steps), 'the store itself has every sample').toBeLessThanOrEqual(2 * INTERVAL_MS);

  // Every one of those samples is on the page's chart: it gained exactly
  // as many points as the store holds for that stretch, outage included.
  expect(
    after.points - before.points,
    `points gained over ${after.ts - before.ts} ms (${times.length} samples stored, ` +
      `${Math.round(OUTAGE_MS / INTERVAL_MS)} of them taken while the page was away)`,
  ).toBe(times.length);
});

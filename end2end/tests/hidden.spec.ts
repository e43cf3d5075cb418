import type { APIRequestContext, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import {
  expectNextSample,
  expectNoConsoleErrors,
  expectNoPageErrors,
  lastUpdateTs,
  openLiveOverview,
  watchErrors,
} from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();

/** Live clients the server counts, from its Prometheus metrics. */
async function serverClients(request: APIRequestContext, url: string): Promise<number> {
  const text = await (await request.get(`${url}/metrics`)).text();
  const m = /^vigil_ws_clients (\d+(?:\.\d+)?)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Pretends the tab was hidden or shown, as the browser reports it. */
async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/**
 * The seq shown and the number of points in the CPU sparkline (one per
 * sample of history), read together so that no frame lands in between.
 */
async function seqAndPoints(page: Page): Promise<{ seq: number; points: number }> {
  return page.evaluate(() => {
    const seq = Number(document.querySelector('[data-testid="last-update"]')?.getAttribute('data-seq'));
    const raw = document.querySelector('[data-testid="sparkline-cpu"] polyline')?.getAttribute('points') ?? '';
    return { seq, points: raw.trim() === '' ? 0 : raw.trim().split(/\s+/).length };
  });
}

test('a hidden tab pauses the stream and catches up without holes when shown again', async ({ page, request }) => {
  const url = vigil().url;
  const errors = watchErrors(page);
  // Every socket the page opens, with the first frame it received.
  const sockets: { url: string; first?: { type: string; seq: number } }[] = [];
  page.on('websocket', (ws) => {
    const entry: (typeof sockets)[number] = { url: ws.url() };
    sockets.push(entry);
    ws.on('framereceived', ({ payload }) => {
      if (entry.first === undefined && typeof payload === 'string') entry.first = JSON.parse(payload);
    });
  });
  const ov = await openLiveOverview(page, url);
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live before hiding');
  await expect.poll(() => serverClients(request, url), { message: 'server counts the page' }).toBe(1);

  await setVisibility(page, 'hidden');
  await expect(ov.connection, 'hidden tab closes its socket').toHaveAttribute('data-state', 'disconnected');
  await expect.poll(() => serverClients(request, url), { message: 'server lets the socket go' }).toBe(0);

  const pausedTs = await lastUpdateTs(ov);
  const paused = await seqAndPoints(page);
  // Samples keep being taken on the server while the tab is hidden.
  await page.waitForTimeout(3_000);
  expect(await lastUpdateTs(ov), 'no updates while hidden').toBe(pausedTs);

  await setVisibility(page, 'visible');
  await expect(ov.connection, 'visible tab reconnects at once').toHaveAttribute('data-state', 'connected');
  await expectNextSample(ov, pausedTs, 5_000, 'after showing the tab');

  // The resume replayed every missed sample: one new point per new seq.
  // It resumed after the last frame it had: a replay, not a new snapshot.
  expect(sockets.length, 'one socket before hiding, one after').toBe(2);
  expect(sockets[1].url).toContain(`/ws?since=${paused.seq}`);
  expect(sockets[1].first, 'first frame after resuming').toMatchObject({ type: 'sample', seq: paused.seq + 1 });

  const now = await seqAndPoints(page);
  const missed = now.seq - paused.seq;
  expect(missed, 'several samples were missed while hidden').toBeGreaterThanOrEqual(3);
  expect(now.points - paused.points, `history grew by exactly the ${missed} frames since seq ${paused.seq}`).toBe(missed);

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { expectNextSample, expectNoPageErrors, lastUpdateTs, openLiveOverview, watchErrors } from './dashboard';
import { useVigilServer } from './server';

// A frame the page cannot use (a type from a newer server, or data that
// does not parse) must not start a reconnect loop: the live client skips it,
// its seq still counts, and bad data makes it start over with a fresh
// snapshot once. Frames are rewritten in flight between the real server and
// the page; every socket the page opens is counted.

const vigil = useVigilServer();

type Rewrite = (frame: Record<string, unknown>) => Record<string, unknown> | null;

/** Proxies the page's /ws through a rewriter; returns how many sockets the page opened and their URLs. */
async function proxyLive(page: Page, rewrite: { current: Rewrite }) {
  const sockets: string[] = [];
  await page.routeWebSocket(/\/ws(\?.*)?$/, (ws) => {
    sockets.push(ws.url());
    const server = ws.connectToServer();
    server.onMessage((message) => {
      if (typeof message !== 'string') return ws.send(message);
      const frame = JSON.parse(message);
      const replaced = rewrite.current(frame);
      ws.send(replaced === null ? message : JSON.stringify(replaced));
    });
  });
  return sockets;
}

/** Rewrites the `n`-th sample frame (counted from now) once, then passes everything through. */
function onceAtSample(n: number, change: Rewrite): Rewrite {
  let seen = 0;
  return (frame) => {
    if (frame.type !== 'sample') return null;
    seen += 1;
    return seen === n ? change(frame) : null;
  };
}

const unknownType: Rewrite = (frame) => ({ type: 'from-a-newer-server', seq: frame.seq, data: { anything: [1, 2] } });
// What serde_json writes for a NaN: null, which a float field does not read.
const badData: Rewrite = (frame) => ({
  ...frame,
  data: { ...(frame.data as object), cpu: { total: null, cores: [] } },
});

for (const [what, change] of [
  ['an unknown frame type', unknownType],
  ['a frame whose data does not parse', badData],
] as const) {
  test(`${what} costs at most one new socket and the page keeps updating`, async ({ page }) => {
    const errors = watchErrors(page);
    const rewrite = { current: (() => null) as Rewrite };
    const sockets = await proxyLive(page, rewrite);
    const ov = await openLiveOverview(page, vigil().url);
    let ts = await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'before the rewrite');
    const before = sockets.length;

    rewrite.current = onceAtSample(2, change);
    // Well past the rewritten frame: several more samples arrive and show.
    for (let i = 0; i < 5; i++) {
      ts = await expectNextSample(ov, ts, 5_000, `sample ${i + 1} after the rewrite`);
    }
    await expect(ov.connection).toHaveAttribute('data-state', 'connected');
    const opened = sockets.slice(before);
    if (change === badData) {
      // Exactly one start-over, and it asks for a fresh snapshot: no `since`.
      expect(opened.length, `sockets opened after the rewrite: ${opened.join(', ')}`).toBe(1);
      expect(opened[0], 'a start-over asks for a fresh snapshot').not.toMatch(/[?&]since=/);
    } else {
      expect(opened, 'an unknown type is simply skipped: no new socket').toEqual([]);
    }
    expectNoPageErrors(errors);
  });
}

test('a stream of bad data starts over once, not in a loop', async ({ page }) => {
  const errors = watchErrors(page);
  const rewrite = { current: (() => null) as Rewrite };
  const sockets = await proxyLive(page, rewrite);
  const ov = await openLiveOverview(page, vigil().url);
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'before the bad data');
  const before = sockets.length;

  rewrite.current = (frame) => (frame.type === 'sample' ? badData(frame) : null);
  await page.waitForTimeout(6_000);
  // One start-over (the first bad sample), then no more: not zero (the
  // bad data was noticed), not a loop.
  expect(sockets.length - before, `sockets opened while every sample was bad: ${sockets.slice(before).join(', ')}`).toBe(1);

  // Good data again: the page picks it up without another socket.
  const opened = sockets.length;
  rewrite.current = () => null;
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'after the bad data');
  expect(sockets.length).toBe(opened);
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');
  expectNoPageErrors(errors);
});

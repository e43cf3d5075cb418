import { expect, test } from './fixtures';
import { expectNextSample, expectNoPageErrors, lastUpdateTs, openLiveOverview, watchErrors } from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test.use({
  allowedErrors: {
    "the server is stopped on purpose: the live client's reconnect attempts are refused until it is back (the browser logs each one)":
      /^console\.error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws(\?since=\d+)?' failed: .*net::ERR_CONNECTION_REFUSED/,
  },
});

test('page reconnects by itself after a server restart', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const server = vigil();
  // While the server is down the browser itself logs failed WebSocket
  // connections as console errors; those are expected. Only uncaught
  // exceptions (pageerror) fail this test.
  const errors = watchErrors(page);

  const ov = await openLiveOverview(page, server.url);
  // Survives only if the page is never reloaded.
  await page.evaluate(() => {
    (window as unknown as { __vigilMarker: string }).__vigilMarker = 'still the same page';
  });
  const beforeStop = await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'before restart');
  // The service worker installs once the page is idle, fetching the shell
  // and the build; stopping the server in the middle would fail those
  // fetches, which is not what this test is about.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  const stopped = await server.stop();
  if (stopped.killed) {
    testInfo.annotations.push({ type: 'warning', description: 'server ignored SIGTERM for 10 s and was killed' });
  }

  await expect
    .poll(() => ov.connection.getAttribute('data-state'), {
      message: 'page should notice that the server went away',
      timeout: 15_000,
      intervals: [100, 250],
    })
    .toMatch(/^(connecting|disconnected)$/);

  // The newest sample the page got before the server went away.
  const shownWhileDown = await lastUpdateTs(ov);
  const lastSeen = Number.isNaN(shownWhileDown) ? beforeStop : Math.max(shownWhileDown, beforeStop);

  server.note('restarting on the same port');
  await server.start();

  // No reload: the page has to reconnect on its own.
  await expect(ov.connection, 'page should reconnect without a reload').toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });

  // Updates resume with samples from the new server process.
  const resumed = await expectNextSample(ov, lastSeen, 10_000, 'after reconnect');
  await expectNextSample(ov, resumed, 5_000, 'after reconnect, next tick');
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');
  expect(
    await page.evaluate(() => (window as unknown as { __vigilMarker?: string }).__vigilMarker),
    'the page reconnected without a reload',
  ).toBe('still the same page');

  expectNoPageErrors(errors);
});

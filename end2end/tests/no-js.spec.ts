import { expect, test } from './fixtures';
import { expectWellFormedNumbers, lastUpdateTs, overview } from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test.use({ javaScriptEnabled: false });

test('overview is server-rendered with real numbers when JavaScript is off', async ({ page }) => {
  const response = await page.goto(`${vigil().url}/`);
  expect(response?.status(), 'status of GET /').toBe(200);
  expect(response?.headers()['content-type'] ?? '', 'content type of GET /').toContain('text/html');

  const ov = overview(page);
  for (const [name, locator] of Object.entries({
    'connection-state': ov.connection,
    'cpu-total': ov.cpuTotal,
    'mem-used': ov.memUsed,
    'mem-total': ov.memTotal,
    'load-1': ov.load1,
    'last-update': ov.lastUpdate,
  })) {
    await expect(locator, `exactly one [data-testid="${name}"]`).toHaveCount(1);
  }

  await expectWellFormedNumbers(ov);

  const ts = await lastUpdateTs(ov);
  const now = Date.now();
  expect(ts, 'last-update data-ts should be Unix ms').not.toBeNaN();
  expect(ts, 'last-update data-ts should be within the last 60 s').toBeGreaterThanOrEqual(now - 60_000);
  expect(ts, 'last-update data-ts should not be in the future').toBeLessThanOrEqual(now + 2_000);
  await expect(ov.lastUpdate, 'last-update carries a sample sequence number').toHaveAttribute('data-seq', /^\d+$/);

  // Loopback at least; filesystems may legitimately be absent in a container.
  expect(await ov.netRows.count(), 'one net-row per network interface').toBeGreaterThanOrEqual(1);
  await expect(ov.cpuSparkline, 'CPU sparkline is an inline <svg>').toHaveCount(1);

  // Nothing ran in the browser: the state is the server-rendered one.
  await expect(ov.connection).toHaveAttribute('data-state', 'connecting');
  await expect(ov.html).not.toHaveAttribute('data-hydrated', 'true');
});

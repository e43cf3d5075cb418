import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from '@playwright/test';
import { BrowserErrors, expect, test } from './fixtures';
import { expectNoPageErrors, keepScreenshot, openLiveOverview, watchErrors } from './dashboard';
import { useVigilServer } from './server';

// The installable app: manifest, icons, service worker, and an offline start
// that shows the last known state marked as stale.

const vigil = useVigilServer();

test('manifest, icons and service worker make the page installable', async ({ request }, testInfo) => {
  // Chromium never offers to install from an incognito profile, which is
  // what a default test context is: use a real (temporary) profile.
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vigil-profile-'));
  const context = await chromium.launchPersistentContext(profile, testInfo.project.use.launchOptions ?? {});
  // A context of its own, so the fixture's watch is put on it here.
  const browserErrors = new BrowserErrors(context);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = watchErrors(page);
  const base = vigil().url;
  const manifest = await request.get(`${base}/manifest.webmanifest`);
  expect(manifest.status()).toBe(200);
  const m = await manifest.json();
  expect(m).toMatchObject({ name: 'Vigil', start_url: '/', display: 'standalone' });
  for (const icon of m.icons) {
    const res = await request.get(`${base}${icon.src}`);
    expect(res.status(), icon.src).toBe(200);
    expect(res.headers()['content-type'], icon.src).toContain('image/png');
  }
  const sw = await request.get(`${base}/sw.js`);
  expect(sw.status()).toBe(200);
  const script = await sw.text();
  expect(script).not.toContain('__VIGIL_VERSION__');
  expect(script).toMatch(/const VERSION = '[0-9a-f]{16}'/);

  await openLiveOverview(page, base);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  // Pages are asked for while the worker starts (navigation preload).
  await expect
    .poll(() =>
      page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.navigationPreload.getState())),
    )
    .toMatchObject({ enabled: true });
  const cdp = await page.context().newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  expect(installabilityErrors, JSON.stringify(installabilityErrors)).toEqual([]);
  expectNoPageErrors(errors);
  await browserErrors.check([], testInfo);
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});

test.describe('offline', () => {
  // The server is stopped on purpose.
  test.use({
    allowedErrors: {
      "the service worker's network try for the page is refused (it answers from its cache)":
        /^requestfailed: GET http:\/\/127\.0\.0\.1:\d+\/ net::ERR_CONNECTION_REFUSED$/,
      "the live client's reconnect attempts are refused (the browser logs each one)":
        /^console\.error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws(\?since=\d+)?' failed: .*net::ERR_CONNECTION_REFUSED/,
    },
  });

  test('offline, the app opens with the last state marked stale, and comes back live by itself', async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const server = vigil();
    const errors = watchErrors(page);
    const ov = await openLiveOverview(page, server.url);
    // Wait until the worker controls the page and holds the shell.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await expect
      .poll(() => page.evaluate(async () => (await caches.keys()).some((k) => k.startsWith('vigil-'))), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 10_000 })
      .toBe(true);
    await expect(page.getByTestId('stale-notice')).toHaveCount(0);

    await server.stop();
    await page.reload();
    // The cached page hydrates, cannot connect, and says what it shows is old.
    await expect(ov.html).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    const stale = page.getByTestId('stale-notice');
    await expect(stale).toBeVisible({ timeout: 15_000 });
    await expect(stale).toContainText(/Showing the last update, \d\d:\d\d:\d\d UTC, .* ago/);
    await expect(ov.connection).not.toHaveAttribute('data-state', 'connected');
    await expect(ov.cpuTotal).toHaveText(/^\d+(\.\d+)?%$/);
    await keepScreenshot(page, testInfo, 'offline-stale.png');

    await server.start();
    await expect(ov.connection).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    await expect(stale).toHaveCount(0, { timeout: 10_000 });
    expectNoPageErrors(errors);
  });
});

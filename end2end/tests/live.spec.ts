import { expect, test } from './fixtures';
import {
  expectNextSample,
  expectNoConsoleErrors,
  expectNoPageErrors,
  expectWellFormedNumbers,
  keepScreenshot,
  lastUpdateTs,
  openLiveOverview,
  textOf,
  watchErrors,
} from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test('overview hydrates, connects and updates live', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const ov = await openLiveOverview(page, vigil().url);

  const first = await lastUpdateTs(ov);
  expect(first, 'last-update data-ts should be Unix ms').not.toBeNaN();
  const before = {
    cpu: await textOf(ov.cpuTotal),
    lastUpdate: await textOf(ov.lastUpdate),
    seq: await ov.lastUpdate.getAttribute('data-seq'),
  };

  // Two fresh samples in a row: the page is live, not just refreshed once after hydration.
  const second = await expectNextSample(ov, first, 5_000, 'first live tick');
  await expectNextSample(ov, second, 5_000, 'second live tick');

  const after = {
    cpu: await textOf(ov.cpuTotal),
    lastUpdate: await textOf(ov.lastUpdate),
    seq: await ov.lastUpdate.getAttribute('data-seq'),
  };
  expect(
    after.cpu !== before.cpu || after.lastUpdate !== before.lastUpdate || after.seq !== before.seq,
    `the shown sample should change (before ${JSON.stringify(before)}, after ${JSON.stringify(after)})`,
  ).toBe(true);

  // Live updates keep the numbers well-formed.
  await expectWellFormedNumbers(ov);
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');

  await keepScreenshot(page, testInfo, 'overview.png');

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('the live socket opens while the app loads, and the app takes it over', async ({ page }) => {
  const errors = watchErrors(page);
  // Each socket the page constructs: whether the app had hydrated then,
  // and the sample the page showed.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    const opened: { url: string; hydrated: boolean; shown: string | null }[] = [];
    (window as unknown as { __opened: typeof opened }).__opened = opened;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        opened.push({
          url: String(url),
          hydrated: document.documentElement.hasAttribute('data-hydrated'),
          shown: document.querySelector('[data-testid="last-update"]')?.getAttribute('data-seq') ?? null,
        });
      }
    };
  });
  const ov = await openLiveOverview(page, vigil().url);
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live after the takeover');
  const opened = await page.evaluate(
    () => (window as unknown as { __opened: { url: string; hydrated: boolean; shown: string | null }[] }).__opened,
  );
  // One socket, from /pwa.js before hydration, resuming after the sample
  // the page was rendered with; the app adopted it instead of opening its own.
  expect(opened, JSON.stringify(opened)).toHaveLength(1);
  expect(opened[0].hydrated, 'opened before hydration').toBe(false);
  expect(opened[0].shown, 'the rendered sample').toMatch(/^[1-9]\d*$/);
  expect(opened[0].url).toMatch(new RegExp(`/ws\\?since=${opened[0].shown}$`));
  expect(await page.evaluate(() => '__vigilEarlySocket' in window), 'handed over once').toBe(false);
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('the overview and the header ask the server nothing: the page and the stream hold it all', async ({ page }) => {
  const errors = watchErrors(page);
  const asked: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path === '/api/v1/snapshot' || path === '/api/v1/me') asked.push(path);
  });
  const ov = await openLiveOverview(page, vigil().url);
  const account = page.getByTestId('account');
  await expect(account).toBeVisible();
  // Away and back by the navigation: the overview is drawn again in the
  // browser, from the live store.
  await page.getByRole('link', { name: 'Checks' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Checks' })).toBeVisible();
  await page.getByRole('link', { name: 'Overview' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(ov.cpuTotal).toHaveText(/^\d+(\.\d+)?%$/);
  await expect(page.getByTestId('health-status')).not.toHaveText('unknown');
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live after coming back');
  await expect(account, 'the menu outlives hydration and navigation').toBeVisible();
  expect(asked).toEqual([]);
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test.describe('on a phone-sized screen', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('overview fits the width without horizontal scrolling', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    const ov = await openLiveOverview(page, vigil().url);
    // Let at least one live sample render so the layout has real content.
    await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live tick');

    const widths = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(
      widths.scrollWidth,
      `page should not scroll horizontally at 390 px (scrollWidth ${widths.scrollWidth}, clientWidth ${widths.clientWidth})`,
    ).toBeLessThanOrEqual(widths.clientWidth + 1);

    await keepScreenshot(page, testInfo, 'overview-phone.png');

    expectNoPageErrors(errors);
    expectNoConsoleErrors(errors);
  });
});

test.describe('a missing page', () => {
  test.use({
    allowedErrors: {
      'the document answers 404 on purpose (response, and the console line about it)': /\b404\b.*\/no\/such\/page\b/,
    },
  });

  test('the connection badge is truthful on a page that does not exist', async ({ page }) => {
    const errors = watchErrors(page);
    const response = await page.goto(`${vigil().url}/no/such/page`);
    expect(response?.status()).toBe(404);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    expectNoPageErrors(errors);
    // The browser reports the 404 document itself; nothing else may fail.
    expect(errors.consoleErrors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });
});

test('health chips change live when a health frame arrives', async ({ page }) => {
  const errors = watchErrors(page);
  // Pass the real stream through, and after a few samples inject a health
  // frame (as the server sends on a status change) marking memory down.
  let injected = false;
  await page.routeWebSocket(/\/ws(\?.*)?$/, (ws) => {
    const server = ws.connectToServer();
    let samples = 0;
    server.onMessage((message) => {
      ws.send(message);
      if (typeof message !== 'string' || injected) return;
      const frame = JSON.parse(message);
      if (frame.type !== 'sample' || ++samples < 3) return;
      injected = true;
      ws.send(
        JSON.stringify({
          type: 'health',
          seq: frame.seq + 1,
          data: {
            status: 'down',
            ts: Date.now(),
            components: [{ name: 'memory', status: 'down', reason: 'injected by the test' }],
          },
        }),
      );
    });
  });
  await openLiveOverview(page, vigil().url);
  const chip = page.getByTestId('health-component').filter({ hasText: 'memory' });
  await expect(page.getByTestId('health-status')).toHaveText('down', { timeout: 10_000 });
  await expect(chip).toHaveAttribute('data-status', 'down');
  await expect(chip).toContainText('injected by the test');
  expectNoPageErrors(errors);
});

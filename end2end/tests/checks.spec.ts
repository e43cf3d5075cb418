// The checks pages against real targets the test starts: an HTTP server
// whose answer the test switches between 200 and 503, and a TCP listener.
// Covers the server-rendered list, sorting and filtering through the URL,
// a check going down and coming back up live (no reload), and the detail
// page with its parts, charts, uptime and status changes.

import * as http from 'node:http';
import * as net from 'node:net';
import { expect, test } from './fixtures';
import { freePort, useVigilServer } from './server';

let status = 200;
let web: http.Server;
let tcp: net.Server;
let webPort = 0;
let tcpPort = 0;
let closedPort = 0;

test.beforeAll(async () => {
  webPort = await freePort();
  tcpPort = await freePort();
  closedPort = await freePort();
  web = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'all good' : 'maintenance');
  });
  await new Promise<void>((resolve) => web.listen(webPort, '127.0.0.1', resolve));
  tcp = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => tcp.listen(tcpPort, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => web?.close(resolve));
  await new Promise((resolve) => tcp?.close(resolve));
});

// Fast rounds and no damping, so status changes show within a second or two.
const vigil = useVigilServer(
  () => `
[[checks]]
name = "web"
type = "http"
url = "http://127.0.0.1:${webPort}/status"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1
keyword = "good"

[[checks]]
name = "db"
type = "tcp"
address = "127.0.0.1:${tcpPort}"
interval = "1s"
timeout = "500ms"
retries = 0

[[checks]]
name = "gone"
type = "tcp"
address = "127.0.0.1:${closedPort}"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1
`,
);

function row(page: import('@playwright/test').Page, name: string) {
  return page.locator(`[data-testid="check-row"][data-check="${name}"]`);
}

test('the list is server-rendered with every check, worst first', async ({ browser }) => {
  // No JavaScript: what the server sent is all there is.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // Wait until every check had a round, so the order is by real status.
  await expect
    .poll(async () => {
      const res = await page.request.get(`${vigil().url}/api/v1/checks`);
      const list = (await res.json()) as { name: string; status: string }[];
      return list.map((c) => `${c.name}:${c.status}`).sort().join(' ');
    })
    .toBe('db:up gone:down web:up');
  await page.goto(`${vigil().url}/checks`);
  const names = await page.locator('[data-testid="check-row"]').evaluateAll((rows) =>
    rows.map((r) => r.getAttribute('data-check')),
  );
  expect(names).toEqual(['gone', 'db', 'web']);
  await expect(row(page, 'gone')).toHaveAttribute('data-status', 'down');
  await expect(row(page, 'gone')).toContainText(/refused/i);
  await expect(page.getByTestId('check-counts')).toHaveText('3 checks: 2 up, 0 degraded, 1 down, 0 unknown');

  // Sorting and filtering are links and a GET form: they work without scripts.
  await page.getByTestId('sort-name').click();
  await expect(page).toHaveURL(/sort=name&dir=asc/);
  expect(
    await page.locator('[data-testid="check-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-check'))),
  ).toEqual(['db', 'gone', 'web']);
  await page.goto(`${vigil().url}/checks?status=up&q=web`);
  await expect(page.locator('[data-testid="check-row"]')).toHaveCount(1);
  await expect(row(page, 'web')).toBeVisible();
  await context.close();
});

test.describe('live', () => {
  // The page's fetches are fine; the check target going away is the point.
  test('a check goes down and comes back up without a reload', async ({ page }) => {
    await page.goto(`${vigil().url}/checks`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await expect(row(page, 'web')).toHaveAttribute('data-status', 'up');

    // Filtering while hydrated updates the URL and the rows at once.
    await page.getByTestId('check-filter').fill('web');
    await expect(page).toHaveURL(/q=web/);
    await expect(page.locator('[data-testid="check-row"]')).toHaveCount(1);

    status = 503;
    const failedAt = Date.now();
    await expect(row(page, 'web')).toHaveAttribute('data-status', 'down', { timeout: 5_000 });
    await expect(row(page, 'web')).toContainText('HTTP 503');
    const shownAfter = Date.now() - failedAt;
    test.info().annotations.push({ type: 'failure shown after (ms)', description: String(shownAfter) });

    status = 200;
    await expect(row(page, 'web')).toHaveAttribute('data-status', 'up', { timeout: 5_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 'no reload').toBe(42);
  });
});

test('the detail page shows parts, charts, uptime and the status changes', async ({ page, request }) => {
  // web went down and up in the test before (or does now, if run alone).
  status = 503;
  await expect
    .poll(async () => ((await (await request.get(`${vigil().url}/api/v1/checks/web`)).json()) as { state: { status: string } }).state.status)
    .toBe('down');
  status = 200;
  await expect
    .poll(async () => ((await (await request.get(`${vigil().url}/api/v1/checks/web`)).json()) as { state: { status: string } }).state.status)
    .toBe('up');

  await page.goto(`${vigil().url}/checks/web`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('check-status')).toHaveText('up');
  await expect(page.getByTestId('rounds-chart').locator('polyline')).toHaveAttribute('points', /\d/);
  await expect(page.getByTestId('uptime-hours').locator('rect')).toHaveCount(24);
  await expect(page.getByTestId('uptime-days').locator('rect')).toHaveCount(30);
  // Some of the last hour was down: below 100 %, above 0 %.
  const day = await page.getByTestId('check-uptime').locator('dd').first().innerText();
  const pct = parseFloat(day);
  expect(pct, day).toBeGreaterThan(0);
  expect(pct, day).toBeLessThan(100);
  const timeline = page.getByTestId('check-timeline').locator('li');
  await expect(timeline.first()).toHaveAttribute('data-to', 'up');
  await expect(page.getByTestId('check-timeline')).toContainText('up → down');

  // Live on this page too.
  status = 503;
  await expect(page.getByTestId('check-status')).toHaveText('down', { timeout: 5_000 });
  await expect(timeline.first()).toHaveAttribute('data-to', 'down');
  status = 200;
  await expect(page.getByTestId('check-status')).toHaveText('up', { timeout: 5_000 });
  await page.screenshot({ path: test.info().outputPath('check-detail.png'), fullPage: true });
});

test.describe('unknown check', () => {
  test.use({
    allowedErrors: { 'the page answers 404 on purpose (response, and the console line about it)': /404.*\/checks\/nope/ },
  });
  test('answers 404 as a page and as JSON', async ({ page, request }) => {
    const res = await request.get(`${vigil().url}/api/v1/checks/nope`);
    expect(res.status()).toBe(404);
    expect(await res.json()).toEqual({ error: 'unknown check "nope"; GET /api/v1/checks lists them' });
    const page404 = await page.goto(`${vigil().url}/checks/nope`);
    expect(page404?.status()).toBe(404);
    await expect(page.getByRole('alert')).toContainText('unknown check');
  });
});

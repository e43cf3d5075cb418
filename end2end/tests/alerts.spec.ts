// The alerts page against a real check target the test switches between
// 200 and 503 and a webhook receiver that records what Vigil sends: an
// alert fires live (no reload) and the header counts it, a silence made
// on the page mutes it, and the test button reports how delivery went.

import * as http from 'node:http';
import { expect, test } from './fixtures';
import { freePort, useVigilServer } from './server';

let status = 200;
let target: http.Server;
let receiver: http.Server;
let targetPort = 0;
let receiverPort = 0;
/** Every JSON body the receiver got. */
const received: { status?: string; title?: string }[] = [];

test.beforeAll(async () => {
  targetPort = await freePort();
  receiverPort = await freePort();
  target = http.createServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => target?.close(resolve));
  await new Promise((resolve) => receiver?.close(resolve));
});

const vigil = useVigilServer(
  () => `
[[checks]]
name = "api"
type = "http"
url = "http://127.0.0.1:${targetPort}/"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1

[[notify]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:${receiverPort}/hook"

[alerting]
group_wait = "0s"

# The rules on this machine's own disks and memory follow whatever host
# runs the tests; off, so the header counts only what the test fires.
[[alerts]]
name = "disk-full"
enabled = false

[[alerts]]
name = "disk-full-critical"
enabled = false

[[alerts]]
name = "memory-full"
enabled = false
`,
);

function alertRow(page: import('@playwright/test').Page, instance: string) {
  return page.locator(`[data-testid="alert-row"][data-name="check-down"][data-instance="${instance}"]`);
}

test('an alert fires live, the header counts it, and a silence made on the page mutes it', async ({ page }) => {
  await page.goto(`${vigil().url}/alerts`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('alerts-none')).toBeVisible();
  await expect(page.getByTestId('alerts-count')).toHaveCount(0);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  status = 503;
  await expect(alertRow(page, 'api')).toHaveAttribute('data-state', 'firing', { timeout: 5_000 });
  await expect(alertRow(page, 'api')).toContainText('check api is down: HTTP 503');
  await expect(page.getByTestId('alerts-count')).toHaveText('1 firing');
  await expect.poll(() => received.filter((r) => r.status === 'firing').length).toBe(1);

  // Silence it from its row.
  await alertRow(page, 'api').getByText('Silence', { exact: true }).first().click();
  await alertRow(page, 'api').locator('input[name="comment"]').fill('deploying a fix');
  await alertRow(page, 'api').getByRole('button', { name: 'Silence' }).click();
  await expect(alertRow(page, 'api')).toHaveAttribute('data-state', 'silenced', { timeout: 5_000 });
  await expect(alertRow(page, 'api').getByTestId('muted-by')).toContainText('deploying a fix');
  await expect(page.getByTestId('alerts-count')).toHaveCount(0);
  await expect(page.locator('[data-testid="silence-row"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="silence-row"]')).toContainText('rule check-down, instance api');
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  await page.screenshot({ path: test.info().outputPath('alerts-silenced.png'), fullPage: true });

  // Muted: it resolves without a word.
  status = 200;
  await expect(page.getByTestId('alerts-none')).toBeVisible({ timeout: 5_000 });
  await page.waitForTimeout(500);
  expect(received.filter((r) => r.status === 'resolved')).toHaveLength(0);
});

test('the test button reports the outcome', async ({ page }) => {
  await page.goto(`${vigil().url}/alerts`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const row = page.locator('[data-testid="channel-row"][data-name="hook"]');
  await expect(row).toContainText('webhook');
  const before = received.length;
  await row.getByRole('button', { name: 'Send a test' }).click();
  await expect(row.getByTestId('test-outcome')).toHaveAttribute('data-ok', 'true');
  await expect(row.getByTestId('test-outcome')).toContainText('Delivered');
  await expect(row.getByTestId('test-outcome')).toContainText('HTTP 204');
  expect(received.slice(before).map((r) => r.status)).toEqual(['test']);
});

// The public status page against a real check target the test switches
// between 200 and 503, on a Vigil that asks for accounts: the page is
// whole without a session and without the dashboard's WASM, follows the
// check live through its small script, and shows an incident an admin
// posts on the dashboard, with its updates; axe on the page (both themes),
// on the incidents and the reports pages; and the page at 360 px.

import * as http from 'node:http';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { freePort, useVigilServer } from './server';

let status = 200;
let target: http.Server;
let targetPort = 0;

test.beforeAll(async () => {
  targetPort = await freePort();
  target = http.createServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => target?.close(resolve));
});

const vigil = useVigilServer(
  () => `
[[checks]]
name = "website"
type = "http"
url = "http://127.0.0.1:${targetPort}/"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1
failure_threshold = 100

[[checks]]
name = "payments-api"
type = "http"
url = "http://127.0.0.1:${targetPort}/"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1
failure_threshold = 100
slo = 99.9

[[status_pages]]
slug = "public"
title = "Example status"
description = "Our website and the payments API."
checks = ["website"]

[[status_pages.groups]]
name = "API"
checks = ["payments-api"]
`,
  { exposed: true },
);

test.describe.configure({ mode: 'serial' });

const ADMIN = { name: 'root', password: 'status-admin-e2e-3' };
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** A page in a context of its own: no session, nothing shared with the admin's. */
async function publicPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

async function expectNoSeriousViolations(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), what).toEqual([]);
}

test('the public page is whole without a session or WASM, and follows its checks live', async ({ browser }) => {
  status = 200;
  const page = await publicPage(browser);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  const response = await page.goto(`${vigil().url}/status/public`);
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { name: 'Example status', level: 1 })).toBeVisible();
  await expect(page.getByTestId('banner')).toHaveText('All systems operational', { timeout: 10_000 });
  await expect(page.locator('[data-check="website"]')).toHaveAttribute('data-state', 'operational');
  await expect(page.locator('[data-check="payments-api"] .bar li')).toHaveCount(90);
  expect(requests.filter((p) => p.startsWith('/pkg/') || p.endsWith('.wasm'))).toEqual([]);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  await page.screenshot({ path: test.info().outputPath('status-operational.png'), fullPage: true });

  status = 503;
  // The script polls every 10 s: the page changes in place, no reload.
  await expect(page.getByTestId('banner')).toHaveText('Major outage', { timeout: 15_000 });
  await expect(page.locator('[data-check="payments-api"]')).toHaveAttribute('data-state', 'down');
  await expect(page.locator('[data-check="payments-api"] .state')).toHaveText('Outage');
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  await expect(page.locator('body')).not.toContainText('503');
  await page.screenshot({ path: test.info().outputPath('status-outage.png'), fullPage: true });

  status = 200;
  await expect(page.getByTestId('banner')).toHaveText('All systems operational', { timeout: 15_000 });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await expectNoSeriousViolations(page, `the status page in ${scheme}`);
  }
  await page.context().close();
});

test('an admin posts an incident on the dashboard and the public page shows it and its update', async ({ page, browser }) => {
  await page.goto(`${vigil().url}/incidents`);
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Password again').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create account and sign in' }).click();
  await expect(page).toHaveURL(`${vigil().url}/`);
  await page.goto(`${vigil().url}/incidents`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  // The outage of the previous test drafted incidents: not public.
  await expect(page.locator('[data-testid="incident"][data-state="draft"]').first()).toBeVisible();

  const form = page.getByTestId('incident-form');
  await form.getByLabel('Title').fill('Payments are slow');
  await form.getByLabel('Impact').selectOption('major');
  await form.getByLabel('What is happening').fill('Card payments take up to a minute. We are on it.');
  await form.getByRole('button', { name: 'Publish the incident' }).click();
  const card = page.locator('[data-testid="incident"][data-state="investigating"]', { hasText: 'Payments are slow' });
  await expect(card).toBeVisible();

  const reader = await publicPage(browser);
  await reader.goto(`${vigil().url}/status/public`);
  const shown = reader.getByTestId('active-incident');
  await expect(shown).toContainText('Payments are slow');
  await expect(shown).toContainText('Card payments take up to a minute.');
  await expect(reader.getByTestId('active-incident')).toHaveCount(1);

  await card.getByText('Post an update').click();
  await card.getByTestId('update-form').getByLabel('Status').selectOption('identified');
  await card.getByTestId('update-form').getByLabel('Update').fill('A card network is slow; we switched to the backup.');
  await card.getByTestId('update-form').getByRole('button', { name: 'Post' }).click();
  await expect(page.locator('[data-testid="incident"][data-state="identified"]')).toBeVisible();
  // Live on the reader's page, without a reload.
  await expect(shown).toContainText('we switched to the backup', { timeout: 15_000 });
  await expect(shown).toContainText('Identified');
  await reader.screenshot({ path: test.info().outputPath('status-incident.png'), fullPage: true });
  await reader.context().close();

  await expectNoSeriousViolations(page, 'the incidents page');
  await page.goto(`${vigil().url}/reports`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('[data-testid="report-row"][data-check="payments-api"]')).toBeVisible();
  await expect(page.locator('[data-testid="report-row"][data-check="payments-api"] td').nth(5)).toHaveText('99.90 %');
  await expectNoSeriousViolations(page, 'the reports page');
  await page.screenshot({ path: test.info().outputPath('reports.png'), fullPage: true });
});

test('the public page reads on a 360 px phone', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${vigil().url}/status/public`);
  await expect(page.getByTestId('banner')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, 'no sideways scroll').toBeLessThanOrEqual(0);
  const name = page.locator('[data-check="payments-api"] .name');
  const state = page.locator('[data-check="payments-api"] .state');
  await expect(name).toBeInViewport();
  await expect(state).toBeInViewport();
  await page.screenshot({ path: test.info().outputPath('status-phone.png'), fullPage: true });
  await context.close();
});

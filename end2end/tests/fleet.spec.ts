// The fleet view against a real engine: Debian's Prometheus with its
// remote-write receiver, started here, and two Vigils pushing to it. The
// one under test ("alpha") also reads the fleet from the engine; "beta"
// only pushes. Covers the hosts list (server-rendered, refreshing on its
// own, sortable through the URL), opening another host's chart, and the
// page at 360 px.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from './fixtures';
import { keepScreenshot } from './dashboard';
import { horizontalOverflow } from './pages';
import { freePort, useVigilServer, VigilServer } from './server';

const PROMETHEUS = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';

let prometheus: ChildProcess | undefined;
let promDir = '';
let promPort = 0;
let beta: VigilServer | undefined;

async function ready(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} not ready within ${timeoutMs} ms (is Debian's prometheus installed? scripts/setup.sh installs it)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pusher(name: string, extra = ''): string {
  return `
[collector]
interval = "500ms"

[host]
name = "${name}"

[remote_write]
url = "http://127.0.0.1:${promPort}/api/v1/write"
interval = "1s"
${extra}`;
}

// Registered before useVigilServer's: the engine and beta run first.
test.beforeAll(async () => {
  test.setTimeout(90_000);
  promPort = await freePort();
  promDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-prometheus-'));
  const config = path.join(promDir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 15s\n');
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(promDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    { stdio: 'ignore' },
  );
  await ready(`http://127.0.0.1:${promPort}/-/ready`, 30_000);
  beta = await VigilServer.launch(pusher('beta'));
});

test.afterAll(async () => {
  await beta?.dispose();
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus!.once('exit', r));
    prometheus.kill('SIGTERM');
    await exited;
  }
  rmSync(promDir, { recursive: true, force: true });
});

const vigil = useVigilServer(() => pusher('alpha', `\n[fleet]\nprometheus = "http://127.0.0.1:${promPort}"\n`));

/** Host names in table order. */
async function rowNames(page: import('@playwright/test').Page): Promise<string[]> {
  return page.getByTestId('host-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host') ?? ''));
}

test('lists every host the engine knows, refreshes on its own, and sorts through the URL', async ({ page }) => {
  await page.goto(`${vigil().url}/hosts`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  // Both hosts, with figures, without a reload (the page reads the list again on its own).
  const betaRow = page.locator('[data-testid="host-row"][data-host="beta"]');
  await expect(betaRow).toHaveCount(1, { timeout: 30_000 });
  await expect(page.locator('[data-testid="host-row"][data-host="alpha"]')).toHaveCount(1);
  await expect(page.getByTestId('hosts-alone')).toHaveCount(0);
  await expect(betaRow.getByTestId('host-cpu')).toHaveText(/^\d+(\.\d+)?%$/);
  await expect(betaRow.getByTestId('host-memory')).toHaveText(/^\d+(\.\d+)?%$/);
  await expect(betaRow.getByTestId('host-disk')).toHaveText(/%/);
  await expect(betaRow.getByTestId('host-seen')).toHaveText(/ ago$/);
  const seen = Number(await betaRow.getAttribute('data-seen'));
  await expect
    .poll(async () => Number(await betaRow.getAttribute('data-seen')), {
      message: "beta's last-seen time should move on without a reload",
      timeout: 20_000,
    })
    .toBeGreaterThan(seen);

  // Sort by name, both ways; the order lives in the URL.
  await page.getByTestId('hosts-sort-name').click();
  await expect(page).toHaveURL(/\/hosts\?sort=name&dir=asc$/);
  await expect.poll(() => rowNames(page)).toEqual(['alpha', 'beta']);
  await page.getByTestId('hosts-sort-name').click();
  await expect(page).toHaveURL(/dir=desc$/);
  await expect.poll(() => rowNames(page)).toEqual(['beta', 'alpha']);
  await page.reload();
  await expect.poll(() => rowNames(page)).toEqual(['beta', 'alpha']);
});

test("a host's name opens its chart, read from the engine", async ({ page }) => {
  await page.goto(`${vigil().url}/hosts`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const link = page.locator('[data-testid="host-row"][data-host="beta"] [data-testid="host-link"]');
  await expect(link).toHaveCount(1, { timeout: 30_000 });
  await link.click();
  await expect(page).toHaveURL(/\/explore\?.*host=beta/);
  await expect(page.getByTestId('explorer-host')).toContainText('beta');
  const chart = page.getByTestId('explorer-chart');
  await expect
    .poll(async () => Number((await chart.getAttribute('data-points')) ?? 0), {
      message: "beta's chart should draw",
      timeout: 20_000,
    })
    .toBeGreaterThan(0);
  // The summary rows carry beta's figures, and a reload shows the same host.
  await expect(page.getByTestId('summary-row').first()).toContainText('%');
  await page.reload();
  await expect(page).toHaveURL(/host=beta/);
  await expect(page.getByTestId('summary-row')).toHaveCount(3);
});

test('the hosts page works at 360 px', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${vigil().url}/hosts`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('host-row')).toHaveCount(2, { timeout: 30_000 });
  const { overflow, offenders } = await horizontalOverflow(page);
  expect(overflow, `nothing sticks out sideways: ${offenders.join(', ')}`).toBeLessThanOrEqual(0);
  await expect(page.locator('[data-testid="host-row"][data-host="beta"] [data-testid="host-link"]')).toBeVisible();
  await keepScreenshot(page, testInfo, 'hosts-360.png');
});

test("the Vigil card shows how the push is going", async ({ page }) => {
  await page.goto(`${vigil().url}/`);
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('rw-queue')).toHaveText(/^\d+ of [1-9]\d* samples$/);
  await expect(page.getByTestId('rw-latency')).toHaveText(/^\d+(\.\d)? ms$/);
  await expect(page.getByTestId('rw-failures')).toHaveText('0 requests failed, 0 samples dropped');
});

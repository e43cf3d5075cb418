// Locators and small helpers for the overview page, shared by the specs.

import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';

export const CONNECTION_STATES = ['connecting', 'connected', 'disconnecting', 'disconnected'] as const;

/** Stable hooks of the overview page. */
export function overview(page: Page) {
  return {
    html: page.locator('html'),
    connection: page.getByTestId('connection-state'),
    cpuTotal: page.getByTestId('cpu-total'),
    memUsed: page.getByTestId('mem-used'),
    memTotal: page.getByTestId('mem-total'),
    load1: page.getByTestId('load-1'),
    diskRows: page.getByTestId('disk-row'),
    netRows: page.getByTestId('net-row'),
    lastUpdate: page.getByTestId('last-update'),
    cpuSparkline: page.locator('svg[data-testid="sparkline-cpu"]'),
  };
}

export type Overview = ReturnType<typeof overview>;

/** Trimmed text content of a single element. */
export async function textOf(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

/** `data-ts` of the last-update element as a number (NaN if missing or not numeric). */
export async function lastUpdateTs(ov: Overview): Promise<number> {
  const raw = await ov.lastUpdate.getAttribute('data-ts');
  return raw !== null && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
};

/** Parses a human size like `3.2 GiB` into bytes; null when the text is not such a size. */
export function parseHumanBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s?([A-Za-z]+)$/.exec(text.trim());
  if (!m) return null;
  const factor = BYTE_UNITS[m[2]];
  if (factor === undefined) return null;
  return Number(m[1]) * factor;
}

export const CPU_PERCENT = /^\d+(\.\d+)?%$/;
export const DECIMAL = /^\d+(\.\d+)?$/;

/** Checks that the headline numbers are well-formed and plausible. */
export async function expectWellFormedNumbers(ov: Overview): Promise<void> {
  const cpu = await textOf(ov.cpuTotal);
  expect(cpu, 'cpu-total text').toMatch(CPU_PERCENT);
  expect(parseFloat(cpu), 'cpu-total value').toBeLessThanOrEqual(100);

  const memTotalText = await textOf(ov.memTotal);
  const memTotal = parseHumanBytes(memTotalText);
  expect(memTotal, `mem-total "${memTotalText}" should be a human size like "3.2 GiB"`).not.toBeNull();
  expect(memTotal!, `mem-total "${memTotalText}" should be non-zero`).toBeGreaterThan(0);

  const memUsedText = await textOf(ov.memUsed);
  const memUsed = parseHumanBytes(memUsedText);
  expect(memUsed, `mem-used "${memUsedText}" should be a human size like "1.5 GiB"`).not.toBeNull();
  // Allow for the two values being rounded separately.
  expect(memUsed!, `mem-used "${memUsedText}" should not exceed mem-total "${memTotalText}"`).toBeLessThanOrEqual(
    memTotal! * 1.05,
  );

  const load = await textOf(ov.load1);
  expect(load, 'load-1 text').toMatch(DECIMAL);
}

export interface ErrorWatch {
  consoleErrors: string[];
  pageErrors: string[];
}

/** Starts collecting console errors and uncaught page errors. Call before the first navigation. */
export function watchErrors(page: Page): ErrorWatch {
  const watch: ErrorWatch = { consoleErrors: [], pageErrors: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    const where = loc.url ? ` (${loc.url}:${loc.lineNumber}:${loc.columnNumber})` : '';
    watch.consoleErrors.push(`${msg.text()}${where}`);
  });
  page.on('pageerror', (err) => {
    watch.pageErrors.push(err.stack || `${err.name}: ${err.message}`);
  });
  return watch;
}

function formatList(title: string, items: string[]): string {
  return `${title} (${items.length}):\n${items.map((e, i) => `  ${i + 1}. ${e}`).join('\n')}`;
}

export function expectNoPageErrors(watch: ErrorWatch): void {
  if (watch.pageErrors.length > 0) console.error(formatList('uncaught page errors', watch.pageErrors));
  expect(watch.pageErrors, 'uncaught page errors (listed above)').toEqual([]);
}

export function expectNoConsoleErrors(watch: ErrorWatch): void {
  if (watch.consoleErrors.length > 0) console.error(formatList('console errors', watch.consoleErrors));
  expect(watch.consoleErrors, 'console errors (listed above)').toEqual([]);
}

/** Loads the overview and waits until it is hydrated and its live connection is up. */
export async function openLiveOverview(page: Page, baseUrl: string): Promise<Overview> {
  const response = await page.goto(`${baseUrl}/`);
  expect(response?.status(), 'status of GET /').toBe(200);
  const ov = overview(page);
  // Compiling the WASM bundle can take a while on a busy machine.
  await expect(ov.html, 'page should hydrate').toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect(ov.connection, 'live connection should open').toHaveAttribute('data-state', 'connected', {
    timeout: 10_000,
  });
  return ov;
}

/**
 * Waits until last-update's data-ts moves past `previous` (a newer sample is
 * shown) and returns the new value.
 */
export async function expectNextSample(ov: Overview, previous: number, timeout: number, what: string): Promise<number> {
  let latest = Number.NaN;
  await expect
    .poll(
      async () => {
        latest = await lastUpdateTs(ov);
        return latest;
      },
      { message: `${what}: last-update data-ts should advance past ${previous}`, timeout, intervals: [100, 250] },
    )
    .toBeGreaterThan(previous);
  return latest;
}

/** Full-page screenshot written into the test's output dir and attached to the report. */
export async function keepScreenshot(page: Page, testInfo: TestInfo, fileName: string): Promise<void> {
  const file = testInfo.outputPath(fileName);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  await testInfo.attach(fileName.replace(/\.png$/, ''), { path: file, contentType: 'image/png' });
}

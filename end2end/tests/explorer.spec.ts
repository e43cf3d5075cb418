// The metrics explorer (/explore): series picker, range presets, the uPlot
// chart (drag-zoom, reset, live tail), the URL as the view's only state,
// and the server-rendered summary without JavaScript.

import type { Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { expectNoConsoleErrors, expectNoPageErrors, keepScreenshot, watchErrors } from './dashboard';
import { useVigilServer } from './server';
import { COLUMNS_TYPE, encodeColumns } from './columns';

const vigil = useVigilServer();

const HOUR = 3_600_000;
const FIVE_MIN = 300_000;

/** Stable hooks of the explorer page. */
function explorer(page: Page) {
  return {
    html: page.locator('html'),
    chart: page.getByTestId('explorer-chart'),
    canvas: page.locator('[data-testid="explorer-chart"] .u-over'),
    /** Legend rows a person sees: time and one per series. */
    legend: page.locator('[data-testid="explorer-chart"] .u-legend .u-series:not(.band-edge)'),
    /** The min and max series of each band, kept out of the legend. */
    bandEdges: page.locator('[data-testid="explorer-chart"] .u-legend .u-series.band-edge'),
    picker: page.getByTestId('series-picker'),
    reset: page.getByTestId('reset-zoom'),
    rows: page.getByTestId('summary-row'),
    live: page.getByTestId('live-tail'),
    preset: (key: string) => page.getByTestId(`range-preset-${key}`),
    series: (name: string) => page.getByTestId('series-picker').getByRole('checkbox', { name, exact: true }),
  };
}

type Explorer = ReturnType<typeof explorer>;

/** A numeric data-* attribute (NaN when missing). */
async function attr(locator: Locator, name: string): Promise<number> {
  const raw = await locator.getAttribute(name);
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
}

async function shown(ex: Explorer): Promise<{ points: number; from: number; to: number }> {
  return {
    points: await attr(ex.chart, 'data-points'),
    from: await attr(ex.chart, 'data-from'),
    to: await attr(ex.chart, 'data-to'),
  };
}

/** Waits until the chart has drawn something and returns what it shows. */
async function expectDrawn(ex: Explorer, what: string) {
  await expect
    .poll(async () => (await shown(ex)).points, { message: `${what}: data-points should be > 0`, timeout: 20_000 })
    .toBeGreaterThan(0);
  return shown(ex);
}

/** Opens the explorer at `path` and waits for hydration and a drawn chart. */
async function openExplorer(page: Page, path = '/explore'): Promise<Explorer> {
  const response = await page.goto(`${vigil().url}${path}`);
  expect(response?.status(), `status of GET ${path}`).toBe(200);
  const ex = explorer(page);
  await expect(ex.html, 'page should hydrate').toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expectDrawn(ex, 'first draw');
  return ex;
}

function query(page: Page): URLSearchParams {
  return new URL(page.url()).searchParams;
}

test('the default view hydrates and draws CPU and memory over the last hour', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);

  const view = await shown(ex);
  expect(view.to - view.from, 'the default window is one hour').toBe(HOUR);
  expect(Math.abs(view.to - Date.now()), 'a preset ends now').toBeLessThan(15_000);

  await expect(ex.series('cpu_usage_percent')).toBeChecked();
  await expect(ex.series('memory_used_percent')).toBeChecked();
  await expect(ex.rows).toHaveCount(2);
  await expect(ex.rows.nth(0)).toHaveAttribute('data-series', 'cpu_usage_percent');
  await expect(ex.rows.nth(1)).toHaveAttribute('data-series', 'memory_used_percent');
  await expect(ex.preset('1h')).toHaveAttribute('aria-current', 'true');
  await expect(ex.reset, 'nothing to reset before a zoom').toBeDisabled();
  await expect(ex.live).toBeVisible();
  // uPlot's legend is the cursor readout: one entry per series plus time
  // (the min and max series of a band are not listed).
  await expect(ex.legend).toHaveCount(3);

  await keepScreenshot(page, testInfo, 'explorer.png');
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('only /explore downloads uPlot and the explorer chunk', async ({ page }) => {
  const fetched: string[] = [];
  page.on('request', (request) => fetched.push(new URL(request.url()).pathname));
  const chart = /uPlot|\/pkg\/split_.*explore/;

  await page.goto(`${vigil().url}/`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
  expect(fetched.filter((p) => chart.test(p)), 'what the overview fetched').toEqual([]);

  // By the navigation: the explorer's code and uPlot come only now.
  await page.getByRole('link', { name: 'Explore' }).click();
  await expectDrawn(explorer(page), 'after navigating to /explore');
  expect(fetched.filter((p) => /uPlot\.iife\.min\.js$/.test(p))).toHaveLength(1);
});

test('a preset loads its window and puts it in the URL', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);
  const before = await shown(ex);

  await ex.preset('5m').click();
  await expect(page).toHaveURL(/[?&]range=5m(&|$)/);
  await expect(ex.preset('5m')).toHaveAttribute('aria-current', 'true');
  await expect
    .poll(async () => {
      const now = await shown(ex);
      return now.to - now.from;
    }, { message: 'the chart should show five minutes' })
    .toBe(FIVE_MIN);
  expect((await shown(ex)).from, 'data-from moves with the preset').not.toBe(before.from);
  expect(query(page).get('series')).toBe('cpu_usage_percent,memory_used_percent');

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('dragging on the chart zooms in; "Reset zoom" goes back', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page, '/explore?range=5m');
  const before = await expectDrawn(ex, 'five minutes');
  expect(before.to - before.from).toBe(FIVE_MIN);

  const box = await ex.canvas.boundingBox();
  expect(box, 'the plot area is on screen').not.toBeNull();
  const y = box!.y + box!.height / 2;
  await page.mouse.move(box!.x + box!.width * 0.5, y);
  await page.mouse.down();
  await page.mouse.move(box!.x + box!.width * 0.7, y, { steps: 5 });
  await page.mouse.move(box!.x + box!.width * 0.95, y, { steps: 5 });
  await page.mouse.up();

  await expect(page, 'the zoomed window is in the URL').toHaveURL(/[?&]from=\d+&to=\d+&base=5m/);
  const from = Number(query(page).get('from'));
  const to = Number(query(page).get('to'));
  const span = to - from;
  expect(span, 'a zoom narrows the window').toBeLessThan(FIVE_MIN * 0.6);
  expect(span).toBeGreaterThan(FIVE_MIN * 0.3);
  await expect.poll(async () => (await shown(ex)).from).toBe(from);
  expect((await shown(ex)).to).toBe(to);
  await expect(ex.reset).toBeEnabled();
  await expect(ex.live, 'a fixed window does not follow the clock').toBeHidden();
  await expect(ex.preset('5m')).not.toHaveAttribute('aria-current', 'true');

  await ex.reset.click();
  await expect(page).toHaveURL(/[?&]range=5m$/);
  await expect
    .poll(async () => {
      const now = await shown(ex);
      return now.to - now.from;
    }, { message: 'reset shows five minutes again' })
    .toBe(FIVE_MIN);
  await expect(ex.reset).toBeDisabled();

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('a view that ends now follows the clock', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page, '/explore?range=5m');
  const first = (await shown(ex)).to;
  await expect
    .poll(async () => (await shown(ex)).to, { message: 'data-to should advance', timeout: 10_000, intervals: [250] })
    .toBeGreaterThan(first);
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('changing the series updates the URL, and a reload shows the same view', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);

  await ex.preset('24h').click();
  await expect(page).toHaveURL(/[?&]range=24h/);
  await ex.series('memory_used_percent').uncheck();
  await expect(page).toHaveURL(/[?&]series=cpu_usage_percent&/);
  // Any series from another metric: the first unchecked one in the picker.
  const other = ex.picker.getByRole('checkbox', { checked: false }).first();
  const otherName = await other.getAttribute('value');
  expect(otherName).toBeTruthy();
  await other.check();
  await expect(page).toHaveURL(new RegExp(`[?&]series=cpu_usage_percent,${otherName!.replace(/\./g, '\\.')}&`));
  await expect(ex.rows).toHaveCount(2);
  await expect(ex.rows.nth(1)).toHaveAttribute('data-series', otherName!);

  const url = page.url();
  await page.reload();
  await expect(ex.html).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  expect(page.url()).toBe(url);
  await expect(ex.series('cpu_usage_percent')).toBeChecked();
  await expect(ex.picker.locator(`input[value="${otherName}"]`)).toBeChecked();
  await expect(ex.series('memory_used_percent')).not.toBeChecked();
  await expect(ex.preset('24h')).toHaveAttribute('aria-current', 'true');
  await expect(ex.rows).toHaveCount(2);
  await expect(ex.rows.nth(1)).toHaveAttribute('data-series', otherName!);
  const view = await expectDrawn(ex, 'after reload');
  expect(view.to - view.from).toBe(24 * HOUR);

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('the filter narrows the picker and controls have labels', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);
  const filter = page.getByRole('searchbox', { name: 'Filter series' });
  await filter.fill('memory_used');
  await expect(ex.series('memory_used_percent')).toBeVisible();
  await expect(ex.series('cpu_usage_percent')).toBeHidden();
  await filter.fill('');
  await expect(ex.series('cpu_usage_percent')).toBeVisible();

  // Keyboard: presets are links, the custom range has labelled inputs.
  await ex.preset('7d').focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/[?&]range=7d/);
  await expect(page.getByLabel('From')).toBeVisible();
  await expect(page.getByLabel('To', { exact: true })).toBeVisible();
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('a custom window applies from the form', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);
  // datetime-local values are local time; the page converts them.
  const to = new Date(Date.now() + 60_000);
  const from = new Date(to.getTime() - 2 * HOUR);
  const local = (d: Date) => {
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  };
  const formError = page.locator('.custom-range [role="alert"]');
  await expect(formError, 'no error box while there is no error').toBeHidden();
  // Reversed: refused with a message, the view stays.
  await page.getByLabel('From').fill(local(to));
  await page.getByLabel('To', { exact: true }).fill(local(from));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(formError).toHaveText('“From” must be before “To”.');
  await expect(page).not.toHaveURL(/[?&]from=/);
  await page.getByLabel('From').fill(local(from));
  await page.getByLabel('To', { exact: true }).fill(local(to));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/[?&]from=\d+&to=\d+$/);
  await expect(formError).toBeHidden();
  const q = query(page);
  expect(Number(q.get('to')) - Number(q.get('from'))).toBe(2 * HOUR);
  await expect.poll(async () => (await shown(ex)).from).toBe(Number(q.get('from')));
  await expect(ex.live).toBeHidden();
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test('leaving and coming back by the navigation rebuilds the chart', async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);
  await page.getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByTestId('cpu-total')).toBeVisible();
  await expect(ex.chart).toHaveCount(0);
  await page.getByRole('link', { name: 'Explore' }).click();
  await expect(page).toHaveURL(/\/explore$/);
  await expectDrawn(ex, 'after client-side navigation');
  await expect(ex.chart.locator('.uplot'), 'one chart, the old one destroyed').toHaveCount(1);
  await expect(ex.rows).toHaveCount(2);
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test.describe('an unknown series', () => {
  test.use({
    allowedErrors: {
      'the document answers 404 on purpose (response, and the console line about it)':
        /\b404\b.*\/explore\?series=no_such_series\b/,
    },
  });

  test('an unknown series in the URL shows a readable message', async ({ page }) => {
    const errors = watchErrors(page);
    const response = await page.goto(`${vigil().url}/explore?series=no_such_series&range=1h`);
    expect(response?.status()).toBe(404);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    await expect(page.getByTestId('explorer-error')).toContainText('unknown series "no_such_series"');
    await expect(page.getByTestId('explorer-chart')).toContainText('No chart');
    expectNoPageErrors(errors);
    // The browser reports the 404 document itself; nothing else may fail.
    expect(errors.consoleErrors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });
});

test('100,000 points per series draw without stalling the page', async ({ page }) => {
  const errors = watchErrors(page);
  const N = Number(process.env.PTS ?? 100_000);
  // Answer the browser's range queries with N points each.
  await page.route('**/api/v1/columns?*', async (route) => {
    const url = new URL(route.request().url());
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    const step = (to - from) / N;
    const t = Array.from({ length: N }, (_, i) => Math.round(from + i * step));
    const avg = Array.from({ length: N }, (_, i) => 50 + 40 * Math.sin(i / 500) + (i % 7));
    const body = encodeColumns({
      series: url.searchParams.get('series') ?? '',
      unit: 'percent',
      from,
      to,
      stepMs: Math.round(step),
      tier: 'raw',
      t,
      avg,
    });
    await route.fulfill({ status: 200, contentType: COLUMNS_TYPE, body });
  });
  const ex = explorer(page);
  await page.goto(`${vigil().url}/explore?range=1h`);
  await expect(ex.html).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect.poll(async () => (await shown(ex)).points, { timeout: 20_000 }).toBe(2 * N);

  // Timing of one live load, measured in the page: from the last byte of
  // the slower of the two answers to the next frame after the chart's redraw,
  // and from the points in hand (read into columns) to that frame.
  const { ms, drawMs } = await page.evaluate(async () => {
    const chart = document.querySelector('[data-testid="explorer-chart"]')!;
    const before = chart.getAttribute('data-to');
    const drawn = await new Promise<number>((resolve) => {
      const obs = new MutationObserver(() => {
        if (chart.getAttribute('data-to') !== before) {
          obs.disconnect();
          requestAnimationFrame(() => resolve(performance.now()));
        }
      });
      obs.observe(chart, { attributes: true });
    });
    const answers = performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/v1/columns?') && (e as PerformanceResourceTiming).responseEnd < drawn)
      .map((e) => (e as PerformanceResourceTiming).responseEnd);
    const drawStart = Number(chart.getAttribute('data-draw-start'));
    return { ms: drawn - Math.max(...answers), drawMs: drawn - drawStart };
  });
  console.log(
    `2 x ${N} points: ${ms.toFixed(0)} ms from the answer to the drawn chart, ${drawMs.toFixed(0)} ms of it drawing`,
  );
  expect(drawMs, 'drawing is part of the whole').toBeLessThanOrEqual(ms);
  expect(ms, 'parsing and drawing 200,000 points').toBeLessThan(2_000);

  // The page stays responsive: hovering moves uPlot's cursor readout.
  const box = (await ex.canvas.boundingBox())!;
  const t0 = Date.now();
  for (let i = 1; i <= 10; i++) {
    await page.mouse.move(box.x + (box.width * i) / 11, box.y + box.height / 2);
  }
  const hoverMs = Date.now() - t0;
  console.log(`10 cursor moves over 2 x ${N} points: ${hoverMs} ms`);
  await expect(ex.chart.locator('.u-legend .u-series').nth(1).locator('.u-value')).toHaveText(/%$/);
  expect(hoverMs, 'cursor moves stay fast').toBeLessThan(3_000);
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

/**
 * Share of the plot area's height that is painted, in a few columns across
 * the plot (the median, so a vertical grid line under one column does not
 * count): the lines alone paint a few pixels of a column, a band most of it.
 */
async function paintedShare(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = document.querySelector('[data-testid="explorer-chart"] .uplot')!;
    const canvas = root.querySelector('canvas')!;
    const plot = root.querySelector('.u-over')!.getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / box.width;
    const top = Math.round((plot.top - box.top) * scale);
    const height = Math.round(plot.height * scale);
    const ctx = canvas.getContext('2d')!;
    const shares = [0.3, 0.4, 0.5, 0.6, 0.7].map((at) => {
      const x = Math.round((plot.left - box.left + plot.width * at) * scale);
      const pixels = ctx.getImageData(x, top, 1, height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
      return painted / height;
    });
    return shares.sort((a, b) => a - b)[2];
  });
}

test('buckets of several samples draw a min-max band around the average', async ({ page }) => {
  const errors = watchErrors(page);
  // Every range answer: 300 points averaging 50 %, as single samples or
  // as buckets of several (min 10 %, max 90 %).
  let buckets = false;
  await page.route('**/api/v1/columns?*', async (route) => {
    const url = new URL(route.request().url());
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    const step = Math.floor((to - from) / 300);
    const fill = (v: number) => Array.from({ length: 300 }, () => v);
    const body = encodeColumns({
      series: url.searchParams.get('series') ?? '',
      unit: 'percent',
      from,
      to,
      stepMs: step,
      tier: 'raw',
      t: Array.from({ length: 300 }, (_, i) => from + i * step),
      avg: fill(50),
      min: buckets ? fill(10) : [],
      max: buckets ? fill(90) : [],
    });
    await route.fulfill({ status: 200, contentType: COLUMNS_TYPE, body });
  });
  // A fixed window: no live reloads while the canvas is read.
  const to = Date.now();
  const path = `/explore?series=cpu_usage_percent&from=${to - HOUR}&to=${to}`;

  const ex = await openExplorer(page, path);
  await expect(ex.legend).toHaveCount(2);
  await expect(ex.bandEdges, 'single samples have no band').toHaveCount(0);
  const lineOnly = await paintedShare(page);
  expect(lineOnly, 'a line paints a few pixels of a column').toBeLessThan(0.2);

  buckets = true;
  await openExplorer(page, path);
  await expect(ex.bandEdges, 'the min and max series exist').toHaveCount(2);
  for (const edge of await ex.bandEdges.all()) await expect(edge, 'but are not listed').toBeHidden();
  await expect(ex.legend, 'the legend still lists time and the one series').toHaveCount(2);
  await expect(ex.legend.nth(1)).toContainText('cpu_usage_percent');
  const withBand = await paintedShare(page);
  // 10..90 of a 0..100 % axis: about 80 % of the plot's height is shaded.
  expect(withBand, `the band fills the range from min to max (line only: ${lineOnly.toFixed(2)})`).toBeGreaterThan(0.6);
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test.describe('on a phone-sized screen', () => {
  test.use({ viewport: { width: 360, height: 780 } });

  test('the explorer fits 360 px without horizontal scrolling', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    await openExplorer(page);
    const widths = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(widths.scrollWidth, JSON.stringify(widths)).toBeLessThanOrEqual(widths.clientWidth + 1);
    await keepScreenshot(page, testInfo, 'explorer-phone.png');
    expectNoPageErrors(errors);
    expectNoConsoleErrors(errors);
  });
});

test.describe('in dark mode', () => {
  test.use({ colorScheme: 'dark' });

  test('the explorer uses the dark palette', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    const ex = await openExplorer(page);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(13, 17, 23)');
    await expect(ex.rows).toHaveCount(2);
    await keepScreenshot(page, testInfo, 'explorer-dark.png');
    expectNoPageErrors(errors);
    expectNoConsoleErrors(errors);
  });
});

test("the chart takes the theme's colors when the theme button changes them", async ({ page }) => {
  const errors = watchErrors(page);
  const ex = await openExplorer(page);
  await expectDrawn(ex, 'light chart');
  // The first line's legend marker carries its stroke color.
  const marker = ex.chart.locator('.u-legend .u-series').nth(1).locator('.u-marker');
  const stroke = () => marker.evaluate((el) => getComputedStyle(el).borderTopColor);
  expect(await stroke()).toBe('rgb(37, 99, 235)'); // --series-0, light
  const toggle = page.getByTestId('theme-toggle');
  await toggle.click(); // system -> light: the same colors
  await toggle.click(); // light -> dark
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect.poll(stroke, { message: 'the chart is drawn again in dark colors' }).toBe('rgb(96, 165, 250)');
  await expectDrawn(ex, 'dark chart');
  await toggle.click(); // dark -> system (light here)
  await expect.poll(stroke).toBe('rgb(37, 99, 235)');
  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server renders the controls and a summary row per series', async ({ page }) => {
    const response = await page.goto(`${vigil().url}/explore`);
    expect(response?.status()).toBe(200);
    const ex = explorer(page);
    await expect(ex.html).not.toHaveAttribute('data-hydrated', 'true');
    await expect(ex.rows).toHaveCount(2);
    for (const row of await ex.rows.all()) {
      await expect(row.getByTestId('summary-latest')).toHaveText(/^\d+(\.\d+)?%$/);
      await expect(row.getByTestId('summary-points')).toHaveText(/^\d+$/);
    }
    await expect(ex.picker.locator('input[value="cpu_usage_percent"]')).toBeChecked();
    await expect(ex.picker.locator('input[value="memory_used_percent"]')).toBeChecked();
    await expect(ex.preset('1h')).toHaveAttribute('aria-current', 'true');
    await expect(ex.preset('24h')).toHaveAttribute('href', '/explore?series=cpu_usage_percent,memory_used_percent&range=24h');

    // The links and forms work as plain HTML.
    await ex.preset('5m').click();
    await expect(page).toHaveURL(/[?&]range=5m/);
    await expect(ex.preset('5m')).toHaveAttribute('aria-current', 'true');
    await ex.picker.locator('input[value="memory_used_percent"]').uncheck();
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(ex.rows).toHaveCount(1);
    await expect(ex.preset('5m'), 'the range survives the form').toHaveAttribute('aria-current', 'true');
  });
});

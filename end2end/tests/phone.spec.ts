// On a phone (the `phone` project: 390 x 844, touch): the overview is live
// with real figures, no page scrolls sideways at 390 or 360 px, the checks
// list is a card per check with nothing cut or broken mid-word, and the
// navigation works by tapping.

import { expectNextSample, expectWellFormedNumbers, lastUpdateTs, openLiveOverview } from './dashboard';
import { expect, test } from './fixtures';
import { horizontalOverflow, openPage, PAGES, useVigilWithChecks } from './pages';

const vigil = useVigilWithChecks({ refused: true });

test('the overview is live with real figures', async ({ page }) => {
  const ov = await openLiveOverview(page, vigil().url);
  await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live tick');
  await expectWellFormedNumbers(ov);
  await expect(ov.cpuTotal).toBeInViewport();
});

for (const p of PAGES) {
  test.describe(p.name, () => {
    test.use({ allowedErrors: p.allowedErrors ?? {} });

    test(`${p.name} fits 390 and 360 px without scrolling sideways`, async ({ page }) => {
      const path = p.path;
      await openPage(page, vigil().url, p);
      for (const width of [390, 360]) {
        await page.setViewportSize({ width, height: 800 });
        // Let a live update land at this width.
        await page.waitForTimeout(300);
        const { overflow, offenders } = await horizontalOverflow(page);
        expect(overflow, `${path} at ${width} px scrolls sideways by ${overflow} px; widest: ${offenders.join(', ')}`).toBeLessThanOrEqual(1);
      }
    });
  });
}

test('the checks list is a card per check at 360 px: status, name, reason and latency in view, no word broken', async ({
  page,
}) => {
  await openPage(page, vigil().url, PAGES.find((p) => p.path === '/checks')!);
  await page.setViewportSize({ width: 360, height: 800 });
  const down = page.locator('[data-testid="check-row"][data-check="payments-gateway-primary"]');
  await expect(down).toHaveAttribute('data-status', 'down');
  await expect(down.locator('.reason')).toContainText('refused');
  for (const row of await page.getByTestId('check-row').all()) {
    const name = await row.getAttribute('data-check');
    for (const part of ['.badge', 'a', '.reason', '[data-testid="check-latency"]']) {
      const box = await row.locator(part).first().boundingBox();
      expect(box, `${name}: ${part} is shown`).not.toBeNull();
      expect(box!.width, `${name}: ${part} has room`).toBeGreaterThan(0);
      expect(box!.x, `${name}: ${part} starts in view`).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, `${name}: ${part} ends in view`).toBeLessThanOrEqual(360);
    }
  }
  // Every word of every reason on one line: a word whose letters lie on
  // two lines ("refuse d") has two boxes.
  const broken = await page.evaluate(() => {
    const out: string[] = [];
    for (const cell of document.querySelectorAll('[data-testid="check-row"] .reason')) {
      const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let text = texts.nextNode(); text; text = texts.nextNode()) {
        const value = text.textContent ?? '';
        for (const m of value.matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(text, m.index!);
          range.setEnd(text, m.index! + m[0].length);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (tops.size > 1) out.push(m[0]);
        }
      }
    }
    return out;
  });
  expect(broken, 'words broken across lines').toEqual([]);
});

test('the navigation works by tapping', async ({ page }) => {
  await openLiveOverview(page, vigil().url);
  const nav = page.getByRole('navigation', { name: 'Main' });
  // A mark on this document: a reload (or a full navigation) would drop it.
  await page.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
  const sameDocument = () => page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

  await nav.getByRole('link', { name: 'Explore' }).tap();
  await expect(page).toHaveURL(/\/explore$/);
  await expect(page.getByTestId('explorer-chart')).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Explore' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.locator('[aria-current]'), 'one section is current').toHaveCount(1);

  await nav.getByRole('link', { name: 'Checks' }).tap();
  await expect(page).toHaveURL(/\/checks$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Checks' })).toBeVisible();

  await nav.getByRole('link', { name: 'Overview' }).tap();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('cpu-total')).toHaveText(/^\d+(\.\d+)?%$/);
  await expect(nav.getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.locator('[aria-current]')).toHaveCount(1);
  // Still the same document and the same live connection: client-side
  // navigation, no reload.
  expect(await sameDocument(), 'the page was not reloaded').toBe(true);
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');

  await page.getByRole('button', { name: /^Theme: / }).tap();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
});

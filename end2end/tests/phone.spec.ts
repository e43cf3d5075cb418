// On a phone (the `phone` project: 390 x 844, touch): the overview is live
// with real figures, no page scrolls sideways at 390 or 360 px, and the
// navigation works by tapping.

import { expectNextSample, expectWellFormedNumbers, lastUpdateTs, openLiveOverview } from './dashboard';
import { expect, test } from './fixtures';
import { horizontalOverflow, openPage, PAGES, useVigilWithChecks } from './pages';

const vigil = useVigilWithChecks();

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

  await nav.getByRole('link', { name: 'Checks' }).tap();
  await expect(page).toHaveURL(/\/checks$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Checks' })).toBeVisible();

  await nav.getByRole('link', { name: 'Overview' }).tap();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('cpu-total')).toHaveText(/^\d+(\.\d+)?%$/);
  // Still the same document and the same live connection: client-side
  // navigation, no reload.
  expect(await sameDocument(), 'the page was not reloaded').toBe(true);
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');

  await page.getByRole('button', { name: /^Theme: / }).tap();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
});

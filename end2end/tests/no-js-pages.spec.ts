// With JavaScript off (the `no-js` project): every page is server-rendered
// with real content, and the links between them work as plain HTML.

import { expect, test } from './fixtures';
import { PAGES } from './pages';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test.use({ javaScriptEnabled: false });

const FIGURE = /^\d+(\.\d+)?%$/;

test('the navigation links work without JavaScript', async ({ page }) => {
  const base = vigil().url;
  await page.goto(`${base}/`);
  await expect(page.getByTestId('cpu-total')).toHaveText(FIGURE);
  const nav = page.getByRole('navigation', { name: 'Main' });

  // The explorer's figures come from the history store, whose first batch
  // lands a second after start; without JavaScript the page cannot catch up.
  await expect
    .poll(async () => {
      const now = Date.now();
      const res = await page.request.get(
        `${base}/api/v1/query?series=cpu_usage_percent&from=${now - 3_600_000}&to=${now}&points=10`,
      );
      return res.ok() ? ((await res.json()) as { points: unknown[] }).points.length : 0;
    })
    .toBeGreaterThan(0);
  await nav.getByRole('link', { name: 'Explore' }).click();
  await expect(page).toHaveURL(`${base}/explore`);
  await expect(page.getByTestId('summary-row')).toHaveCount(2);
  await expect(page.getByTestId('summary-latest').first()).toHaveText(FIGURE);

  await nav.getByRole('link', { name: 'Checks' }).click();
  await expect(page).toHaveURL(`${base}/checks`);
  await expect(page.getByRole('heading', { level: 1, name: 'Checks' })).toBeVisible();

  await nav.getByRole('link', { name: 'Overview' }).click();
  await expect(page).toHaveURL(`${base}/`);
  await expect(page.getByTestId('cpu-total')).toHaveText(FIGURE);
  await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
});

test.describe('a page that does not exist', () => {
  test.use({ allowedErrors: PAGES.find((p) => p.name === 'not-found')!.allowedErrors });

  test('answers 404 with a way back', async ({ page }) => {
    const base = vigil().url;
    const response = await page.goto(`${base}/no/such/page`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await page.getByRole('link', { name: 'Back to the overview' }).click();
    await expect(page).toHaveURL(`${base}/`);
    await expect(page.getByTestId('cpu-total')).toHaveText(FIGURE);
  });
});

test('the skip link comes first; the theme button, which needs scripts, is hidden', async ({ page }) => {
  await page.goto(`${vigil().url}/`);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#main$/);
  await expect(page.getByTestId('theme-toggle')).toBeHidden();
  // No script ran, so the page follows the system's theme.
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /.*/);
});

// The theme button in the header: system (default), light, dark; the
// choice is remembered in this browser, applied before the first paint,
// and works before (and without) the WASM.

import type { Page } from '@playwright/test';
import { openLiveOverview } from './dashboard';
import { expect, test } from './fixtures';
import { useVigilServer } from './server';

const vigil = useVigilServer();

const LIGHT_BG = 'rgb(245, 247, 248)';
const DARK_BG = 'rgb(13, 17, 23)';
const LIGHT_BAR = '#0f766e';
const DARK_BAR = '#0d1117';

/** What the page shows of the theme right now. */
async function themeOf(page: Page) {
  return page.evaluate(() => ({
    attr: document.documentElement.getAttribute('data-theme'),
    bg: getComputedStyle(document.body).backgroundColor,
    scheme: getComputedStyle(document.documentElement).colorScheme,
    bars: Array.from(document.querySelectorAll('meta[name="theme-color"]')).map((m) => m.getAttribute('content')),
    stored: localStorage.getItem('vigil.theme'),
  }));
}

const toggle = (page: Page) => page.getByRole('button', { name: /^Theme: / });

test('without a choice the page follows the system, and says so', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openLiveOverview(page, vigil().url);
  await expect(toggle(page)).toHaveAccessibleName('Theme: System');
  expect(await themeOf(page)).toMatchObject({ attr: null, bg: DARK_BG, stored: null, bars: [LIGHT_BAR, DARK_BAR] });

  await page.emulateMedia({ colorScheme: 'light' });
  expect((await themeOf(page)).bg, 'a system change applies at once').toBe(LIGHT_BG);
});

test('the button cycles system, light, dark; the choice survives a reload and beats the system', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openLiveOverview(page, vigil().url);

  await toggle(page).click();
  await expect(toggle(page)).toHaveAccessibleName('Theme: Light');
  expect(await themeOf(page), 'light on a dark system').toMatchObject({
    attr: 'light',
    bg: LIGHT_BG,
    scheme: 'light',
    stored: 'light',
    bars: [LIGHT_BAR, LIGHT_BAR],
  });

  await toggle(page).click();
  await expect(toggle(page)).toHaveAccessibleName('Theme: Dark');
  expect(await themeOf(page)).toMatchObject({ attr: 'dark', bg: DARK_BG, scheme: 'dark', stored: 'dark', bars: [DARK_BAR, DARK_BAR] });

  // Dark chosen, light system: the choice wins, from the first paint on.
  await page.emulateMedia({ colorScheme: 'light' });
  expect((await themeOf(page)).bg).toBe(DARK_BG);
  await page.addInitScript(() => {
    // Records the theme at the moment <body> is parsed, before anything in it can paint.
    new MutationObserver((_, observer) => {
      if (!document.body) return;
      observer.disconnect();
      (window as unknown as { __themeAtBody: string | null }).__themeAtBody =
        document.documentElement.getAttribute('data-theme');
    }).observe(document, { childList: true, subtree: true });
  });
  await page.reload();
  expect(await page.evaluate(() => (window as unknown as { __themeAtBody: string | null }).__themeAtBody)).toBe('dark');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  expect(await themeOf(page)).toMatchObject({ attr: 'dark', bg: DARK_BG, stored: 'dark' });
  await expect(toggle(page)).toHaveAccessibleName('Theme: Dark');

  await toggle(page).click();
  await expect(toggle(page)).toHaveAccessibleName('Theme: System');
  expect(await themeOf(page), 'back to the system').toMatchObject({
    attr: null,
    bg: LIGHT_BG,
    scheme: 'light dark',
    stored: null,
    bars: [LIGHT_BAR, DARK_BAR],
  });
});

test('the button works before the WASM has loaded', async ({ page }) => {
  // The WASM never arrives: the page stays server-rendered, scripts run.
  await page.route('**/pkg/vigil.wasm', () => {});
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${vigil().url}/`);
  await expect(toggle(page)).toBeVisible();
  await toggle(page).click();
  await toggle(page).click();
  expect(await themeOf(page)).toMatchObject({ attr: 'dark', bg: DARK_BG, stored: 'dark' });
  await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
});

test('another tab changing the theme changes this one', async ({ page, context }) => {
  await openLiveOverview(page, vigil().url);
  const other = await context.newPage();
  await openLiveOverview(other, vigil().url);
  await toggle(other).click();
  await toggle(other).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(toggle(page)).toHaveAccessibleName('Theme: Dark');
  await other.close();
});

// Keyboard use: the skip link comes first and moves focus to the page,
// every control shows where focus is, and changing figures keep their width.

import type { Page } from '@playwright/test';
import { openLiveOverview } from './dashboard';
import { expect, test } from './fixtures';
import { openPage, PAGES, useVigilWithChecks } from './pages';

const vigil = useVigilWithChecks();

/** The focused element: a short description and whether a focus ring is drawn. */
async function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { what: 'body', ring: false, inMain: false, id: '' };
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const shadow = style.boxShadow !== 'none';
    const text = (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return {
      what: `${el.tagName.toLowerCase()} "${text}"`,
      ring: outline || shadow,
      inMain: !!el.closest('main'),
      id: el.id,
    };
  });
}

test('"Skip to content" is the first stop and moves focus to the page', async ({ page }) => {
  // The explorer: its page has controls of its own for the Tab after the skip.
  const explore = PAGES.find((p) => p.name === 'explore')!;
  await openPage(page, vigil().url, explore);
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip, 'off screen until focused').not.toBeInViewport();

  await page.keyboard.press('Tab');
  await expect(skip).toBeFocused();
  await expect(skip, 'shown when focused').toBeInViewport();
  expect((await focused(page)).ring, 'the skip link shows focus').toBe(true);

  await page.keyboard.press('Enter');
  expect((await focused(page)).id, 'focus is on <main>').toBe('main');
  await expect(page).toHaveURL(/#main$/);
  // The next Tab goes into the page, not back to the header.
  await page.keyboard.press('Tab');
  expect((await focused(page)).inMain, `after the skip link Tab lands in the page, on ${(await focused(page)).what}`).toBe(
    true,
  );
});

// Each page's tab order from the top, as far as the first stops in the page
// itself: every stop must draw a focus ring.
for (const p of PAGES) {
  test.describe(p.name, () => {
    test.use({ allowedErrors: p.allowedErrors ?? {} });

    test(`${p.name}: every stop of the Tab key shows where focus is`, async ({ page }) => {
      await openPage(page, vigil().url, p);
      const seen: string[] = [];
      let inMain = 0;
      for (let i = 0; i < 25 && inMain < 5; i++) {
        await page.keyboard.press('Tab');
        const f = await focused(page);
        if (f.what === 'body') break;
        seen.push(f.what);
        expect(f.ring, `focus ring on stop ${i + 1}, ${f.what} (stops so far: ${seen.join(', ')})`).toBe(true);
        if (f.inMain) inMain++;
      }
      expect(seen.length, `Tab stops: ${seen.join(', ')}`).toBeGreaterThanOrEqual(5);
    });
  });
}

test('changing figures use tabular digits', async ({ page }) => {
  await openLiveOverview(page, vigil().url);
  for (const id of ['cpu-total', 'mem-used', 'load-1', 'last-update', 'connection-state']) {
    const numeric = await page.getByTestId(id).first().evaluate((el) => getComputedStyle(el).fontVariantNumeric);
    expect(numeric, id).toContain('tabular-nums');
  }
});

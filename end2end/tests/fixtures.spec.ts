// The error watch of tests/fixtures.ts sees what it must, and only that.

import { BrowserErrors, expect, test } from './fixtures';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test('console errors, page errors, failed requests and 4xx answers are reported; allowed ones are not', async ({
  browser,
}) => {
  const base = vigil().url;
  // Without the service worker, so that page.route sees the page's requests.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const watch = new BrowserErrors(context);
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  expect(watch.entries, 'a healthy page reports nothing').toEqual([]);

  // A request to Vigil that never gets an answer.
  await page.route('**/vendor/gone.js', (route) => route.abort('connectionrefused'));
  await page.evaluate(async (url) => {
    console.error('something broke');
    setTimeout(() => {
      throw new Error('uncaught in a timer');
    });
    await fetch(`${url}/api/v1/latest?series=no_such_series`);
    await fetch(`${url}/vendor/gone.js`).catch(() => undefined);
    // Another origin (a port the browser refuses to use).
    await fetch('http://127.0.0.1:9/').catch(() => undefined);
  }, base);
  await expect.poll(() => watch.entries.length).toBeGreaterThanOrEqual(5);

  const lines = watch.entries.join('\n');
  expect(lines).toContain('console.error: something broke');
  expect(lines).toMatch(/^pageerror: Error: uncaught in a timer/m);
  expect(lines).toMatch(/^response: 404 GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/latest\?series=no_such_series$/m);
  expect(lines).toMatch(/^requestfailed: GET http:\/\/127\.0\.0\.1:\d+\/vendor\/gone\.js net::ERR_CONNECTION_REFUSED$/m);
  // Another origin's failure is not Vigil's (the page still logs it to the console).
  expect(lines).not.toMatch(/^(requestfailed|response): .*127\.0\.0\.1:9\//m);

  const allowed = {
    'logged on purpose': /^console\.error: something broke/,
    'thrown on purpose': /^pageerror: Error: uncaught in a timer/,
    'asked for on purpose': /\b404\b.*no_such_series/,
    'refused on purpose': /127\.0\.0\.1:9\/|vendor\/gone\.js/,
  };
  expect(watch.unexpected(allowed)).toEqual([]);
  expect(watch.unexpected({ 'only the 404': /\b404\b.*no_such_series/ }).length).toBeGreaterThan(0);
  await context.close();
});

// The public status page with JavaScript off: the server's HTML is the
// whole page (banner, checks, their 90-day bars, incidents), no script needed.

import { expect, test } from './fixtures';
import { useVigilServer } from './server';

const vigil = useVigilServer(
  () => `
[[checks]]
name = "website"
type = "tcp"
address = "127.0.0.1:1"
interval = "1s"
timeout = "500ms"
retries = 0
confirm = 1

[[status_pages]]
slug = "public"
title = "Example status"
checks = ["website"]
`,
  { exposed: true },
);

test('the status page is complete without JavaScript', async ({ page }) => {
  await page.goto(`${vigil().url}/status/public`);
  await expect(page.getByRole('heading', { name: 'Example status', level: 1 })).toBeVisible();
  // A refused port: the page says the one check is out, and nothing of why.
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId('banner').textContent();
    }, { timeout: 10_000 })
    .toBe('Major outage');
  await expect(page.locator('[data-check="website"]')).toHaveAttribute('data-state', 'down');
  await expect(page.locator('[data-check="website"] .bar li')).toHaveCount(90);
  await expect(page.locator('body')).not.toContainText('refused');
  await expect(page.getByText('No incidents in the last 90 days.')).toBeVisible();
});

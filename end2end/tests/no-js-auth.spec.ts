// Signing up, in and out with JavaScript off: the forms post to the server,
// which answers with redirects, so accounts need no scripts.

import { expect, test } from './fixtures';
import { useVigilServer } from './server';

const vigil = useVigilServer(undefined, { exposed: true });
test.describe.configure({ mode: 'serial' });

test('setup, sign-out and sign-in work without JavaScript', async ({ page }) => {
  await page.goto(`${vigil().url}/explore`);
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel('User name').fill('ops');
  await page.getByLabel('Password', { exact: true }).fill('no-script-pass-1');
  await page.getByLabel('Password again').fill('no-script-pass-1');
  await page.getByRole('button', { name: 'Create account and sign in' }).click();
  await expect(page).toHaveURL(`${vigil().url}/`);
  await expect(page.getByTestId('account')).toContainText('ops');
  await expect(page.getByTestId('mem-used')).toHaveText(/\d/);

  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(`${vigil().url}/checks`);
  await expect(page).toHaveURL(/\/login\?next=\/checks$/);
  await page.getByLabel('User name').fill('ops');
  await page.getByLabel('Password', { exact: true }).fill('no-script-pass-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${vigil().url}/checks`);
  await expect(page.getByRole('heading', { name: 'Checks' })).toBeVisible();
});

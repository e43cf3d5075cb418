// Accounts in a real browser, against a Vigil bound beyond loopback (so it
// asks for accounts): the first-run setup, signing in and out, a viewer
// kept out of the admin page, and the live connection, which works once
// signed in and is refused after signing out. One server for the file; the
// tests run in order and build on each other.

import { expect, test } from './fixtures';
import { useVigilServer } from './server';
import type { Page } from '@playwright/test';

// More sign-in attempts a minute than the default five: the tests sign in
// many times from one address (the limit itself is tested in server/tests/auth.rs).
const vigil = useVigilServer(() => '[auth]\nattempts_per_minute = 60\n', { exposed: true });
test.describe.configure({ mode: 'serial' });

const ADMIN = { name: 'root', password: 'admin-pass-e2e-1' };
const VIEWER = { name: 'eve', password: 'viewer-pass-e2e-2' };

async function signIn(page: Page, who: { name: string; password: string }): Promise<void> {
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function expectConnected(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'connected');
}

test('the first visit sets up the admin account, then the dashboard is live', async ({ page }) => {
  await page.goto(`${vigil().url}/`);
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByTestId('setup-required')).toContainText('shows no data until an admin account exists');
  await expect(page.getByTestId('connection-state')).toHaveCount(0);

  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Password again').fill('something-else');
  await page.getByRole('button', { name: 'Create account and sign in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('The two passwords differ.');

  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Password again').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create account and sign in' }).click();
  await expect(page).toHaveURL(`${vigil().url}/`);
  await expectConnected(page);
  await expect(page.getByTestId('account')).toContainText(ADMIN.name);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'vigil_session');
  expect(session, 'a session cookie').toBeDefined();
  expect(session!.httpOnly).toBe(true);
  expect(session!.sameSite).toBe('Strict');
  expect(await page.evaluate(() => document.cookie)).not.toContain('vigil_session');
});

test('an admin adds a viewer on the users page', async ({ page }) => {
  await page.goto(`${vigil().url}/checks`);
  await expect(page).toHaveURL(/\/login\?next=\/checks$/);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(`${vigil().url}/checks`);
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const form = page.locator('.admin-add');
  await form.getByLabel('User name').fill(VIEWER.name);
  await form.getByLabel('Password', { exact: true }).fill(VIEWER.password);
  await form.getByLabel('Password again').fill(VIEWER.password);
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Add' }).click();
  const row = page.locator(`[data-testid="account-row"][data-name="${VIEWER.name}"]`);
  await expect(row).toContainText('viewer');
});

test.describe('refusals the browser reports', () => {
  test.use({
    allowedErrors: {
      'a viewer asks for the admin page and gets 403': /^response: 403 GET http:\/\/127\.0\.0\.1:\d+\/admin\/users$/,
      'the browser logs the 403': /^console\.error: Failed to load resource: .* 403 \(Forbidden\) \(http:\/\/127\.0\.0\.1:\d+\/admin\/users:/,
      'removing the last admin is refused (409)': /^response: 409 POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/users\/remove$/,
      'the browser logs the refused removal': /^console\.error: Failed to load resource: .* 409 \(Conflict\) \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/users\/remove:/,
      'a wrong current password is refused (400)': /^response: 400 POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/users\/password$/,
      'the browser logs the refused change': /^console\.error: Failed to load resource: .* 400 \(Bad Request\) \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/users\/password:/,
      'after signing out the socket is refused (the test opens it on purpose)':
        /^console\.error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed: (.*401|HTTP Authentication failed)/,
    },
  });

  test('the last admin cannot be removed', async ({ page }) => {
    await page.goto(`${vigil().url}/login?next=/admin/users`);
    await signIn(page, ADMIN);
    await expect(page).toHaveURL(/\/admin\/users$/);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await page.getByRole('button', { name: `Remove ${ADMIN.name}` }).click();
    await expect(page.getByTestId('form-error')).toHaveText('That would leave no admin account.');
    await expect(page.locator(`[data-testid="account-row"][data-name="${ADMIN.name}"]`)).toHaveCount(1);
  });

  test('a wrong password is refused with a clear message', async ({ page }) => {
    await page.goto(`${vigil().url}/login`);
    await signIn(page, { name: VIEWER.name, password: 'not-the-password' });
    await expect(page.getByTestId('form-error')).toHaveText('Wrong user name or password.');
    await expect(page).toHaveURL(/\/login\?next=\/&error=credentials$/);
  });

  test('a viewer sees the dashboard live but not the admin page', async ({ page }) => {
    await page.goto(`${vigil().url}/login`);
    await signIn(page, VIEWER);
    await expectConnected(page);
    await expect(page.getByTestId('account')).toContainText(VIEWER.name);
    await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
    const admin = await page.goto(`${vigil().url}/admin/users`);
    expect(admin?.status()).toBe(403);
    await expect(page.getByRole('heading', { name: 'Admins only' })).toBeVisible();
    const api = await page.request.get(`${vigil().url}/api/v1/users`);
    expect(api.status()).toBe(403);
  });

  test('signing out ends the session: pages, the API and the socket refuse it', async ({ page }) => {
    await page.goto(`${vigil().url}/login`);
    await signIn(page, ADMIN);
    await expectConnected(page);
    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByTestId('connection-state')).toHaveCount(0);
    expect((await page.context().cookies()).find((c) => c.name === 'vigil_session')).toBeUndefined();
    const api = await page.request.get(`${vigil().url}/api/v1/snapshot`);
    expect(api.status()).toBe(401);
    const refused = await page.evaluate(
      (url) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve(-1);
          ws.onclose = (event) => resolve(event.code);
        }),
      vigil().url.replace('http', 'ws') + '/ws',
    );
    expect(refused, 'the upgrade is refused (1006: no WebSocket was opened)').toBe(1006);
    await page.goto(`${vigil().url}/explore`);
    await expect(page).toHaveURL(/\/login\?next=\/explore$/);
  });

  // Last: it changes the viewer's password.
  test('a viewer changes their own password on the account page', async ({ browser, page }) => {
    // A second browser signed in as the viewer: its session ends with the change.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto(`${vigil().url}/login`);
    await signIn(otherPage, VIEWER);
    await expectConnected(otherPage);

    await page.goto(`${vigil().url}/login`);
    await signIn(page, VIEWER);
    await expectConnected(page);
    await page.getByTestId('account-link').click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId('account-who')).toContainText(`${VIEWER.name}, viewer`);
    const changed = 'viewer-changed-e2e-3';
    // A session alone does not change the password: the current one is asked for.
    await page.getByLabel('Current password').fill('not-the-password');
    await page.getByLabel('Password', { exact: true }).fill(changed);
    await page.getByLabel('Password again').fill(changed);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByTestId('form-error')).toHaveText('The current password is wrong.');
    await expect(page.getByTestId('password-changed')).toBeHidden();
    await page.getByLabel('Current password').fill(VIEWER.password);
    await page.getByLabel('Password', { exact: true }).fill(changed);
    await page.getByLabel('Password again').fill(changed);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByTestId('password-changed')).toBeVisible();
    // This session stays; the other one is signed out; the new password works.
    expect((await page.request.get(`${vigil().url}/api/v1/me`)).status()).toBe(200);
    expect((await otherPage.request.get(`${vigil().url}/api/v1/me`)).status()).toBe(401);
    // The other page was told (its socket closed with 1008): it stops, says
    // so, and offers to sign in again, back to where it was.
    const ended = otherPage.getByTestId('session-ended');
    await expect(ended).toBeVisible();
    await expect(ended).toContainText('Your session has ended');
    await expect(ended.getByRole('link', { name: 'Sign in again' })).toHaveAttribute('href', '/login?next=/');
    await expect(otherPage.getByTestId('connection-state')).toHaveAttribute('data-state', 'disconnected');
    // It does not keep knocking: no socket is opened again (the first retry
    // used to come within 0.5 s, and be refused).
    const sockets: string[] = [];
    otherPage.on('websocket', (ws) => sockets.push(ws.url()));
    await otherPage.waitForTimeout(2_000);
    expect(sockets, 'no new socket after the session ended').toEqual([]);
    await expect(otherPage.getByTestId('connection-state')).toHaveAttribute('data-state', 'disconnected');
    await other.close();
    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(/\/login$/);
    await signIn(page, { name: VIEWER.name, password: changed });
    await expectConnected(page);
  });
});

// Every page of Vigil a person can open, for the specs that go through all
// of them (accessibility, screenshots, phone layout, no-JS navigation).
// A new route gets one entry here and is covered by all of those.

import * as http from 'node:http';
import type { Page } from '@playwright/test';
import { expect, test, type AllowedErrors } from './fixtures';
import { freePort, useVigilServer, type VigilServer } from './server';

export interface AppPage {
  /** Short name for test titles and file names. */
  name: string;
  /** Path to open. */
  path: string;
  /** HTTP status of the document. */
  status: number;
  /** What the browser reports when this page is opened on purpose (a 404 document). */
  allowedErrors?: AllowedErrors;
  /** Whether the page streams live data (false: the sign-in pages, which have no connection badge). */
  live?: boolean;
  /** With JavaScript on: waits until the page shows what it is for (beyond hydration). */
  settled?: (page: Page) => Promise<void>;
}

const NOT_FOUND = '/no/such/page';

export const PAGES: AppPage[] = [
  {
    name: 'overview',
    path: '/',
    status: 200,
    settled: async (page) => {
      await expect(page.getByTestId('cpu-total')).toHaveText(/^\d+(\.\d+)?%$/);
    },
  },
  {
    name: 'explore',
    path: '/explore',
    status: 200,
    settled: async (page) => {
      // The chart has drawn (uPlot's DOM is part of what is checked).
      await expect
        .poll(async () => Number((await page.getByTestId('explorer-chart').getAttribute('data-points')) ?? 0), {
          message: 'explorer chart should draw',
          timeout: 20_000,
        })
        .toBeGreaterThan(0);
    },
  },
  {
    name: 'checks',
    path: '/checks',
    status: 200,
    settled: async (page) => {
      // web and db (and the refused one, where a spec adds it).
      await expect(page.getByTestId('check-row').nth(1)).toBeVisible();
    },
  },
  { name: 'check', path: '/checks/web', status: 200 },
  {
    // Without [fleet]: this host alone.
    name: 'hosts',
    path: '/hosts',
    status: 200,
    settled: async (page) => {
      await expect(page.getByTestId('host-row')).toHaveCount(1);
      await expect(page.getByTestId('hosts-alone')).toContainText('[fleet]');
    },
  },
  {
    name: 'alerts',
    path: '/alerts',
    status: 200,
    settled: async (page) => {
      await expect(page.locator('[data-testid="rule-row"][data-name="check-down"]')).toBeVisible();
    },
  },
  // Vigil runs open here (loopback, no account), so the account pages show
  // as they do before the first account exists.
  { name: 'login', path: '/login', status: 200, live: false },
  { name: 'setup', path: '/setup', status: 200, live: false },
  {
    name: 'account',
    path: '/account',
    status: 200,
    settled: async (page) => {
      await expect(page.getByTestId('account-who')).toContainText('runs open');
    },
  },
  {
    name: 'users',
    path: '/admin/users',
    status: 200,
    settled: async (page) => {
      await expect(page.getByRole('button', { name: 'Add' })).toBeVisible();
    },
  },
  {
    name: 'not-found',
    path: NOT_FOUND,
    status: 404,
    allowedErrors: {
      // Nothing else may fail.
      'the document itself answers 404 (response, and the console line about it)': new RegExp(
        `\\b404\\b.*${NOT_FOUND.replace(/\//g, '\\/')}\\b`,
      ),
    },
  },
];

/**
 * Starts Vigil for a spec that goes through PAGES: with two checks of
 * outside services that answer (an HTTP server and a TCP listener the spec
 * runs), so that the checks pages have something real to show.
 */
export function useVigilWithChecks(options: { refused?: boolean } = {}): () => VigilServer {
  let web: http.Server | undefined;
  let port = 0;
  // A port nothing listens on: a check of it is down, "connection refused".
  let closed = 0;
  test.beforeAll(async () => {
    port = await freePort();
    closed = await freePort();
    web = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => web!.listen(port, '127.0.0.1', resolve));
  });
  test.afterAll(async () => {
    await new Promise((resolve) => (web ? web.close(resolve) : resolve(undefined)));
  });
  return useVigilServer(
    () => `
[[checks]]
name = "web"
type = "http"
url = "http://127.0.0.1:${port}/"
interval = "1s"
timeout = "500ms"
keyword = "ok"

[[checks]]
name = "db"
type = "tcp"
address = "127.0.0.1:${port}"
interval = "1s"
timeout = "500ms"
${
  options.refused
    ? `
[[checks]]
name = "payments-gateway-primary"
type = "http"
url = "http://127.0.0.1:${closed}/health"
interval = "1s"
timeout = "500ms"
retries = 0
`
    : ''
}`,
  );
}

/**
 * Opens `p` and waits until it is hydrated, live and settled (with
 * JavaScript on) or just loaded (with it off).
 */
export async function openPage(page: Page, baseUrl: string, p: AppPage, js = true): Promise<void> {
  const path = p.path;
  const response = await page.goto(`${baseUrl}${path}`);
  expect(response?.status(), `status of GET ${path}`).toBe(p.status);
  if (!js) return;
  await expect(page.locator('html'), `${path} should hydrate`).toHaveAttribute('data-hydrated', 'true', {
    timeout: 30_000,
  });
  if (p.live === false) {
    await expect(page.getByTestId('connection-state'), `${path} has no live connection`).toHaveCount(0);
  } else {
    await expect(page.getByTestId('connection-state'), `${path} should go live`).toHaveAttribute(
      'data-state',
      'connected',
    );
  }
  await p.settled?.(page);
}

/** Width of the document beyond the viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<{ overflow: number; offenders: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    // The widest elements that stick out, to say what to fix.
    const offenders = Array.from(document.querySelectorAll('body *'))
      .map((el) => ({ el, right: el.getBoundingClientRect().right }))
      .filter((e) => e.right > width + 1)
      .sort((a, b) => b.right - a.right)
      .slice(0, 5)
      .map(({ el, right }) => {
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.split(/\s+/).join('.')}` : '';
        return `${el.tagName.toLowerCase()}${cls} (right edge ${Math.round(right)} px)`;
      });
    return { overflow: document.documentElement.scrollWidth - width, offenders };
  });
}

// Security headers as the browser sees them: every page runs, hydrates, goes
// live and loads its lazy code (a few files) under the Content-Security-Policy
// without a single violation; the policy is really enforced (an inline script without
// the nonce is refused); static files and the service worker carry the
// headers too.

import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { openPage, PAGES, useVigilWithChecks } from './pages';

const vigil = useVigilWithChecks();

/** Records every CSP violation of the page, from before its first script. */
async function recordViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
}

function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
}

/** The script-src directive of a policy, and its nonce. */
function scriptSource(csp: string): { directive: string; nonce: string } {
  const directive = csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('script-src'));
  expect(directive, `script-src in ${csp}`).toBeTruthy();
  const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(directive!)?.[1];
  expect(nonce, `a nonce in ${directive}`).toBeTruthy();
  return { directive: directive!, nonce: nonce! };
}

for (const p of PAGES) {
  test.describe(p.name, () => {
    test.use({ allowedErrors: p.allowedErrors ?? {} });

    test('runs under the CSP without a violation', async ({ page }) => {
      await recordViolations(page);
      const response = page.waitForResponse((r) => new URL(r.url()).pathname === p.path && r.request().isNavigationRequest());
      await openPage(page, vigil().url, p);
      const headers = (await response).headers();
      const { directive, nonce } = scriptSource(headers['content-security-policy']);
      expect(directive).toContain("'wasm-unsafe-eval'");
      expect(directive).not.toContain("'unsafe-inline'");
      expect(directive).not.toMatch(/\s'unsafe-eval'/);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['referrer-policy']).toBe('same-origin');
      // Every inline script of the document carries this response's nonce
      // (browsers hide the attribute, the property keeps it).
      const inline = await page.evaluate(() =>
        Array.from(document.scripts)
          .filter((s) => !s.src)
          .map((s) => s.nonce),
      );
      expect(inline.length, 'the document has its hydration script').toBeGreaterThan(0);
      for (const n of inline) expect(n).toBe(nonce);
      expect(await violations(page)).toEqual([]);
    });

    // Lazy routes come in groups (app/src/pages/mod.rs): a page fetches the
    // main module, its group's module and the few chunks groups share. One
    // module per route made a first visit fetch 22 to 73 small files, each
    // fetched, compiled and linked on the main thread.
    test('fetches at most nine WASM files on a first visit', async ({ page }) => {
      const wasm = new Set<string>();
      page.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path.endsWith('.wasm')) wasm.add(path);
      });
      await openPage(page, vigil().url, p);
      expect(wasm.size, [...wasm].join(', ')).toBeGreaterThan(0);
      expect(wasm.size, [...wasm].join(', ')).toBeLessThanOrEqual(9);
    });
  });
}

test('the explorer loads its lazy chunk when reached by navigation, under the CSP', async ({ page }) => {
  await recordViolations(page);
  await openPage(page, vigil().url, PAGES[0]);
  const chunk = page.waitForResponse((r) => /\/pkg\/.*explore.*\.wasm$/.test(new URL(r.url()).pathname));
  await page.getByRole('link', { name: 'Explore' }).click();
  expect((await chunk).status()).toBe(200);
  await expect
    .poll(async () => Number((await page.getByTestId('explorer-chart').getAttribute('data-points')) ?? 0), {
      message: 'the explorer chart should draw after a client-side navigation',
      timeout: 20_000,
    })
    .toBeGreaterThan(0);
  expect(await violations(page)).toEqual([]);
});

test.describe('the policy is enforced', () => {
  test.use({
    allowedErrors: {
      'the test injects an inline script without the nonce, which must be refused': /Executing inline script violates/,
    },
  });

  test('an inline script without the nonce does not run', async ({ page }) => {
    await recordViolations(page);
    await openPage(page, vigil().url, PAGES[0]);
    const ran = await page.evaluate(() => {
      const w = window as unknown as { __injected?: boolean };
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true;';
      document.head.append(s);
      return w.__injected === true;
    });
    expect(ran, 'the injected script must not run').toBe(false);
    await expect.poll(() => violations(page)).toEqual([expect.stringContaining('script-src')]);
  });
});

test('static files, the service worker and the API carry the headers', async ({ request }) => {
  for (const path of ['/pwa.js', '/pkg/vigil.css', '/manifest.webmanifest', '/sw.js', '/api/v1/series', '/healthz']) {
    const res = await request.get(`${vigil().url}${path}`);
    expect(res.status(), path).toBe(200);
    const headers = res.headers();
    expect(headers['content-security-policy'], path).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options'], path).toBe('nosniff');
    expect(headers['x-frame-options'], path).toBe('DENY');
  }
});

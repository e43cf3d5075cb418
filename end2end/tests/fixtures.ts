// The `test` every spec imports: Playwright's, with a watch on the browser.
//
// Any console error, uncaught page error, failed request or same-origin
// response with status >= 400 in the test's browser context fails the test
// after it ran, with the list of what happened. A test that causes such
// errors on purpose (stopping the server, asking for a missing page)
// declares them, as narrowly as it can, each with the reason:
//
//     test.use({
//       allowedErrors: {
//         'the page is asked for a missing path': /\b404\b.*\/no\/such\/page\b/,
//         'the server is stopped': /WebSocket connection .* ERR_CONNECTION_REFUSED/,
//       },
//     });
//
// (A list, `[/one/]`, works too, but only with a single pattern: Playwright
// reads a two-element array given to `test.use` as a fixture definition.)
// Each entry is matched against one line of the report, which reads like
//     console.error: Failed to load resource: ... (http://127.0.0.1:1234/x:0:0)
//     pageerror: TypeError: ...
//     requestfailed: GET http://127.0.0.1:1234/ws net::ERR_CONNECTION_REFUSED
//     response: 404 GET http://127.0.0.1:1234/no/such/page
// so a pattern can name the kind, the status, the method and the path.

import { test as base, expect, type BrowserContext, type TestInfo } from '@playwright/test';

export { expect };

/** What the browser reported while a test ran. */
export class BrowserErrors {
  readonly entries: string[] = [];

  /**
   * Starts collecting from every page (and service worker) of `context`.
   * `scriptsOff`: the context runs with JavaScript disabled, so the browser
   * refuses the page's scripts (failure "csp"); those are not errors.
   */
  constructor(context: BrowserContext, { scriptsOff = false }: { scriptsOff?: boolean } = {}) {
    // Requests count when they go to an origin a page was opened from:
    // everything Vigil serves. (A page's URL alone is not enough: during its
    // first navigation it is still about:blank.)
    const opened = new Set<string>();
    context.on('request', (request) => {
      if (request.isNavigationRequest()) opened.add(originOf(request.url()));
    });
    const origins = () => new Set([...opened, ...context.pages().map((p) => originOf(p.url()))]);
    context.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      const where = loc.url ? ` (${loc.url}:${loc.lineNumber}:${loc.columnNumber})` : '';
      this.entries.push(`console.error: ${msg.text()}${where}`);
    });
    context.on('weberror', (err) => {
      const e = err.error();
      this.entries.push(`pageerror: ${e.stack || `${e.name}: ${e.message}`}`);
    });
    context.on('requestfailed', (request) => {
      const failure = request.failure()?.errorText ?? 'unknown error';
      // Cancelled by the page itself (a navigation, a superseded fetch): not a fault.
      if (failure === 'net::ERR_ABORTED') return;
      if (scriptsOff && failure === 'csp') return;
      if (!origins().has(originOf(request.url()))) return;
      this.entries.push(`requestfailed: ${request.method()} ${request.url()} ${failure}`);
    });
    context.on('response', (response) => {
      if (response.status() < 400) return;
      if (!origins().has(originOf(response.url()))) return;
      this.entries.push(`response: ${response.status()} ${response.request().method()} ${response.url()}`);
    });
  }

  /** The entries no pattern in `allowed` matches. */
  unexpected(allowed: AllowedErrors): string[] {
    const patterns = Object.values(allowed);
    return this.entries.filter((line) => !patterns.some((re) => re.test(line)));
  }

  /** Fails (through `expect`) when an entry is not allowed; attaches the full list either way. */
  async check(allowed: AllowedErrors, testInfo: TestInfo): Promise<void> {
    if (this.entries.length > 0) {
      await testInfo.attach('browser-errors.txt', { body: this.entries.join('\n'), contentType: 'text/plain' });
    }
    const unexpected = this.unexpected(allowed);
    const list = unexpected.map((line, i) => `  ${i + 1}. ${line}`).join('\n');
    const reasons = Object.entries(allowed).map(([why, re]) => `${re}${Array.isArray(allowed) ? '' : ` (${why})`}`);
    expect(
      unexpected,
      `the browser reported ${unexpected.length} error(s) this test does not allow:\n${list}\n` +
        `allowed here: ${reasons.length ? reasons.join('; ') : 'nothing'}`,
    ).toEqual([]);
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

/** Report lines (see above) that do not fail a test: by reason, or a list of one. */
export type AllowedErrors = Record<string, RegExp> | RegExp[];

export interface ErrorOptions {
  /** What the test causes on purpose. Keep the patterns narrow, and say why. */
  allowedErrors: AllowedErrors;
}

export const test = base.extend<ErrorOptions>({
  allowedErrors: [{}, { option: true }],
  // The watch sits on the test's browser context, so every page it opens is
  // covered, and the check runs before the context closes its pages (which
  // would cancel requests still under way).
  context: async ({ context, allowedErrors, javaScriptEnabled }, use, testInfo) => {
    const errors = new BrowserErrors(context, { scriptsOff: javaScriptEnabled === false });
    await use(context);
    // A test that failed already has its reason; the list is attached anyway.
    await errors.check(allowedErrors, testInfo);
  },
});

import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// The load-time benchmark (tests/hydrate.bench.ts): the same browser and
// server setup as the test suite, but only the *.bench.ts files, which the
// suite itself never runs. `npm run bench`.
export default defineConfig({
  ...base,
  testMatch: '**/*.bench.ts',
  retries: 0,
  // Playwright's trace recorder snapshots the DOM inside the page as it
  // changes: it would be measured along with the page.
  use: { ...base.use, trace: 'off', screenshot: 'off' },
  projects: [{ name: 'desktop', use: { viewport: { width: 1280, height: 800 } } }],
});

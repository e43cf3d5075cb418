import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// The load-time benchmark (tests/hydrate.bench.ts): the same browser and
// server setup as the test suite, but only the *.bench.ts files, which the
// suite itself never runs. `npm run bench`.
export default defineConfig({
  ...base,
  testMatch: '**/*.bench.ts',
  retries: 0,
  projects: [{ name: 'desktop', use: { viewport: { width: 1280, height: 800 } } }],
});

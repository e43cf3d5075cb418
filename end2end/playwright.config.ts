import { defineConfig } from '@playwright/test';

// The tests start and stop a real Vigil server (see tests/server.ts), so they
// run one at a time. The browser is the system Chromium; Playwright's own
// browser downloads are not used.

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  // No retries, in CI either: a test that passes only on a second try is a
  // bug to fix, not a pass.
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    video: 'off',
  },
  // Three ways to open Vigil, without running every spec three times:
  // - desktop: every spec except those written for the other two;
  // - phone: a touch screen 390 px wide (still Chromium): the phone spec
  //   (layout, navigation) and the screenshots;
  // - no-js: JavaScript off, server-rendered pages only: the no-js specs.
  projects: [
    {
      name: 'desktop',
      use: { viewport: { width: 1280, height: 800 } },
      testIgnore: [/no-js.*\.spec\.ts$/, /phone\.spec\.ts$/],
    },
    {
      name: 'phone',
      use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
      testMatch: [/phone\.spec\.ts$/, /screenshots\.spec\.ts$/],
    },
    {
      name: 'no-js',
      use: { viewport: { width: 1280, height: 800 }, javaScriptEnabled: false },
      testMatch: /no-js.*\.spec\.ts$/,
    },
  ],
});

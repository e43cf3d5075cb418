// Screenshots of every page (tests/pages.ts) in the light and the dark
// theme, in the project's viewport (run by `desktop` and `phone`). They are
// kept as artifacts: test-results/<test>/<page>-<theme>-<project>.png, also
// attached to the HTML report.
//
// UPDATE_SCREENSHOTS=1 also writes the README's pictures of the overview to
// docs/screenshots/ (after letting some history build up):
//
//     cd end2end && UPDATE_SCREENSHOTS=1 npx playwright test tests/screenshots.spec.ts

import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from './fixtures';
import { openPage, PAGES, useVigilWithChecks } from './pages';
import { REPO_ROOT } from './server';

const vigil = useVigilWithChecks();
// Roughly when the server started (its beforeAll hook runs first).
let serverStarted = 0;
test.beforeAll(() => {
  serverStarted = Date.now();
});

const UPDATE = !!process.env.UPDATE_SCREENSHOTS;
const DOCS_DIR = path.join(REPO_ROOT, 'docs', 'screenshots');
/** The README's pictures: which one each project writes. */
const README_SHOTS: Record<string, { page: string; scheme: 'light' | 'dark'; file: string }[]> = {
  desktop: [
    { page: 'overview', scheme: 'light', file: 'overview-desktop-light.png' },
    { page: 'overview', scheme: 'dark', file: 'overview-desktop-dark.png' },
  ],
  phone: [{ page: 'overview', scheme: 'dark', file: 'overview-phone-dark.png' }],
};

for (const p of PAGES) {
  test.describe(p.name, () => {
    test.use({ allowedErrors: p.allowedErrors ?? {} });

    test(`${p.name} in light and dark`, async ({ page }, testInfo) => {
      const project = testInfo.project.name;
      const docs = UPDATE ? (README_SHOTS[project] ?? []).filter((s) => s.page === p.name) : [];
      if (docs.length > 0) {
        // Sparklines with some history look like the page a person keeps open.
        test.setTimeout(120_000);
        await page.waitForTimeout(Math.max(0, 30_000 - (Date.now() - serverStarted)));
      }

      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await openPage(page, vigil().url, p);
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect(bg, `${scheme} palette`).toBe(scheme === 'light' ? 'rgb(245, 247, 248)' : 'rgb(13, 17, 23)');

        const name = `${p.name}-${scheme}-${project}.png`;
        const file = testInfo.outputPath(name);
        await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
        await testInfo.attach(name, { path: file, contentType: 'image/png' });

        for (const shot of docs.filter((s) => s.scheme === scheme)) {
          // The first screen, as a person sees it on opening the page.
          const out = testInfo.outputPath(shot.file);
          await page.screenshot({ path: out, animations: 'disabled', caret: 'hide' });
          mkdirSync(DOCS_DIR, { recursive: true });
          copyFileSync(out, path.join(DOCS_DIR, shot.file));
          testInfo.annotations.push({ type: 'screenshot', description: `docs/screenshots/${shot.file}` });
        }
      }
    });
  });
}

import { expect, test } from '@playwright/test';
import {
  expectNextSample,
  expectNoConsoleErrors,
  expectNoPageErrors,
  expectWellFormedNumbers,
  keepScreenshot,
  lastUpdateTs,
  openLiveOverview,
  textOf,
  watchErrors,
} from './dashboard';
import { useVigilServer } from './server';

const vigil = useVigilServer();

test('overview hydrates, connects and updates live', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const ov = await openLiveOverview(page, vigil().url);

  const first = await lastUpdateTs(ov);
  expect(first, 'last-update data-ts should be Unix ms').not.toBeNaN();
  const before = {
    cpu: await textOf(ov.cpuTotal),
    lastUpdate: await textOf(ov.lastUpdate),
    seq: await ov.lastUpdate.getAttribute('data-seq'),
  };

  // Two fresh samples in a row: the page is live, not just refreshed once after hydration.
  const second = await expectNextSample(ov, first, 5_000, 'first live tick');
  await expectNextSample(ov, second, 5_000, 'second live tick');

  const after = {
    cpu: await textOf(ov.cpuTotal),
    lastUpdate: await textOf(ov.lastUpdate),
    seq: await ov.lastUpdate.getAttribute('data-seq'),
  };
  expect(
    after.cpu !== before.cpu || after.lastUpdate !== before.lastUpdate || after.seq !== before.seq,
    `the shown sample should change (before ${JSON.stringify(before)}, after ${JSON.stringify(after)})`,
  ).toBe(true);

  // Live updates keep the numbers well-formed.
  await expectWellFormedNumbers(ov);
  await expect(ov.connection).toHaveAttribute('data-state', 'connected');

  await keepScreenshot(page, testInfo, 'overview.png');

  expectNoPageErrors(errors);
  expectNoConsoleErrors(errors);
});

test.describe('on a phone-sized screen', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('overview fits the width without horizontal scrolling', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    const ov = await openLiveOverview(page, vigil().url);
    // Let at least one live sample render so the layout has real content.
    await expectNextSample(ov, await lastUpdateTs(ov), 5_000, 'live tick');

    const widths = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(
      widths.scrollWidth,
      `page should not scroll horizontally at 390 px (scrollWidth ${widths.scrollWidth}, clientWidth ${widths.clientWidth})`,
    ).toBeLessThanOrEqual(widths.clientWidth + 1);

    await keepScreenshot(page, testInfo, 'overview-phone.png');

    expectNoPageErrors(errors);
    expectNoConsoleErrors(errors);
  });
});

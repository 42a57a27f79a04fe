/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the
 * whole service: demo data, approvals, an edit, a rejection, the sends in the phone
 * panel, and a STOP that lands in the batch thread. Keeps screenshots in test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoClockStart } from '../../src/bot/console/demo.ts';
import { ScaledClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/main.ts';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run', '--disable-component-update', '--disable-sync'];
/** The demo pacing is in app-clock minutes; at 120x a send follows every second or so. */
const CLOCK_SPEED = 120;
const EDITED = 'Hi there, we saved you a spot! Come by Main Street this week for 10% off your next visit. Reply STOP to opt out';

/**
 * Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Without it the test is
 * skipped, saying so, so that `npm test` runs on a machine with Node alone; CI sets
 * SMSOPS_REQUIRE_BROWSER, which turns a missing browser into a failure instead.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.SMSOPS_REQUIRE_BROWSER) {
  throw new Error(`SMSOPS_REQUIRE_BROWSER is set and there is no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
}

describe.skipIf(!haveBrowser)(`the console in a browser${haveBrowser ? '' : ` (skipped: no Chromium at ${CHROMIUM})`}`, () => {
  let dataDir: string;
  let service: RunningService;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'smsops-console-browser-'));
    const config = loadConfig({ PORT: '0', SMSOPS_DATA_DIR: dataDir, LOG_LEVEL: 'silent', SCHEDULER_TICK_SECONDS: '0.25' });
    service = await startService({ config, log: silentLogger, clock: new ScaledClock(CLOCK_SPEED, demoClockStart(new Date())) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const card = (name: string) => page.locator('#thread article.card').filter({ has: page.getByRole('heading', { name, exact: true }) });
  const text = (selector: string) => page.locator(selector).textContent();

  it('runs a campaign from the demo offer to an opt-out in the thread', { timeout: 300_000 }, async () => {
    await page.goto(service.url);
    await page.getByRole('button', { name: 'Load demo data' }).click();
    await page.getByRole('button', { name: /^Open thread/ }).click();
    await expect.poll(() => page.locator('#thread article.card').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(4);
    const [first, second, edited, rejected] = await page.locator('#thread article.card h3').allTextContents();

    await page.getByRole('button', { name: `Approve message to ${first}` }).click();
    // Keyboard: the card buttons are real buttons.
    await page.getByRole('button', { name: `Approve message to ${second}` }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => card(first!).locator('.status-badge').textContent()).not.toBe('suggested');
    await expect.poll(() => card(second!).locator('.status-badge').textContent()).not.toBe('suggested');

    // Edit: a live segment count, a refused text explained inside the dialog, then a good text.
    await page.getByRole('button', { name: `Edit message to ${edited}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit message' });
    const box = dialog.getByRole('textbox', { name: 'Message text' });
    await box.fill('Hi {{first_name}}, we miss you! Reply STOP to opt out');
    await dialog.getByRole('button', { name: 'Save text' }).click();
    await expect.poll(() => text('#edit-errors')).toMatch(/placeholder/);
    await box.fill(EDITED);
    await expect.poll(() => text('#edit-info')).toMatch(/^1 segment · GSM-7/);
    await box.fill(EDITED + ' ’');
    await expect.poll(() => text('#edit-info')).toMatch(/UCS-2/);
    await box.fill(EDITED);
    await dialog.getByRole('button', { name: 'Save text' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => card(edited!).locator('.sms').textContent()).toBe(EDITED);
    await page.getByRole('button', { name: `Approve message to ${edited}` }).click();

    await page.getByRole('button', { name: `Reject message to ${rejected}` }).click();
    await expect.poll(() => card(rejected!).locator('.status-badge').textContent()).toBe('rejected');

    // The sends arrive in the phone panel; the rejected customer gets nothing; the edited text is what went out.
    const phones = page.locator('#phones article.phone');
    await expect.poll(() => phones.count(), { timeout: 120_000 }).toBe(3);
    const panel = await text('#phones');
    expect(panel).toContain(EDITED);
    expect(panel).not.toContain(rejected!);
    await expect.poll(() => card(first!).locator('.status-badge').textContent(), { timeout: 60_000 }).toMatch(/sent|delivered/);

    // STOP from the first customer's phone lands in the thread as an opt-out.
    await page.getByRole('button', { name: `Send STOP from ${first}` }).click();
    // (The progress post counts "Opt-outs" too: match the opt-out post's own sentence.)
    const optOut = page.locator('#thread article.post').filter({ hasText: 'opted out ("STOP")' });
    await expect.poll(() => optOut.count(), { timeout: 60_000 }).toBe(1);
    expect(await optOut.textContent()).toContain(first!);
    await expect.poll(() => page.locator('#phones article.phone .opted-out').count()).toBe(1);

    // Customer text is text: markup in a reply shows literally and never runs.
    const markup = '<img src=x onerror="window.__xss=1"> *see* you <b>soon</b>';
    await page.getByRole('textbox', { name: `Reply from ${second}` }).fill(markup);
    await page.getByRole('button', { name: `Send reply from ${second}` }).click();
    await expect.poll(() => page.locator('#thread article.post').filter({ hasText: '<img src=x' }).count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => text('#phones')).toContain(markup);
    expect(await page.locator('#thread img, #phones img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();

    // The activity chart counts the sends of today.
    await page.getByText('Activity, last 14 days').click();
    await expect.poll(() => page.locator('#activity-chart').getAttribute('alt')).toMatch(/: [1-9]\d* sent, 1 replies, 1 opt-outs/);

    expect(pageErrors).toEqual([]);
    await page.evaluate("document.getElementById('thread-pane').scrollTo(0, 0)");
    await page.screenshot({ path: join(ARTIFACTS, 'console.png') });
  });

  it('is readable at 375 px: one pane at a time, nothing wider than the screen', { timeout: 120_000 }, async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const tab of ['Channel', 'Thread', 'Phones']) {
      await page.locator('.tabs').getByRole('button', { name: tab }).click();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await page.screenshot({ path: join(ARTIFACTS, `console-375-${tab.toLowerCase()}.png`) });
    }
    expect(await page.getByRole('heading', { name: 'Phones' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { name: '# console' }).isVisible()).toBe(false);
  });
});

// The page in a real Chromium: it boots its hosts in workers and gives a working root shell on the
// first host's console.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serveBuiltSite, terminalText as readTerminal, waitForPrompt } from './browser';

let site: Awaited<ReturnType<typeof serveBuiltSite>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  site = await serveBuiltSite();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(site.url);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

const terminalText = () => readTerminal(page);

describe('the ctlab page', () => {
  it('shows boot progress, then the host console with a root prompt', async () => {
    // Booting takes seconds, so the progress bar is always on screen for a while.
    const first = page.getByTestId('host').first();
    await first.getByRole('progressbar').waitFor({ timeout: 30_000 });
    await waitForPrompt(page, 120_000);
    expect(await first.getByTestId('boot-time').innerText()).toMatch(/restored from saved state in \d+\.\d+ s/);
    await expect.poll(() => first.getByRole('progressbar').count()).toBe(0);
  });

  it('runs what the user types in a real shell', async () => {
    await page.getByTestId('host').first().getByTestId('host-terminal').click();
    await page.keyboard.type('echo hello-$((6*7))\n');
    // The typed line echoes as "hello-$((6*7))"; only the shell's arithmetic prints hello-42.
    await expect.poll(terminalText, { timeout: 30_000 }).toMatch(/^hello-42\s*$/m);
    await page.keyboard.type('uname -m\n');
    await expect.poll(terminalText, { timeout: 30_000 }).toMatch(/^i686\s*$/m);
    expect(pageErrors).toEqual([]);
  });
});

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
  it('shows the host console with a root prompt', async () => {
    // The hosts start restoring before the tab has claimed their node numbers, so a restored host's
    // card may never show the boot progress bar: only its absence once running is certain.
    const first = page.getByTestId('host').first();
    await waitForPrompt(page, 120_000);
    expect(await first.getByTestId('boot-time').innerText()).toMatch(/restored from saved state in \d+\.\d+ s/);
    await expect.poll(() => first.getByRole('progressbar').count()).toBe(0);
  });

  it('shows how each host started and how fast its emulator runs in the status bar', async () => {
    const bar = page.getByTestId('status-bar');
    for (const host of ['node1', 'node2']) {
      const figures = bar.locator(`[data-testid="status-host"][data-host="${host}"]`);
      await figures.getByTestId('status-start').waitFor({ timeout: 60_000 });
      expect(await figures.getByTestId('status-start').innerText()).toMatch(/^restored from saved state in \d+\.\d\d s$/);
      // A figure needs two samples a second apart.
      await figures.getByTestId('status-mips').waitFor({ timeout: 10_000 });
      expect(await figures.getByTestId('status-mips').innerText()).toMatch(/^\d+(\.\d)? MIPS$/);
    }
    expect(await bar.getByTestId('status-page-ready').innerText()).toMatch(/^2 hosts ready \d+\.\d\d s after page load$/);

    // The figure follows the guest: an idle host halts and runs few instructions, a busy one many.
    const mips = bar.locator('[data-testid="status-host"][data-host="node1"] [data-testid="status-mips"]');
    const figure = async () => parseFloat(await mips.innerText());
    const before = await figure();
    await page.getByTestId('host').first().getByTestId('host-terminal').click();
    await page.keyboard.type('end=$(($(date +%s)+5)); while [ $(date +%s) -lt $end ]; do :; done\n');
    await expect.poll(figure, { timeout: 15_000 }).toBeGreaterThan(Math.max(10, 2 * before));
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

describe('the ctlab page with a stale saved state', () => {
  it('boots its hosts cold, shows it, and logs why', async () => {
    const context = await browser.newContext();
    try {
      // state.json as if the state had been made from another kernel.
      await context.route('**/images/state.json', async (route) => {
        const state = await (await route.fetch()).json();
        await route.fulfill({ json: { ...state, made_from: { ...state.made_from, kernel: '0'.repeat(64) } } });
      });
      const stale = await context.newPage();
      const warnings: string[] = [];
      stale.on('console', (message) => { if (message.type() === 'warning') warnings.push(message.text()); });
      await stale.goto(site.url);
      for (const host of ['node1', 'node2']) {
        const start = stale.locator(`[data-testid="status-host"][data-host="${host}"] [data-testid="status-start"]`);
        await start.waitFor({ timeout: 120_000 });
        expect(await start.innerText()).toMatch(/^cold boot in \d+\.\d+ s$/);
        expect(await start.getAttribute('title')).toMatch(/^not restored: the saved state is stale: kernel differs/);
      }
      expect(warnings.filter((w) => /booting, not restoring the saved state: the saved state is stale: kernel differs/.test(w))).toHaveLength(2);
    } finally {
      await context.close();
    }
  });
});

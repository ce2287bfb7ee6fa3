// Two tabs of one browser make one cluster: they share the BroadcastChannel backplane, so tab 2
// gets node3 and node4, each tab lists the other's hosts, and containers ping across tabs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, serveBuiltSite } from './browser';
import {
  ACTION_TIMEOUT_MS, containerRow, containerTerminalText, createContainer, hostCard, openContainerTerminal, typeInContainer,
  waitForHostRunning,
} from './panel';

let site: Awaited<ReturnType<typeof serveBuiltSite>>;
let browser: Browser;
let context: BrowserContext;
let tab1: Page;
let tab2: Page;
const pageErrors: string[] = [];

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(site.url);
  return page;
}

beforeAll(async () => {
  site = await serveBuiltSite();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  tab1 = await openTab();
  // Tab 1 holds its node numbers before tab 2 asks for the next ones.
  await hostCard(tab1, 'node2').waitFor({ timeout: 30_000 });
  tab2 = await openTab();
  await hostCard(tab2, 'node4').waitFor({ timeout: 30_000 });
  // Four emulators boot at once on the machine's cores.
  await Promise.all([
    ...['node1', 'node2'].map((host) => waitForHostRunning(tab1, host)),
    ...['node3', 'node4'].map((host) => waitForHostRunning(tab2, host)),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

const names = async (page: Page, testId: string) =>
  Promise.all((await page.getByTestId(testId).all()).map((card) => card.getAttribute('data-host')));

describe('two tabs of the page', () => {
  it('number their hosts across tabs and list each other\'s', async () => {
    expect(await names(tab1, 'host')).toEqual(['node1', 'node2']);
    expect(await names(tab2, 'host')).toEqual(['node3', 'node4']);
    await expect.poll(() => names(tab1, 'remote-host'), { timeout: 10_000 }).toEqual(['node3', 'node4']);
    await expect.poll(() => names(tab2, 'remote-host'), { timeout: 10_000 }).toEqual(['node1', 'node2']);
    const node3 = tab1.locator('[data-testid="remote-host"][data-host="node3"]');
    expect(await node3.innerText()).toContain('in another tab');
    expect(await node3.getByTestId('host-address').innerText()).toBe('10.0.0.3/16');
    // Remote hosts are only seen from here: no actions.
    expect(await node3.getByRole('button').count()).toBe(0);
  });

  it('lets a container in tab 1 ping a container in tab 2', async () => {
    await Promise.all([createContainer(tab1, 'node1', { name: 'a' }), createContainer(tab2, 'node3', { name: 'c' })]);
    const cidr = await containerRow(tab2, 'node3', 'c').getByTestId('container-ip').innerText();
    expect(cidr).toMatch(/^10\.0\.3\.\d+\/16$/);
    const ip = cidr.split('/')[0]!;

    await openContainerTerminal(tab1, 'node1', 'a');
    await typeInContainer(tab1, 'node1', 'a', `ping -c 3 ${ip}\n`);
    await expect.poll(() => containerTerminalText(tab1, 'node1', 'a'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/3 packets received/);

    // The frames crossed tab 1's link to the other tabs.
    const otherTabs = tab1.locator('[data-testid="port"][data-port="other tabs"]');
    await expect.poll(async () => Number((await otherTabs.locator('td').nth(1).innerText()).trim()), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await tab1.screenshot({ path: '.build/tabs.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});

// Two tabs of one browser make one cluster: they share the BroadcastChannel backplane, so tab 2
// gets node3 and node4, each tab lists the other's hosts, containers ping across tabs, and a
// running container moves live from a host of tab 1 to a host of tab 2 ("Move to…", drag and drop).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { launchChromium, serveBuiltSite } from './browser';
import {
  ACTION_TIMEOUT_MS, containerRow, containerTerminal, containerTerminalText, createContainer, hostCard, openContainerTerminal, settledRow,
  typeInContainer, waitForHostRunning,
} from './panel';

const mkdirp = (dir: string) => mkdir(dir, { recursive: true });

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
    await containerTerminal(tab1, 'node1', 'a').getByRole('button', { name: 'Close the terminal of a' }).click();
    expect(pageErrors).toEqual([]);
  });

  it('moves a running container from tab 1 to a host of tab 2 with "Move to…", its counter going on there', async () => {
    await tab1.bringToFront();   // as for the person clicking in it
    await createContainer(tab1, 'node1', { name: 'mig' });
    await openContainerTerminal(tab1, 'node1', 'mig');
    await typeInContainer(tab1, 'node1', 'mig', '(ctdemo count 300 > /dev/console 2>&1 < /dev/null &); echo counting\n');
    await expect.poll(() => containerTerminalText(tab1, 'node1', 'mig'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^counting\s*$/m);
    // A terminal's shell holds a pty of the host's agent, which the C/R engine cannot move: close it first.
    await containerTerminal(tab1, 'node1', 'mig').getByRole('button', { name: 'Close the terminal of mig' }).click();
    await containerTerminal(tab1, 'node1', 'mig').waitFor({ state: 'detached' });

    const row = containerRow(tab1, 'node1', 'mig');
    await row.getByRole('button', { name: 'Move to…' }).click();
    const menu = row.getByRole('dialog', { name: 'Move mig to another host' });
    // Every other host of the cluster, this tab's and the other's.
    expect(await Promise.all((await menu.getByRole('menuitem').all()).map((item) => item.getAttribute('data-target'))))
      .toEqual(['node2', 'node3', 'node4']);
    // Every text the live rounds line shows, however briefly, and whether the move's Abort button
    // showed (a string: no DOM types here).
    await tab1.evaluate(`(() => {
      window.__rounds = [];
      window.__abortShown = false;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid="migration-rounds"]')) window.__rounds.push(el.textContent);
        if (document.querySelector('[data-testid="migration"][data-state="running"] [data-testid="migration-abort"]')) window.__abortShown = true;
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await menu.getByRole('menuitem', { name: /node3/ }).click();

    // Under way: the source host shows the phases; then the figures of the move.
    const migration = hostCard(tab1, 'node1').locator('[data-testid="migration"][data-container="mig"]');
    await migration.waitFor({ timeout: 10_000 });
    const done = hostCard(tab1, 'node1').locator('[data-testid="migration"][data-container="mig"][data-state="done"]');
    await done.or(row.getByRole('alert')).waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await hostCard(tab1, 'node1').locator('.row-error').allInnerTexts()).toEqual([]);
    expect(await done.getAttribute('data-to')).toBe('node3');
    expect(await done.getByTestId('migration-summary').innerText())
      .toMatch(/^downtime \d+ ms, total [\d.]+ m?s, moved [\d.]+ \w+ \(\d pre-copy rounds?: .*\)$/);
    // Each pre-copy round's bytes showed while it moved.
    const rounds = await tab1.evaluate('window.__rounds') as string[];
    expect(rounds.some((text) => /^pre-copy round 1: [\d.]+ (B|KiB|MiB)/.test(text)), rounds.join(' | ')).toBe(true);
    // The move under way offered its Abort (not pressed here).
    expect(await tab1.evaluate('window.__abortShown')).toBe(true);
    // The ping timeline: a probe on node2 pinged it every 100 ms; once the ping stops every slot is settled.
    const timeline = done.getByTestId('ping-timeline');
    await timeline.and(tab1.locator('[data-state="stopped"]')).waitFor({ timeout: 30_000 });
    expect(await timeline.innerText()).toMatch(/ping every 100 ms from ping-probe-\w+ on node2 to mig \(10\.0\.1\.\d+\)/);
    const slots = await timeline.getByTestId('ping-slot').count();
    expect(slots).toBeGreaterThan(5);
    expect(Number(await timeline.getAttribute('data-slots'))).toBe(slots);
    expect(await timeline.locator('[data-testid="ping-slot"][data-state="answered"]').count()).toBeGreaterThan(0);
    expect(await timeline.locator('[data-testid="ping-slot"][data-state="pending"]').count()).toBe(0);
    expect(await timeline.getByTestId('ping-frozen').count()).toBe(1);
    expect(await timeline.getByTestId('ping-counts').innerText()).toMatch(/^\d+ answered, \d+ missed/);
    await mkdirp('.build');
    await hostCard(tab1, 'node1').screenshot({ path: '.build/migration-timeline.png' });
    // The probe is gone, and was never listed.
    await expect.poll(async () => (await tab1.locator('[data-testid="container"][data-container^="ping-probe-"]').count()), { timeout: 10_000 }).toBe(0);

    // Running in tab 2, gone from tab 1; its counter goes on there.
    await settledRow(tab2, 'node3', 'mig', 'running').waitFor({ timeout: 20_000 });
    await containerRow(tab1, 'node1', 'mig').waitFor({ state: 'detached', timeout: 20_000 });
    await openContainerTerminal(tab2, 'node3', 'mig');
    await typeInContainer(tab2, 'node3', 'mig', 'ps | grep -c "[c]tdemo count"\n');
    await expect.poll(() => containerTerminalText(tab2, 'node3', 'mig'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^1\s*$/m);
    await containerTerminal(tab2, 'node3', 'mig').getByRole('button', { name: 'Close the terminal of mig' }).click();
    await containerTerminal(tab2, 'node3', 'mig').waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  it('moves a container by dragging its row onto a host card, and shows a failure\'s reason on the row', async () => {
    await tab2.bringToFront();   // the tab the person drags in
    // Drag and drop within tab 2, node3 -> node4: the HTML5 drag events with one DataTransfer, as a browser sends them (Playwright's mouse
    // drag does not reach the drop here).
    const transfer = await tab2.evaluateHandle('new DataTransfer()');
    await containerRow(tab2, 'node3', 'mig').dispatchEvent('dragstart', { dataTransfer: transfer });
    await hostCard(tab2, 'node4').dispatchEvent('dragenter', { dataTransfer: transfer });
    await hostCard(tab2, 'node4').dispatchEvent('dragover', { dataTransfer: transfer });
    await expect.poll(() => hostCard(tab2, 'node4').getAttribute('data-drop-over')).toBe('');
    await hostCard(tab2, 'node4').dispatchEvent('drop', { dataTransfer: transfer });
    await settledRow(tab2, 'node4', 'mig', 'running').waitFor({ timeout: ACTION_TIMEOUT_MS });
    await containerRow(tab2, 'node3', 'mig').waitFor({ state: 'detached', timeout: 20_000 });
    await hostCard(tab2, 'node3').locator('[data-testid="migration"][data-state="done"][data-to="node4"]').waitFor();

    // A container of that name already on the destination: the guest refuses, the row says why.
    await createContainer(tab1, 'node2', { name: 'dup' });
    await createContainer(tab2, 'node4', { name: 'dup' });
    const row = containerRow(tab1, 'node2', 'dup');
    await row.getByRole('button', { name: 'Move to…' }).click();
    await row.getByRole('menuitem', { name: /node4/ }).click();
    const error = settledRow(tab1, 'node2', 'dup', 'running').getByRole('alert');
    await error.waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await error.innerText()).toMatch(/migrate failed:.*already exists/);
    expect(pageErrors).toEqual([]);
  });
});

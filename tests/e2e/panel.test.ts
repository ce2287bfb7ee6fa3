// The control panel in a real Chromium: a container's whole life on node1, driven from the panel.
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serveBuiltSite, waitForPrompt } from './browser';
import {
  ACTION_TIMEOUT_MS, BOOT_TIMEOUT_MS, agentRequests, containerRow, containerTerminal, containerTerminalText, createContainer,
  fillCreateDialog, hostCard, openContainerTerminal, recordAgentRequests, settledRow, typeInContainer, waitForHostRunning,
} from './panel';

let site: Awaited<ReturnType<typeof serveBuiltSite>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  site = await serveBuiltSite();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await recordAgentRequests(page);
  await page.goto(site.url);
  await waitForPrompt(page, BOOT_TIMEOUT_MS);
  await waitForHostRunning(page, 'node2');
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

describe('the control panel', () => {
  it('shows two hosts of this tab with their identities', async () => {
    for (const [host, n] of [['node1', 1], ['node2', 2]] as const) {
      const card = hostCard(page, host);
      await expect.poll(() => card.getByTestId('host-address').innerText()).toBe(`10.0.0.${n}/16`);
      expect(await card.innerText()).toContain(`02:43:0a:00:00:0${n}`);
      expect(await card.getByTestId('boot-time').innerText()).toMatch(/(booted|restored from saved state) in \d+\.\d+ s/);
    }
    // The network view has a port per host and one for the other tabs.
    const portNames = async () => Promise.all((await page.getByTestId('port').all()).map((row) => row.getAttribute('data-port')));
    await expect.poll(portNames)
      .toEqual(expect.arrayContaining(['node1', 'node2', 'other tabs']));
  });

  it('refuses a bad name in the dialog with a field error, and sends nothing', async () => {
    const dialog = await fillCreateDialog(page, 'node1', { name: 'Bad Name', memory: '512K' });
    await dialog.getByRole('button', { name: 'Create and start' }).click();
    expect(await dialog.locator('[data-testid="field-error"][data-field="name"]').innerText())
      .toBe('invalid container name "Bad Name": must start with a lowercase letter or digit');
    expect(await dialog.locator('[data-testid="field-error"][data-field="memory"]').innerText())
      .toBe('memory limit "512K" is below the 1M minimum');
    expect((await agentRequests(page)).filter((r) => r.op === 'create')).toEqual([]);
    expect(await containerRow(page, 'node1', 'Bad Name').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('creates and starts a container from the dialog', async () => {
    const row = await createContainer(page, 'node1', { name: 'web', memory: '32M', pids: '64', cpus: '0.5' });
    expect(await row.getByTestId('container-ip').innerText()).toMatch(/^10\.0\.1\.\d+\/16$/);
    const text = await row.innerText();
    expect(text).toContain('mem 32 MiB');
    expect(text).toContain('pids 64');
    expect(text).toContain('cpu 0.5 CPU');
    expect((await agentRequests(page)).filter((r) => r.op === 'create')).toEqual([{ op: 'create', name: 'web' }]);
  });

  it('shows the guest\'s own error when the guest refuses', async () => {
    const dialog = await fillCreateDialog(page, 'node1', { name: 'web' });
    await dialog.getByRole('button', { name: 'Create and start' }).click();
    await expect.poll(() => dialog.getByTestId('create-error').innerText(), { timeout: ACTION_TIMEOUT_MS }).toMatch(/web/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('runs a command in the container\'s terminal', async () => {
    await openContainerTerminal(page, 'node1', 'web');
    await typeInContainer(page, 'node1', 'web', 'echo in-$(hostname)-$((6*7))\n');
    await expect.poll(() => containerTerminalText(page, 'node1', 'web'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^in-web-42\s*$/m);
  });

  it('opens a second container\'s terminal in view, with its prompt, and brings an open one back into view', async () => {
    // xterm.js draws nothing while off screen: a panel opened below the fold stayed blank.
    const inView = async (host: string, name: string) => {
      const box = await containerTerminal(page, host, name).boundingBox();
      // Within a pixel: scrolling lands on whole pixels, the layout has fractions.
      return box !== null && box.y >= -1 && box.y + box.height <= page.viewportSize()!.height + 1;
    };
    await createContainer(page, 'node1', { name: 'tools' });
    await page.evaluate('window.scrollTo(0, 0)');
    // Waits for the prompt in the rows xterm.js drew: drawn only if the panel came into view.
    await openContainerTerminal(page, 'node1', 'tools');
    expect(await containerTerminalText(page, 'node1', 'tools')).toMatch(/root@tools/);
    await page.evaluate('window.scrollTo(0, 0)');
    expect(await inView('node1', 'web')).toBe(false);
    await containerRow(page, 'node1', 'web').getByRole('button', { name: 'Terminal' }).click();
    await expect.poll(() => inView('node1', 'web'), { timeout: ACTION_TIMEOUT_MS }).toBe(true);
    expect(await containerTerminal(page, 'node1', 'web').count()).toBe(1);

    await containerTerminal(page, 'node1', 'tools').getByRole('button', { name: 'Close the terminal of tools' }).click();
    const row = containerRow(page, 'node1', 'tools');
    await row.getByRole('button', { name: 'Destroy' }).click();
    await row.getByRole('alertdialog', { name: 'Destroy tools?' }).getByRole('button', { name: 'Yes, destroy' }).click();
    await row.waitFor({ state: 'detached', timeout: ACTION_TIMEOUT_MS });
  });

  it('draws the container\'s live graphs from its stats', async () => {
    const row = settledRow(page, 'node1', 'web', 'running');
    await row.getByTestId('graph-memory').waitFor({ timeout: ACTION_TIMEOUT_MS });
    // Two samples give the first CPU figure.
    await expect.poll(() => row.getByTestId('graph-cpu').innerText(), { timeout: ACTION_TIMEOUT_MS }).toMatch(/\d+(\.\d)?% \/ 50%/);
    expect(await row.getByTestId('graph-memory').innerText()).toMatch(/\/ 32 MiB[\s\S]*OOM kills 0/);
    expect(await row.getByTestId('graph-pids').innerText()).toMatch(/\d+ \/ 64[\s\S]*refused forks 0/);
    mkdirSync('.build', { recursive: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: '.build/panel.png' });
    await page.screenshot({ path: '.build/panel-full.png', fullPage: true });
  });

  it('shows a container held frozen, its actions held back, and running again once it thaws', async () => {
    // A migration in doubt holds its copy with cgroup.freeze and announces nothing: freezing it by
    // hand from the host's console, the page learns of it from the stats alone.
    const knob = '/sys/fs/cgroup/ct/web/cgroup.freeze';
    await hostCard(page, 'node1').getByTestId('host-terminal').click();
    await page.keyboard.type(`echo 1 > ${knob}\n`);
    const row = containerRow(page, 'node1', 'web');
    await row.and(page.locator('[data-frozen]')).waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await row.locator('.state').innerText()).toBe('frozen');
    for (const action of ['Stop', 'Restart', 'Checkpoint', 'Move to…', 'Destroy'])
      expect(await row.getByRole('button', { name: action }).isDisabled(), action).toBe(true);
    await hostCard(page, 'node1').getByTestId('host-terminal').click();
    await page.keyboard.type(`echo 0 > ${knob}\n`);
    await settledRow(page, 'node1', 'web', 'running').and(page.locator(':not([data-frozen])')).waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await row.locator('.state').innerText()).toBe('running');
    expect(await row.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(false);
  });

  it('restarts the container, and reopens its shell', async () => {
    await containerRow(page, 'node1', 'web').getByRole('button', { name: 'Restart' }).click();
    // The restart ends the old shell; the row settles running again.
    const terminal = containerTerminal(page, 'node1', 'web');
    await terminal.and(page.locator('[data-status="exited"]')).waitFor({ timeout: ACTION_TIMEOUT_MS });
    await settledRow(page, 'node1', 'web', 'running').waitFor({ timeout: ACTION_TIMEOUT_MS });
    await terminal.getByRole('button', { name: 'Reopen' }).click();
    await terminal.and(page.locator('[data-status="open"]')).waitFor({ timeout: ACTION_TIMEOUT_MS });
    await typeInContainer(page, 'node1', 'web', 'echo again-$((2+3))\n');
    await expect.poll(() => containerTerminalText(page, 'node1', 'web'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^again-5\s*$/m);
  });

  it('stops the container', async () => {
    await containerRow(page, 'node1', 'web').getByRole('button', { name: 'Stop' }).click();
    await settledRow(page, 'node1', 'web', 'stopped').waitFor({ timeout: ACTION_TIMEOUT_MS });
    // Its shell went with it.
    await containerTerminal(page, 'node1', 'web').and(page.locator('[data-status="exited"]')).waitFor({ timeout: ACTION_TIMEOUT_MS });
  });

  it('destroys the container after a confirmation', async () => {
    const row = containerRow(page, 'node1', 'web');
    await row.getByRole('button', { name: 'Destroy' }).click();
    const confirm = row.getByRole('alertdialog', { name: 'Destroy web?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await agentRequests(page)).filter((r) => r.op === 'destroy' && r.name === 'web')).toEqual([]);

    await row.getByRole('button', { name: 'Destroy' }).click();
    await confirm.getByRole('button', { name: 'Yes, destroy' }).click();
    await row.waitFor({ state: 'detached', timeout: ACTION_TIMEOUT_MS });
    expect(await hostCard(page, 'node1').getByText('No containers yet.').count()).toBe(1);
    expect(await containerTerminal(page, 'node1', 'web').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

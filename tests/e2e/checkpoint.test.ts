// Checkpoint and restore from the panel in a real Chromium: a container on node1 is checkpointed,
// its image downloaded as a file, and that file restored on node2, where the container runs on.
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serveBuiltSite, waitForPrompt } from './browser';
import {
  ACTION_TIMEOUT_MS, BOOT_TIMEOUT_MS, containerRow, containerTerminal, containerTerminalText, createContainer, hostCard,
  openContainerTerminal, settledRow, typeInContainer, waitForHostRunning,
} from './panel';

let site: Awaited<ReturnType<typeof serveBuiltSite>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const IMAGE_PATH = '.build/e2e/mover.ctimg';

beforeAll(async () => {
  site = await serveBuiltSite();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(site.url);
  await waitForPrompt(page, BOOT_TIMEOUT_MS);
  await waitForHostRunning(page, 'node1');
  await waitForHostRunning(page, 'node2');
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

describe('checkpoint and restore in the panel', () => {
  it('checkpoints a running container and shows the report', async () => {
    await createContainer(page, 'node1', { name: 'mover', memory: '32M' });
    // A file in the container's own layer, to find again on node2.
    await openContainerTerminal(page, 'node1', 'mover');
    await typeInContainer(page, 'node1', 'mover', 'echo moved-$((6*7)) > /root/note; echo written\n');
    await expect.poll(() => containerTerminalText(page, 'node1', 'mover'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^written\s*$/m);
    await containerTerminal(page, 'node1', 'mover').getByRole('button', { name: 'Close the terminal of mover' }).click();
    await containerTerminal(page, 'node1', 'mover').waitFor({ state: 'detached' });

    const row = containerRow(page, 'node1', 'mover');
    await row.getByRole('button', { name: 'Checkpoint' }).click();
    const dialog = row.getByRole('dialog', { name: 'Checkpoint mover' });
    await dialog.getByRole('button', { name: 'Checkpoint now' }).click();
    // Without "leave it running" the container stops once its image is complete.
    const report = settledRow(page, 'node1', 'mover', 'stopped').getByTestId('cr-report');
    await report.waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await report.getAttribute('data-action')).toBe('checkpoint');
    expect(await report.getAttribute('data-image')).toMatch(/^mover-[0-9a-f]{8}$/);
    expect(await report.getByTestId('cr-processes').innerText()).toMatch(/^\d+ process(es)?$/);
    expect(await report.getByTestId('cr-frozen').innerText()).toMatch(/^\d+ ms$/);
    expect(await report.getByTestId('cr-image-size').innerText()).toMatch(/\d/);
  });

  it('downloads the image as <container>.ctimg', async () => {
    const report = containerRow(page, 'node1', 'mover').getByTestId('cr-report');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: ACTION_TIMEOUT_MS }),
      report.getByRole('button', { name: 'Download image' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('mover.ctimg');
    mkdirSync('.build/e2e', { recursive: true });
    await download.saveAs(IMAGE_PATH);
    const bytes = readFileSync(IMAGE_PATH);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('CTLABCR\0');
    expect(bytes.length).toBeGreaterThan(4096);
  });

  it('restores the file on the other host, where the container runs with its files', async () => {
    const card = hostCard(page, 'node2');
    await card.getByTestId('restore-file').setInputFiles(IMAGE_PATH);
    const form = card.getByRole('form', { name: 'Restore on node2' });
    // The name defaults to the image's own container name.
    expect(await form.getByRole('textbox', { name: 'Container name' }).inputValue()).toBe('mover');
    await form.getByRole('button', { name: 'Restore' }).click();
    const row = settledRow(page, 'node2', 'mover', 'running');
    await row.waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await row.getByTestId('cr-report').getAttribute('data-action')).toBe('restore');

    await openContainerTerminal(page, 'node2', 'mover');
    await typeInContainer(page, 'node2', 'mover', 'cat /root/note; hostname\n');
    await expect.poll(() => containerTerminalText(page, 'node2', 'mover'), { timeout: ACTION_TIMEOUT_MS }).toMatch(/^moved-42\s*$/m);
    // node1 keeps the stopped original.
    await settledRow(page, 'node1', 'mover', 'stopped').waitFor();
    await page.screenshot({ path: '.build/e2e/checkpoint.png', fullPage: true });
  });

  it('shows the guest\'s message for a corrupt file, and leaves no container', async () => {
    const bytes = readFileSync(IMAGE_PATH);
    for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length / 2) + i]! ^= 0x5a;
    const card = hostCard(page, 'node2');
    await card.getByTestId('restore-file').setInputFiles({ name: 'broken.ctimg', mimeType: 'application/octet-stream', buffer: bytes });
    const form = card.getByRole('form', { name: 'Restore on node2' });
    // "mover" runs here already: the form says so before asking the guest.
    await form.getByText('mover is running here').waitFor();
    await form.getByRole('textbox', { name: 'Container name' }).fill('broken');
    await form.getByRole('button', { name: 'Restore' }).click();
    const error = card.getByTestId('host-error');
    await error.waitFor({ timeout: ACTION_TIMEOUT_MS });
    expect(await error.innerText()).toMatch(/restore failed: broken: .*corrupt/);
    expect(await containerRow(page, 'node2', 'broken').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

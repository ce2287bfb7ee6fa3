// Helpers for driving the control panel from Playwright. Everything waits for a state the page
// shows (data-state, data-busy, text in a terminal), never for a fixed time.
import type { Locator, Page } from 'playwright-core';

/** Booting several emulators at once on two cores is slow, and v86's JIT warms up first. */
export const BOOT_TIMEOUT_MS = 120_000;
/** Creating and starting a container, stopping or destroying one. */
export const ACTION_TIMEOUT_MS = 60_000;

export const hostCard = (page: Page, host: string): Locator => page.locator(`[data-testid="host"][data-host="${host}"]`);

export const containerRow = (page: Page, host: string, name: string): Locator =>
  page.locator(`[data-testid="container"][data-host="${host}"][data-container="${name}"]`);

/** The row once it shows `state` and has no action under way. */
export const settledRow = (page: Page, host: string, name: string, state: string): Locator =>
  page.locator(`[data-testid="container"][data-host="${host}"][data-container="${name}"][data-state="${state}"]:not([data-busy])`);

export async function waitForHostRunning(page: Page, host: string, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
  // data-ready: booted and given its identity (host_configure), so container actions are enabled.
  await page.locator(`[data-testid="host"][data-host="${host}"][data-state="running"][data-ready]`).waitFor({ timeout: timeoutMs });
}

export interface ContainerFields {
  name: string;
  memory?: string;
  pids?: string;
  cpus?: string;
  hostname?: string;
  ip?: string;
}

/** Opens the host's create dialog and fills it in (without submitting). */
export async function fillCreateDialog(page: Page, host: string, fields: ContainerFields): Promise<Locator> {
  const dialog = page.getByRole('dialog', { name: `New container on ${host}` });
  if (!(await dialog.isVisible())) await hostCard(page, host).getByRole('button', { name: 'New container' }).click();
  for (const [field, value] of Object.entries(fields)) await dialog.locator(`input[name="${field}"]`).fill(value);
  return dialog;
}

/** Creates a container from the panel's dialog and waits until its row shows it running. */
export async function createContainer(page: Page, host: string, fields: ContainerFields): Promise<Locator> {
  const dialog = await fillCreateDialog(page, host, fields);
  await dialog.getByRole('button', { name: 'Create and start' }).click();
  await dialog.waitFor({ state: 'detached', timeout: ACTION_TIMEOUT_MS });
  const row = settledRow(page, host, fields.name, 'running');
  await row.waitFor({ timeout: ACTION_TIMEOUT_MS });
  return row;
}

export const containerTerminal = (page: Page, host: string, name: string): Locator =>
  page.locator(`[data-testid="container-terminal"][data-host="${host}"][data-container="${name}"]`);

/** The text xterm.js renders in a container's terminal. */
export const containerTerminalText = (page: Page, host: string, name: string): Promise<string> =>
  containerTerminal(page, host, name).locator('.xterm-rows').innerText();

/** Opens a container's terminal from its row and waits for the shell's prompt. */
export async function openContainerTerminal(page: Page, host: string, name: string): Promise<Locator> {
  await containerRow(page, host, name).getByRole('button', { name: 'Terminal' }).click();
  const panel = containerTerminal(page, host, name);
  await panel.and(page.locator('[data-status="open"]')).waitFor({ timeout: ACTION_TIMEOUT_MS });
  // A string, run in the page: these tests are typechecked without the DOM's types.
  const rows = `document.querySelector('[data-testid="container-terminal"][data-host="${host}"][data-container="${name}"] .xterm-rows')`;
  await page.waitForFunction(`/[#$]\\s*$/.test(${rows}?.textContent ?? '')`, undefined, { timeout: ACTION_TIMEOUT_MS, polling: 50 });
  return panel;
}

/** Types a command line into a container's terminal. */
export async function typeInContainer(page: Page, host: string, name: string, line: string): Promise<void> {
  await containerTerminal(page, host, name).getByTestId('container-xterm').click();
  await page.keyboard.type(line);
}

/**
 * Records the agent requests the page sends to its host workers (ops and container names), read
 * back with agentRequests(): proof that a refused form sent nothing. Install before page.goto.
 */
export async function recordAgentRequests(page: Page): Promise<void> {
  await page.addInitScript(RECORD_AGENT_REQUESTS);
}

/** Runs in the page before its scripts (a string: these tests are typechecked without the DOM's types). */
const RECORD_AGENT_REQUESTS = `(() => {
  const log = [];
  window.__agentRequests = log;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message && message.type === 'agent' && message.data instanceof Uint8Array) {
      for (const line of new TextDecoder().decode(message.data).split('\\n')) {
        try {
          const request = JSON.parse(line);
          log.push({ op: request.op, name: request.args ? request.args.name : undefined });
        } catch {}
      }
    }
    return post.call(this, message, ...rest);
  };
})();`;

export interface AgentRequest {
  op: string;
  name?: string;
}

export const agentRequests = (page: Page): Promise<AgentRequest[]> =>
  page.evaluate('window.__agentRequests.map((r) => r.name === undefined ? { op: r.op } : r)') as Promise<AgentRequest[]>;

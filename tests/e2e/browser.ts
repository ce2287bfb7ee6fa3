// Shared by the e2e tests and the page benchmark: a built, served site and Debian's Chromium.
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-quic', '--no-first-run', '--disable-sync',
  // Two tabs drive one cluster: the tab not in front must keep rendering and running its timers
  // (a person switches to it to look; a test reads both at once).
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/** Builds the static site as a teacher would host it and serves it on a free local port. */
export async function serveBuiltSite(): Promise<{ url: string; close: () => Promise<void> }> {
  // Vite builds for the NODE_ENV it finds, and vitest sets "test": that gave React's development
  // build (StrictMode opened every terminal twice). The site a teacher hosts is the production one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ logLevel: 'error', mode: 'production', build: { outDir: '.build/site', emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  const server: PreviewServer = await preview({
    logLevel: 'warn', build: { outDir: '.build/site' }, preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its address');
  return { url, close: () => server.close() };
}

/** The first host card's console (the page shows one card per host of the tab, console open on the first). */
const FIRST_CONSOLE = '[data-testid="host"] [data-testid="host-terminal"]';

/** The text xterm.js renders in the first host's console (its DOM renderer keeps rows as text). */
export const terminalText = (page: Page) => page.locator(FIRST_CONSOLE).first().locator('.xterm-rows').innerText();

/**
 * Waits until the first host's console shows a root prompt on its last line. The prompt names the
 * host: "ctlab" as it boots, its node name once the cluster has given it its identity.
 */
export async function waitForPrompt(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('[data-testid="host"]').first().and(page.locator('[data-state="running"]')).waitFor({ timeout: timeoutMs });
  await page.waitForFunction(
    `/root@[A-Za-z0-9.-]+:~#\\s*$/m.test(document.querySelector('${FIRST_CONSOLE} .xterm-rows')?.textContent ?? '')`,
    undefined, { timeout: timeoutMs, polling: 20 });
}

// Shared by the e2e tests and the page benchmark: a built, served site and Debian's Chromium.
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-quic', '--no-first-run', '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/** Builds the static site as a teacher would host it and serves it on a free local port. */
export async function serveBuiltSite(): Promise<{ url: string; close: () => Promise<void> }> {
  await build({ logLevel: 'warn', build: { outDir: '.build/site', emptyOutDir: true } });
  const server: PreviewServer = await preview({
    logLevel: 'warn', build: { outDir: '.build/site' }, preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its address');
  return { url, close: () => server.close() };
}

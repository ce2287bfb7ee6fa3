// Boot benchmark: cold boot to a shell prompt under Node, and page load to prompt in Chromium
// (the page boots two hosts at once: first host's prompt, and both hosts ready for containers).
// Prints figures only; nothing here is asserted.  Run: npm run bench
import os from 'node:os';
import { createNodeHost } from '../src/node/nodeHost';
import { launchChromium, serveBuiltSite, waitForPrompt } from '../tests/e2e/browser';
import { waitForHostRunning } from '../tests/e2e/panel';
import { formatSummary, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function nodeColdBoots(): Promise<void> {
  const wall: number[] = [];
  const guest: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const host = createNodeHost(`bench-${i}`);
    const result = await host.boot();
    wall.push(result.bootMs);
    guest.push(result.guestUptimeS * 1000);
    await host.shutdown();
  }
  console.log(formatSummary('node: new host -> shell prompt (cold boot)', summarize(wall)));
  console.log(formatSummary('node: guest uptime when /init finished', summarize(guest)));
}

async function pageLoads(): Promise<void> {
  const site = await serveBuiltSite();
  const browser = await launchChromium();
  const prompt: number[] = [];
  const ready: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = performance.now();
      const since = () => performance.now() - started;
      await page.goto(site.url);
      // The page boots two hosts (node1, node2) at once; "ready" is booted, agent up and
      // host_configure done (the card's data-ready), so container actions are enabled.
      await Promise.all([
        waitForPrompt(page).then(() => prompt.push(since())),
        Promise.all(['node1', 'node2'].map((host) => waitForHostRunning(page, host))).then(() => ready.push(since())),
      ]);
      await context.close();
    }
  } finally {
    await browser.close();
    await site.close();
  }
  console.log(formatSummary('chromium: page load -> node1 console prompt', summarize(prompt)));
  console.log(formatSummary('chromium: page load -> node1+node2 ready', summarize(ready)));
}

console.log(`ctlab boot benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}, ${RUNS} runs each`);
await nodeColdBoots();
if (!process.argv.includes('--node-only')) await pageLoads();

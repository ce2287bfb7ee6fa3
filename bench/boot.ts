// Boot benchmark: cold boot to a shell prompt under Node, and page load to prompt in Chromium.
// Prints figures only; nothing here is asserted.  Run: npm run bench
import os from 'node:os';
import { createNodeHost } from '../src/node/nodeHost';
import { launchChromium, serveBuiltSite, waitForPrompt } from '../tests/e2e/browser';
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
  const times: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(site.url);
      await waitForPrompt(page);
      times.push(performance.now() - started);
      await context.close();
    }
  } finally {
    await browser.close();
    await site.close();
  }
  console.log(formatSummary('chromium: page load -> prompt in the terminal', summarize(times)));
}

console.log(`ctlab boot benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}, ${RUNS} runs each`);
await nodeColdBoots();
if (!process.argv.includes('--node-only')) await pageLoads();

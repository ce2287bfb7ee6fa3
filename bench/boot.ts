// Boot benchmark: cold boot to a shell prompt under Node, start from the saved state to an agent
// that answers, and page load to prompt in Chromium
// (the page boots two hosts at once: first host's prompt, and both hosts ready for containers).
// Prints figures only; nothing here is asserted.  Run: npm run bench [-- --node-only | --page-only]
// (BENCH_RUNS=n for n runs of each, default 5).
import os from 'node:os';
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { createNodeHost, readManifest, readSavedState } from '../src/node/nodeHost';
import { launchChromium, serveBuiltSite, waitForPrompt } from '../tests/e2e/browser';
import { waitForHostRunning } from '../tests/e2e/panel';
import { formatSummary, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function nodeColdBoots(): Promise<number> {
  const wall: number[] = [];
  const guest: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const host = createNodeHost(`bench-${i}`, { loadState: undefined });
    const result = await host.boot();
    wall.push(result.bootMs);
    guest.push(result.guestUptimeS * 1000);
    await host.shutdown();
  }
  console.log(formatSummary('node: new host -> shell prompt (cold boot)', summarize(wall)));
  console.log(formatSummary('node: guest uptime when /init finished', summarize(guest)));
  return summarize(wall).median;
}

/** Hosts from the saved state (files already read, as for every host after a tab's first). */
async function nodeStateStarts(coldMedianMs: number): Promise<void> {
  const state = await readSavedState();
  await readManifest();
  if (!state) {
    console.log('node: no saved state (npm run build:state): skipped');
    return;
  }
  const restored: number[] = [];
  const usable: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const host = createNodeHost(`bench-state-${i}`);
    const started = performance.now();
    const result = await host.boot();
    if (!result.fromState) throw new Error(`not restored: ${result.stateProblem}`);
    restored.push(performance.now() - started);
    const agent = new AgentClient(hostAgentChannel(host));
    await agent.ready();
    await agent.setTime();
    usable.push(performance.now() - started);
    agent.dispose();
    await host.shutdown();
  }
  const ratio = (ms: number) => `${(coldMedianMs / ms).toFixed(1)}× faster than cold`;
  console.log(formatSummary('node: new host -> restored from state', summarize(restored)) + `  ${ratio(summarize(restored).median)}`);
  console.log(formatSummary('node: new host -> agent answers, clock set', summarize(usable)) + `  ${ratio(summarize(usable).median)}`);
  console.log(`node: state ${(state.manifest.size / 1e6).toFixed(2)} MB zstd (${(state.manifest.raw_size / 1e6).toFixed(1)} MB raw)`);
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
if (!process.argv.includes('--page-only')) await nodeStateStarts(await nodeColdBoots());
if (!process.argv.includes('--node-only')) await pageLoads();

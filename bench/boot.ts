// Boot benchmark: cold boot to a shell prompt under Node, start from the saved state to an agent
// that answers, and page load to prompt in Chromium
// (the page boots two hosts at once: first host's prompt, and both hosts ready for containers).
// Reports figures only; nothing here is asserted.
// Run: npm run bench:boot   (BENCH_RUNS=n runs each, default 5; --node-only skips Chromium)
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { createNodeHost, readManifest, readSavedState } from '../src/node/nodeHost';
import { launchChromium, serveBuiltSite, waitForPrompt } from '../tests/e2e/browser';
import { waitForHostRunning } from '../tests/e2e/panel';
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';

const NODE = 'boot (Node)';
const PAGE = 'page load (Chromium)';
const COLD = { group: NODE, name: 'new host → shell prompt, cold boot', label: 'cold boot' };
/** The page's two hosts ready, against one host under Node: what the browser and a second host add. */
const FROM_STATE = { group: NODE, name: 'new host → agent answers, clock set (from state)', label: 'one Node host from state' };

async function nodeColdBoots(rec: Recorder, runs: number): Promise<void> {
  const wall: number[] = [];
  const guest: number[] = [];
  for (let i = 0; i < runs; i++) {
    const host = createNodeHost(`bench-${i}`, { loadState: undefined });
    const result = await host.boot();
    wall.push(result.bootMs);
    guest.push(result.guestUptimeS * 1000);
    await host.shutdown();
  }
  rec.samples(NODE, COLD.name, 'ms', wall);
  rec.samples(NODE, 'guest uptime when /init finished (cold boot)', 'ms', guest);
}

/** Hosts from the saved state (files already read, as for every host after a tab's first). */
async function nodeStateStarts(rec: Recorder, runs: number): Promise<void> {
  const state = await readSavedState();
  await readManifest();
  if (!state) throw new Error('no saved state (npm run build:state)');
  const restored: number[] = [];
  const usable: number[] = [];
  for (let i = 0; i < runs; i++) {
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
  rec.samples(NODE, 'new host → restored from the saved state', 'ms', restored, { baseline: COLD });
  rec.samples(NODE, FROM_STATE.name, 'ms', usable, { baseline: COLD });
  rec.samples(NODE, 'saved state, zstd', 'bytes', [state.manifest.size], { note: `${(state.manifest.raw_size / 1e6).toFixed(1)} MB raw` });
}

async function pageLoads(rec: Recorder, runs: number): Promise<void> {
  const site = await serveBuiltSite();
  const browser = await launchChromium();
  const prompt: number[] = [];
  const ready: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
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
  rec.samples(PAGE, 'page load → node1 console prompt', 'ms', prompt);
  rec.samples(PAGE, 'page load → node1 + node2 ready for containers', 'ms', ready, { baseline: FROM_STATE });
}

export async function bootBench(options: BenchOptions & { page?: boolean } = {}): Promise<Row[]> {
  const runs = Number(process.env.BENCH_RUNS ?? (options.quick ? 2 : 5));
  const rec = new Recorder(options.onRow);
  await rec.phase(NODE, 'cold boots', () => nodeColdBoots(rec, runs));
  await rec.phase(NODE, 'starts from the saved state', () => nodeStateStarts(rec, runs));
  if (options.page !== false) await rec.phase(PAGE, 'page loads', () => pageLoads(rec, runs));
  return rec.rows;
}

if (isMain(import.meta.url)) {
  await runStandalone('boot benchmark', (o) => bootBench({ ...o, page: !process.argv.includes('--node-only') }));
}

// The page's UI thread while both hosts of the tab run: long tasks (over 50 ms, the browser's own
// PerformanceObserver 'longtask' entries) during the boot, while idle, and during a TCP transfer
// between containers on the two hosts, driven from the panel as a user would. Also writes a
// screenshot of the panel with the two hosts and their containers. Reports figures; asserts nothing.
// Run: npm run bench:page   (RUNS=n page loads, default 2; IDLE_S=n seconds idle, default 10; SCREENSHOT=path)
import { launchChromium, serveBuiltSite } from '../tests/e2e/browser';
import {
  containerTerminalText, createContainer, openContainerTerminal, typeInContainer, waitForHostRunning,
} from '../tests/e2e/panel';
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';

const IDLE_S = Number(process.env.IDLE_S ?? 10);
const SCREENSHOT = process.env.SCREENSHOT ?? '.build/panel-issue4.png';
const TRANSFER_BYTES = 32 << 20;

/** Runs in the page before its scripts: every long task, buffered from the navigation on. */
const OBSERVE = `(() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration,
      where: (e.attribution || []).map((a) => a.containerType + ':' + (a.containerSrc || a.containerName || '')).join(',') });
  }).observe({ type: 'longtask', buffered: true });
})();`;

interface LongTask { start: number; duration: number; where: string }

interface Phase { label: string; from: number; to: number }

async function onePage(browser: Awaited<ReturnType<typeof launchChromium>>, url: string, screenshot: string | undefined):
  Promise<{ phases: Phase[]; tasks: LongTask[]; rate: number | undefined; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.addInitScript(OBSERVE);
  const now = () => page.evaluate('performance.now()') as Promise<number>;
  const phases: Phase[] = [];
  const phase = async (label: string, work: () => Promise<unknown>) => {
    const from = await now();
    await work();
    phases.push({ label, from: phases.length ? from : 0, to: await now() });
  };

  await phase('page load → both hosts ready', async () => {
    await page.goto(url);
    await Promise.all(['node1', 'node2'].map((host) => waitForHostRunning(page, host)));
  });
  await phase(`idle, ${IDLE_S} s`, () => page.waitForTimeout(IDLE_S * 1000));
  await phase('create + start 2 containers', async () => {
    await createContainer(page, 'node1', { name: 'c1', ip: '10.0.1.1/16' });
    await createContainer(page, 'node2', { name: 'c2', ip: '10.0.2.1/16' });
  });
  await phase('open 2 container terminals', async () => {
    await openContainerTerminal(page, 'node2', 'c2');
    await openContainerTerminal(page, 'node1', 'c1');
  });
  await typeInContainer(page, 'node2', 'c2', 'ctnet recv 5000\n');
  await page.waitForTimeout(500);
  await phase(`TCP ${TRANSFER_BYTES >> 20} MiB c1 → c2 (terminals open)`, async () => {
    await typeInContainer(page, 'node1', 'c1', `ctnet send 10.0.2.1 5000 ${TRANSFER_BYTES}\n`);
    await page.waitForFunction(
      `/received bytes \\d+/.test(document.querySelector('[data-testid="container-terminal"][data-host="node2"][data-container="c2"] .xterm-rows')?.textContent ?? '')`,
      undefined, { timeout: 120_000, polling: 100 });
  });
  const received = /received bytes (\d+) fnv1a \w+ seconds ([\d.]+) MB\/s ([\d.]+)/.exec(await containerTerminalText(page, 'node2', 'c2'));
  const tasks = (await page.evaluate('window.__longTasks')) as LongTask[];
  if (screenshot) {
    await page.waitForTimeout(1000);
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  await context.close();
  return { phases, tasks, errors, rate: received ? Number(received[3]) : undefined };
}

const GROUP = 'page UI thread (Chromium, long tasks > 50 ms)';

export async function pageBench(options: BenchOptions = {}): Promise<Row[]> {
  const runs = Number(process.env.RUNS ?? (options.quick ? 1 : 2));
  const rec = new Recorder(options.onRow);
  await rec.phase(GROUP, 'page loads', async () => {
    const site = await serveBuiltSite();
    const browser = await launchChromium();
    const results: Awaited<ReturnType<typeof onePage>>[] = [];
    try {
      for (let i = 0; i < runs; i++) results.push(await onePage(browser, site.url, i === runs - 1 ? SCREENSHOT : undefined));
    } finally {
      await browser.close();
      await site.close();
    }
    results[0]!.phases.forEach(({ label }, p) => {
      const per = results.map((r) => {
        const { from, to } = r.phases[p]!;
        const inPhase = r.tasks.filter((t) => t.start >= from && t.start < to);
        return { n: inPhase.length, max: Math.max(0, ...inPhase.map((t) => t.duration)), len: to - from };
      });
      rec.samples(GROUP, `${label}: phase length`, 'ms', per.map((x) => x.len));
      rec.samples(GROUP, `${label}: long tasks`, 'count', per.map((x) => x.n));
      rec.samples(GROUP, `${label}: longest task`, 'ms', per.map((x) => x.max));
    });
    rec.samples(GROUP, `TCP ${TRANSFER_BYTES >> 20} MiB c1 → c2, as the receiver saw it`, 'MB/s',
      results.map((r) => r.rate).filter((r): r is number => r !== undefined));
    results.forEach((r, i) => {
      if (process.env.VERBOSE) for (const t of r.tasks) console.log(`  run ${i + 1}: long task at ${(t.start / 1000).toFixed(2)} s: ${t.duration.toFixed(0)} ms ${t.where}`);
      if (r.errors.length) console.log(`  run ${i + 1}: page errors: ${r.errors.join(' | ')}`);
    });
    console.log(`screenshot (last run): ${SCREENSHOT}`);
  });
  return rec.rows;
}

if (isMain(import.meta.url)) await runStandalone('page benchmark', pageBench);

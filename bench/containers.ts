// Container benchmark: create/start/stop/destroy times through the agent and with the ct CLI in
// the guest, then density (idle busybox containers on a 256 MB host).
// Reports figures only; nothing here is asserted.
// Run: npm run bench:containers   (BENCH_DENSITY_CAP=n containers at most, default 400;
// BENCH_DENSITY_BUDGET_S=n seconds for density, default 420)
import { bootGuest, type TestGuest } from '../tests/integration/guest';
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';

const WARMUP_RUNS = 2;
/** Density stops at the cap, when the console is slower than this, or at the time budget. */
const DENSITY_CONSOLE_LIMIT_MS = 1000;
const DENSITY_MEMORY_MB = 256;
const LIFECYCLE = 'containers: lifecycle';
const DENSITY = `containers: density (${DENSITY_MEMORY_MB} MB host)`;

/** How much each part does (BENCH_QUICK: less; the suite sets a shorter density budget by env). */
interface Sizes {
  /** Containers timed through the agent, after the warm-up ones. */
  lifecycleRuns: number;
  /** Containers the in-guest ct loop creates and starts. */
  cliRuns: number;
  densityCap: number;
  densityBudgetMs: number;
}

function sizes(options: BenchOptions): Sizes {
  return {
    lifecycleRuns: options.quick ? 5 : 20,
    cliRuns: options.quick ? 3 : 10,
    densityCap: Number(process.env.BENCH_DENSITY_CAP ?? (options.quick ? 20 : 400)),
    densityBudgetMs: Number(process.env.BENCH_DENSITY_BUDGET_S ?? (options.quick ? 60 : 420)) * 1000,
  };
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const message = (err: unknown) => (err instanceof Error ? `${err.name === 'AgentError' ? `${(err as { code?: string }).code}: ` : ''}${err.message}` : String(err));
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A unique address in 10.0.0.0/16 per (block, index): host parts 1..250, never .0 or .255. */
function ipFor(block: number, index: number): string {
  return `10.0.${block + Math.floor(index / 250)}.${1 + (index % 250)}/16`;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

async function boot(name: string, memoryMb?: number): Promise<TestGuest> {
  progress(`booting host "${name}"${memoryMb ? ` with ${memoryMb} MB` : ''}`);
  const [bootMs, g] = await timed(() => bootGuest(name, memoryMb));
  progress(`host "${name}" up in ${(bootMs / 1000).toFixed(1)} s`);
  g.agent.onProtocolError((e) => progress(`agent protocol error #${e.malformedCount}: ${e.reason}: ${e.line}`));
  return g;
}

async function memAvailable(g: TestGuest): Promise<number> {
  const kb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(await g.sh('cat /proc/meminfo'))?.[1]);
  if (!Number.isFinite(kb)) throw new Error('no MemAvailable in /proc/meminfo');
  return kb * 1024;
}

// --- 1 and 2: lifecycle times ---------------------------------------------------------------

async function agentLifecycle(rec: Recorder, g: TestGuest, runs: number): Promise<void> {
  progress(`warm-up: ${WARMUP_RUNS} containers through the agent`);
  for (let i = 0; i < WARMUP_RUNS; i++) {
    const name = `warm${i}`;
    await g.agent.create({ name, ip: ipFor(9, i) });
    await g.agent.start(name);
    await g.agent.stop(name);
    await g.agent.destroy(name);
  }

  const names: string[] = [];
  const create: number[] = [];
  const start: number[] = [];
  const both: number[] = [];
  const stop: number[] = [];
  const destroy: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const name = `life${i}`;
      const [c] = await timed(() => g.agent.create({ name, ip: ipFor(1, i) }));
      names.push(name);
      const [s] = await timed(() => g.agent.start(name));
      create.push(c);
      start.push(s);
      both.push(c + s);
      if ((i + 1) % 10 === 0) progress(`agent: ${i + 1}/${runs} created+started`);
    }
  } finally {
    // Stop and destroy whatever was created, timing each, even if a create or start failed.
    for (const [i, name] of names.entries()) {
      const [t] = await timed(() => g.agent.stop(name));
      stop.push(t);
      if ((i + 1) % 10 === 0) progress(`agent: ${i + 1}/${names.length} stopped`);
    }
    for (const [i, name] of names.entries()) {
      const [t] = await timed(() => g.agent.destroy(name));
      destroy.push(t);
      if ((i + 1) % 10 === 0) progress(`agent: ${i + 1}/${names.length} destroyed`);
    }
    // After the warm-up containers, not counted: the emulator's JIT makes the first ones slower.
    const createStart = { group: LIFECYCLE, name: 'agent: create + start', label: 'create + start' };
    rec.samples(LIFECYCLE, createStart.name, 'ms', both, { note: `after ${WARMUP_RUNS} warm-up containers` });
    rec.samples(LIFECYCLE, 'agent: create', 'ms', create, { baseline: createStart });
    rec.samples(LIFECYCLE, 'agent: start', 'ms', start, { baseline: createStart });
    rec.samples(LIFECYCLE, 'agent: stop (running, idle init)', 'ms', stop);
    rec.samples(LIFECYCLE, 'agent: destroy (stopped)', 'ms', destroy);
  }
}

/** Means over `n` of ct create+start, stop and destroy, timed in the guest by /proc/uptime. */
async function cliLifecycle(rec: Recorder, g: TestGuest, n: number): Promise<void> {
  const loop = (body: string, prefix: string, block: number, n: number) =>
    `read a _ </proc/uptime; i=0; while [ $i -lt ${n} ]; do ${body
      .replaceAll('NAME', `${prefix}$i`)
      .replaceAll('IP', `10.0.${block}.$((i+1))/16`)} || break; i=$((i+1)); done; read b _ </proc/uptime; echo "@times $a $b $i"`;
  const run = async (label: string, body: string, prefix: string, block: number, n: number) => {
    const out = await g.sh(loop(body, prefix, block, n));
    const m = /@times ([\d.]+) ([\d.]+) (\d+)/.exec(out);
    if (!m) throw new Error(`${label}: unexpected output: ${out}`);
    const done = Number(m[3]);
    if (done !== n) throw new Error(`${label}: only ${done} of ${n} done: ${out}`);
    return ((Number(m[2]) - Number(m[1])) * 1000) / n;
  };

  progress(`warm-up: ${WARMUP_RUNS} containers with the ct CLI`);
  await run('warm-up', 'ct create NAME --ip IP >/dev/null && ct start NAME >/dev/null', 'cliw', 8, WARMUP_RUNS);
  await run('warm-up', 'ct stop NAME >/dev/null && ct destroy NAME', 'cliw', 8, WARMUP_RUNS);

  // One sample each, a mean: /proc/uptime has 10 ms resolution, too coarse for one container.
  const note = `mean of ${n}, timed in the guest`;
  const agentBoth = { group: LIFECYCLE, name: 'agent: create + start', label: 'agent create + start' };
  progress(`in-guest: ${n} x ct create + ct start`);
  const up = await run('create+start', 'ct create NAME --ip IP >/dev/null && ct start NAME >/dev/null', 'cli', 2, n);
  rec.samples(LIFECYCLE, 'ct CLI in the guest: create + start', 'ms', [up], { note, baseline: agentBoth });
  progress(`in-guest: ${n} x ct stop, ct destroy`);
  const down = await run('stop', 'ct stop NAME >/dev/null', 'cli', 2, n);
  rec.samples(LIFECYCLE, 'ct CLI in the guest: stop', 'ms', [down], { note });
  const gone = await run('destroy', 'ct destroy NAME', 'cli', 2, n);
  rec.samples(LIFECYCLE, 'ct CLI in the guest: destroy', 'ms', [gone], { note });
}

// --- 3: density -----------------------------------------------------------------------------

async function density(rec: Recorder, g: TestGuest, cap: number, budgetMs: number): Promise<void> {
  const [consoleBaseline] = await timed(() => g.sh('true'));
  const before = await memAvailable(g);
  const startTimes: number[] = [];
  const consoleTimes: number[] = [];
  let stoppedBy = `the cap of ${cap}`;
  const began = performance.now();
  for (let i = 0; i < cap; i++) {
    const name = `d${i}`;
    try {
      const [t] = await timed(async () => {
        await g.agent.create({ name, ip: ipFor(10, i) });
        await g.agent.start(name);
      });
      startTimes.push(t);
    } catch (err) {
      stoppedBy = `an error at container ${i + 1}: ${message(err)}`;
      break;
    }
    let c: number;
    try {
      [c] = await timed(() => g.sh('true'));
    } catch (err) {
      stoppedBy = `the console failing after container ${i + 1}: ${message(err)}`;
      break;
    }
    consoleTimes.push(c);
    if ((i + 1) % 10 === 0) {
      progress(`density: ${i + 1} running, last start ${ms(startTimes.at(-1)!)}, console ${ms(c)}, ${((performance.now() - began) / 1000).toFixed(0)} s so far`);
    }
    if (c > DENSITY_CONSOLE_LIMIT_MS) {
      stoppedBy = `the console taking ${ms(c)} (over ${DENSITY_CONSOLE_LIMIT_MS} ms) to answer after container ${i + 1}`;
      break;
    }
    if (performance.now() - began > budgetMs) {
      stoppedBy = `the time budget of ${budgetMs / 1000} s`;
      break;
    }
  }
  const count = startTimes.length;
  progress(`density: ${count} containers, stopped by ${stoppedBy}`);
  rec.add({ group: DENSITY, name: 'idle busybox containers running', unit: 'count', runs: [count], note: `stopped by ${stoppedBy}` });
  const after = await memAvailable(g);
  rec.samples(DENSITY, 'host MemAvailable, empty', 'bytes', [before]);
  rec.samples(DENSITY, `host MemAvailable, ${count} containers`, 'bytes', [after]);
  if (count === 0) return;
  rec.samples(DENSITY, 'host memory per container (MemAvailable)', 'bytes', [(before - after) / count]);
  const charged = (await g.sh('cat /sys/fs/cgroup/ct/*/memory.current')).split(/\s+/).filter(Boolean).map(Number);
  rec.samples(DENSITY, 'cgroup memory.current per container', 'bytes', charged);
  const edge = Math.min(10, count);
  const first = { group: DENSITY, name: `agent create + start, first ${edge}`, label: `first ${edge}` };
  rec.samples(DENSITY, first.name, 'ms', startTimes.slice(0, edge));
  rec.samples(DENSITY, `agent create + start, last ${edge}`, 'ms', startTimes.slice(-edge), { baseline: first });
  const empty = { group: DENSITY, name: 'console "true" round trip, empty host', label: 'empty host' };
  rec.samples(DENSITY, empty.name, 'ms', [consoleBaseline]);
  rec.samples(DENSITY, `console "true" round trip, first ${edge}`, 'ms', consoleTimes.slice(0, edge), { baseline: empty });
  rec.samples(DENSITY, `console "true" round trip, last ${edge}`, 'ms', consoleTimes.slice(-edge), { baseline: empty });
  rec.samples(DENSITY, 'density phase', 'ms', [performance.now() - began]);
}

// --- main -----------------------------------------------------------------------------------

export async function containersBench(options: BenchOptions = {}): Promise<Row[]> {
  const size = sizes(options);
  const rec = new Recorder(options.onRow);
  let host: TestGuest | undefined;
  await rec.phase(LIFECYCLE, 'host', async () => { host = await boot('ct-bench'); });
  if (host) {
    const g = host;
    await rec.phase(LIFECYCLE, 'agent lifecycle', () => agentLifecycle(rec, g, size.lifecycleRuns));
    await rec.phase(LIFECYCLE, 'ct CLI lifecycle', () => cliLifecycle(rec, g, size.cliRuns));
    await rec.phase(LIFECYCLE, 'shutdown', () => g.dispose());
  }
  let dense: TestGuest | undefined;
  await rec.phase(DENSITY, 'host', async () => { dense = await boot('density', DENSITY_MEMORY_MB); });
  if (dense) {
    const g = dense;
    await rec.phase(DENSITY, 'density', () => density(rec, g, size.densityCap, size.densityBudgetMs));
    await rec.phase(DENSITY, 'shutdown', () => g.dispose());
  }
  return rec.rows;
}

if (isMain(import.meta.url)) await runStandalone('containers benchmark', containersBench);

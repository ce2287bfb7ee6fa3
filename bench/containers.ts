// Container benchmark: create/start/stop/destroy times through the agent and with the ct CLI in
// the guest, then density (idle busybox containers on a 256 MB host).
// Prints figures only; nothing here is asserted.  Run: npm run bench:containers
import os from 'node:os';
import { bootGuest, type TestGuest } from '../tests/integration/guest';
import { formatSummary, summarize } from './stats';

/** Containers timed through the agent, after the warm-up ones. */
const LIFECYCLE_RUNS = 20;
const WARMUP_RUNS = 2;
/** Containers the in-guest ct loop creates and starts. */
const CLI_RUNS = 10;
/** Density stops at this many containers, when the console is slower than this, or after this long. */
const DENSITY_CAP = Number(process.env.BENCH_DENSITY_CAP ?? 400);
const DENSITY_CONSOLE_LIMIT_MS = 1000;
const DENSITY_BUDGET_MS = Number(process.env.BENCH_DENSITY_BUDGET_S ?? 420) * 1000;
const DENSITY_MEMORY_MB = 256;

const ms = (v: number) => `${v.toFixed(0)} ms`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const message = (err: unknown) => (err instanceof Error ? `${err.name === 'AgentError' ? `${(err as { code?: string }).code}: ` : ''}${err.message}` : String(err));
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const summaryLine = (label: string, samples: number[], unit: (v: number) => string = ms) =>
  samples.length ? formatSummary(label, summarize(samples), unit) : `${label.padEnd(44)} no samples`;

/** A unique address in 10.0.0.0/16 per (block, index): host parts 1..250, never .0 or .255. */
function ipFor(block: number, index: number): string {
  return `10.0.${block + Math.floor(index / 250)}.${1 + (index % 250)}/16`;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

/** Runs one phase; a failure is printed and the benchmark goes on. */
async function phase(label: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    console.log(`${label}: FAILED: ${message(err)}`);
    progress(`${label} failed: ${err instanceof Error ? err.stack : String(err)}`);
  }
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

async function agentLifecycle(g: TestGuest): Promise<void> {
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
    for (let i = 0; i < LIFECYCLE_RUNS; i++) {
      const name = `life${i}`;
      const [c] = await timed(() => g.agent.create({ name, ip: ipFor(1, i) }));
      names.push(name);
      const [s] = await timed(() => g.agent.start(name));
      create.push(c);
      start.push(s);
      both.push(c + s);
      if ((i + 1) % 10 === 0) progress(`agent: ${i + 1}/${LIFECYCLE_RUNS} created+started`);
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
    console.log(`(after ${WARMUP_RUNS} warm-up containers, not counted: the emulator's JIT makes the first ones slower)`);
    console.log(summaryLine('agent round trip: create + start', both));
    console.log(summaryLine('  of which create', create));
    console.log(summaryLine('  of which start', start));
    console.log(summaryLine('agent round trip: stop (running, idle init)', stop));
    console.log(summaryLine('agent round trip: destroy (stopped)', destroy));
  }
}

/** Means over CLI_RUNS of ct create+start, stop and destroy, timed in the guest by /proc/uptime. */
async function cliLifecycle(g: TestGuest): Promise<void> {
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

  progress(`in-guest: ${CLI_RUNS} x ct create + ct start`);
  const up = await run('create+start', 'ct create NAME --ip IP >/dev/null && ct start NAME >/dev/null', 'cli', 2, CLI_RUNS);
  console.log(`${`in-guest ct create+start (mean of ${CLI_RUNS})`.padEnd(44)} ${ms(up)}`);
  progress(`in-guest: ${CLI_RUNS} x ct stop, ct destroy`);
  const down = await run('stop', 'ct stop NAME >/dev/null', 'cli', 2, CLI_RUNS);
  console.log(`${`in-guest ct stop (mean of ${CLI_RUNS})`.padEnd(44)} ${ms(down)}`);
  const gone = await run('destroy', 'ct destroy NAME', 'cli', 2, CLI_RUNS);
  console.log(`${`in-guest ct destroy (mean of ${CLI_RUNS})`.padEnd(44)} ${ms(gone)}`);
  console.log('(in-guest figures: /proc/uptime has 10 ms resolution; the CLI warmed up with 2 containers first)');
}

// --- 3: density -----------------------------------------------------------------------------

async function density(g: TestGuest): Promise<void> {
  const [consoleBaseline] = await timed(() => g.sh('true'));
  const before = await memAvailable(g);
  const startTimes: number[] = [];
  const consoleTimes: number[] = [];
  let stoppedBy = `the cap of ${DENSITY_CAP}`;
  const began = performance.now();
  for (let i = 0; i < DENSITY_CAP; i++) {
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
    if (performance.now() - began > DENSITY_BUDGET_MS) {
      stoppedBy = `the time budget of ${DENSITY_BUDGET_MS / 1000} s`;
      break;
    }
  }
  const count = startTimes.length;
  console.log(`density on a ${DENSITY_MEMORY_MB} MB host: ${count} idle busybox containers running; stopped by ${stoppedBy}`);
  const after = await memAvailable(g).catch((err: unknown) => message(err));
  console.log(`${'host MemAvailable before / after'.padEnd(44)} ${kib(before)} / ${typeof after === 'number' ? kib(after) : after}`);
  if (count > 0 && typeof after === 'number') {
    console.log(`${'host memory per container (MemAvailable)'.padEnd(44)} ${kib((before - after) / count)}`);
  }
  if (count > 0) {
    const charged = (await g.sh('cat /sys/fs/cgroup/ct/*/memory.current')).split(/\s+/).filter(Boolean).map(Number);
    const total = charged.reduce((a, b) => a + b, 0);
    console.log(`${'cgroup memory.current per container'.padEnd(44)} ${kib(total / count)}  (sum ${kib(total)} over ${charged.length} cgroups)`);
    const edge = Math.min(10, count);
    console.log(summaryLine(`agent create + start, first ${edge}`, startTimes.slice(0, edge)));
    console.log(summaryLine(`agent create + start, last ${edge}`, startTimes.slice(-edge)));
    console.log(`${'console "true" round trip, empty host'.padEnd(44)} ${ms(consoleBaseline)}`);
    console.log(summaryLine(`console "true" round trip, first ${edge}`, consoleTimes.slice(0, edge)));
    console.log(summaryLine(`console "true" round trip, last ${edge}`, consoleTimes.slice(-edge)));
    const procs = await g.sh("ls /proc | grep -c '^[0-9]'").catch(message);
    const meminfo = await g.sh("grep -E '^(MemTotal|MemFree|Slab|SUnreclaim|KernelStack|PageTables|Shmem):' /proc/meminfo").catch(message);
    console.log(`host after: ${procs} processes; ${meminfo.replace(/\s+kB/g, ' kB').replace(/\n/g, ', ').replace(/\s{2,}/g, ' ')}`);
  }
  console.log(`(density phase took ${((performance.now() - began) / 1000).toFixed(0)} s)`);
}

// --- main -----------------------------------------------------------------------------------

console.log(`ctlab containers benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}`);
const benchStarted = performance.now();

let host: TestGuest | undefined;
await phase('lifecycle host', async () => { host = await boot('ct-bench'); });
if (host) {
  const g = host;
  await phase('agent lifecycle', () => agentLifecycle(g));
  await phase('in-guest ct lifecycle', () => cliLifecycle(g));
  await phase('shutdown of ct-bench', () => g.dispose());
}

let dense: TestGuest | undefined;
await phase('density host', async () => { dense = await boot('density', DENSITY_MEMORY_MB); });
if (dense) {
  const g = dense;
  await phase('density', () => density(g));
  await phase('shutdown of density', () => g.dispose());
}

console.log(`(whole benchmark: ${((performance.now() - benchStarted) / 1000).toFixed(0)} s)`);

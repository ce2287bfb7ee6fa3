// Live migration benchmark: two hosts on one virtual switch, by default each in its own worker
// thread (as the page runs each host in its own Web Worker); each workload's container goes
// node1 -> node2 -> node1, repeated. Figures from ct migrate's report (frozen time, total time,
// pre-copy rounds and bytes) and pings missed by a probe container pinging the migrating one every
// 100 ms, and the guest instructions both hosts ran in the frozen window (the window's work: unlike
// its duration, it does not depend on how warm the emulator's JIT is). Reports figures only;
// nothing is asserted.
// Run: npm run bench:migrate   (BENCH_RUNS=n round trips per workload, default 2;
// BENCH_MIGRATE_THREADS=one for both hosts in this thread; BENCH_ONLY=b for the workloads whose label has "b")
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';
import { startSwitchedHosts, type HostThreads, type SwitchedHosts } from './switchedHosts';

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WORKLOADS: Record<string, string> = {
  'a: C counter': 'ctdemo count 100',
  'b: sh loop + sleep': 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; echo n=$i; sleep 1; done',
  'c: producer | consumer': 'ctdemo produce 10 | ctdemo consume',
  'd: busybox httpd': 'mkdir -p /www && echo hi > /www/index.html && httpd -f -p 80 -h /www',
  '1 MB rewritten': 'ctdemo mem 1 8',
  '8 MB rewritten': 'ctdemo mem 8 8',
  '32 MB rewritten': 'ctdemo mem 32 8',
};

interface Report { rounds: number; roundBytes: number[]; final: number; frozen: number; confirmed: number; total: number }
function parse(line: string): Report {
  const m = /(\d+) pre-copy rounds \(([\d ]*) bytes\), final (\d+) bytes .* frozen (\d+) ms.*; confirmed at (\d+)\), total (\d+) ms/.exec(line);
  if (!m) throw new Error(`no report in: ${line}`);
  return { rounds: Number(m[1]), roundBytes: m[2]!.split(' ').filter(Boolean).map(Number), final: Number(m[3]),
    frozen: Number(m[4]), confirmed: Number(m[5]), total: Number(m[6]) };
}

/**
 * Guest instructions both hosts run from the source's "ct: freezing" to its "ct: stopping" (the
 * frozen window as the source reports its phases), read from their counters as the marks reach
 * this thread (a message's latency off at each end: ~0.1-0.3 M instructions).
 */
function watchFrozenWork(hosts: SwitchedHosts, source: number): () => Promise<number | undefined> {
  const marks = ['ct: freezing', 'ct: stopping'];
  const counts: Promise<number[]>[] = [];
  let text = '';
  const subscription = hosts.hosts[source]!.onConsoleOutput((bytes) => {
    text = (text + new TextDecoder().decode(bytes)).slice(-4096);
    const at = counts.length < marks.length ? text.indexOf(marks[counts.length]!) : -1;
    if (at < 0) return;
    text = text.slice(at + marks[counts.length]!.length);
    counts.push(Promise.all(hosts.hosts.map((h) => h.stats().then((s) => s.instructions))));
  });
  return async () => {
    subscription.dispose();
    if (counts.length < marks.length) return undefined;
    const [from, to] = await Promise.all(counts);
    return from!.reduce((sum, a, i) => sum + ((to![i]! - a) >>> 0), 0) / 1e6;
  };
}

async function sh(hosts: SwitchedHosts, node: number, command: string): Promise<string> {
  const { output, exitCode } = await hosts.shells[node]!.run(command, 300_000);
  if (exitCode !== 0) throw new Error(`${hosts.names[node]}: "${command}" exited ${exitCode}: ${output}`);
  return output.trim();
}

/** `runs` round trips of one workload's container between node1 and node2. */
async function workload(rec: Recorder, hosts: SwitchedHosts, group: string, script: string, index: number, runs: number): Promise<void> {
  const ct = `m${index}`;
  const ip = `10.0.7.${index + 1}`;
  let here = 0;
  await sh(hosts, 0, `ct create ${ct} --ip ${ip}/16 && ct start ${ct}`);
  try {
    await sh(hosts, 0, `ct exec ${ct} -- sh -c '(${script}) > /dev/console 2>&1 < /dev/null &'`);
    await sleep(3000);
    const reports: Report[] = [];
    const missed: number[] = [];
    const work: number[] = [];
    for (let i = 0; i < 2 * runs; i++) {
      const there = 1 - here;
      // A probe on node1 pings the container every 100 ms for the whole migration.
      const ping = hosts.shells[0]!.run(`ct exec probe -- ping -i 0.1 -w 12 -q ${ip}`, 60_000);
      await sleep(1500);
      const frozenWork = watchFrozenWork(hosts, here);
      reports.push(parse(await sh(hosts, here, `ct migrate ${ct} ${hosts.addresses[there]}`)));
      const w = await frozenWork();
      if (w !== undefined) work.push(w);
      here = there;
      const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec((await ping).output);
      if (m) missed.push(Number(m[1]) - Number(m[2]));
      await sleep(1000);
    }
    progress(`${group}: ${reports.map((r) => `${r.frozen}/${r.confirmed}/${r.total} ms`).join(', ')}`);
    const total = { group, name: 'total', label: 'total' };
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    rec.samples(group, total.name, 'ms', reports.map((r) => r.total));
    rec.samples(group, 'frozen (freeze to running there)', 'ms', reports.map((r) => r.frozen), { baseline: total });
    // The source holds its copy a little longer: until the destination's DONE reaches it.
    rec.samples(group, 'freeze to DONE at the source', 'ms', reports.map((r) => r.confirmed));
    // The emulator compiles guest code only once it has run a while (docs/checkpoint.md): the first
    // workload's first migrations run the frozen round's paths cold, later ones warmer.
    if (reports.length > 2) {
      rec.samples(group, 'frozen, its first 2 migrations', 'ms', reports.slice(0, 2).map((r) => r.frozen));
      rec.samples(group, 'frozen, its later migrations', 'ms', reports.slice(2).map((r) => r.frozen));
    }
    rec.samples(group, 'guest work in the frozen window (both hosts)', 'M instructions', work);
    rec.samples(group, 'pre-copy rounds', 'count', reports.map((r) => r.rounds));
    const moved = { group, name: 'bytes moved in all', label: 'all bytes' };
    rec.samples(group, moved.name, 'bytes', reports.map((r) => r.final + sum(r.roundBytes)));
    rec.samples(group, 'pre-copy bytes', 'bytes', reports.map((r) => sum(r.roundBytes)), { baseline: moved });
    rec.samples(group, 'frozen-round image bytes', 'bytes', reports.map((r) => r.final), { baseline: moved });
    rec.samples(group, 'pings missed (100 ms interval)', 'count', missed);
  } finally {
    await sh(hosts, here, `ct destroy ${ct} --force`).catch(() => undefined);
  }
}

export async function migrateBench(options: BenchOptions & { threads?: HostThreads } = {}): Promise<Row[]> {
  const runs = Number(process.env.BENCH_RUNS ?? (options.quick ? 1 : 2));
  const threads = options.threads ?? (process.env.BENCH_MIGRATE_THREADS === 'one' ? 'one thread' : 'workers');
  const only = process.env.BENCH_ONLY;
  // Quick: the 32 MB workload alone would take longer than the rest.
  const workloads = Object.entries(WORKLOADS)
    .filter(([label]) => (!only || label.includes(only)) && !(options.quick && label.startsWith('32')));
  const rec = new Recorder(options.onRow);
  const prefix = `migration (${threads === 'workers' ? 'hosts in 2 workers' : 'hosts in one thread'})`;
  progress(`${prefix}: ${runs} round trips per workload (${2 * runs} migrations)`);
  let hosts: SwitchedHosts | undefined;
  await rec.phase(prefix, 'hosts', async () => {
    hosts = await startSwitchedHosts(2, threads);
    await sh(hosts, 0, 'ct create probe --ip 10.0.7.250/16 && ct start probe');
  });
  if (!hosts) return rec.rows;
  const h = hosts;
  try {
    for (const [index, [label, script]] of workloads.entries()) {
      const group = `${prefix} ${label}`;
      await rec.phase(group, 'workload', () => workload(rec, h, group, script, index, runs));
    }
  } finally {
    await h.close();
  }
  return rec.rows;
}

if (isMain(import.meta.url)) await runStandalone('migration benchmark', migrateBench);

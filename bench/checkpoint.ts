// Checkpoint/restore benchmark: checkpoint time (frozen and total), restore time and image size for
// the C/R issue's workloads (a)-(d), each in its own container on one host, repeated.
// Figures come from ct's own report line (timed inside the guest) and from the wall clock around
// the command. Reports figures only; nothing is asserted.
// Run: npm run bench:checkpoint   (BENCH_RUNS=n runs per workload after a warm-up, default 5)
import { bootGuest, type TestGuest } from '../tests/integration/guest';
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WORKLOADS: Record<string, { script: string; ready: RegExp }> = {
  'a: C counter': { script: 'ctdemo count 100', ready: /count 5\b/ },
  'b: sh loop + sleep': { script: 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; echo n=$i; sleep 1; done', ready: /n=2\b/ },
  'c: producer | consumer': { script: 'ctdemo produce 10 | ctdemo consume', ready: /consume ok 50 / },
  'd: busybox httpd': { script: 'mkdir -p /www && echo hi > /www/index.html && httpd -f -p 80 -h /www', ready: /./ },
};

interface Report { total: number; frozen: number; image: number; pages: number }
function parseReport(line: string): Report {
  const m = /(\d+) pages, \d+ bytes of files, image (\d+) bytes, frozen (\d+) ms, total (\d+) ms/.exec(line);
  if (!m) throw new Error(`no report in: ${line}`);
  return { pages: Number(m[1]), image: Number(m[2]), frozen: Number(m[3]), total: Number(m[4]) };
}

async function workload(rec: Recorder, g: TestGuest, label: string, index: number, runs: number): Promise<void> {
  const { script, ready } = WORKLOADS[label]!;
  const ct = `cr${index}`;
  await g.sh(`ct create ${ct} --ip 10.0.8.${index + 1}/16 && ct start ${ct}`);
  await g.sh(`ct exec ${ct} -- sh -c '(${script}) > /dev/console 2>&1 < /dev/null &'`);
  for (let i = 0; i < 50 && !ready.test(await g.sh(`ct logs ${ct}`)); i++) await sleep(200);
  await sleep(1000); // the JIT warms on the workload's code
  const ckpt: Report[] = [], rest: Report[] = [], ckptWall: number[] = [], restWall: number[] = [];
  for (let run = 0; run < runs + 1; run++) {
    let t = performance.now();
    const c = parseReport(await g.sh(`ct checkpoint ${ct} --dir /tmp/b-${ct}`));
    const cw = performance.now() - t;
    t = performance.now();
    const r = parseReport(await g.sh(`ct restore ${ct} --dir /tmp/b-${ct}`));
    const rw = performance.now() - t;
    if (run === 0) continue; // warm-up round
    ckpt.push(c); rest.push(r); ckptWall.push(cw); restWall.push(rw);
    await sleep(300);
  }
  const group = `checkpoint ${label}`;
  const total = { group, name: 'checkpoint: total (in guest)', label: 'checkpoint total' };
  rec.samples(group, total.name, 'ms', ckpt.map((x) => x.total));
  rec.samples(group, 'checkpoint: frozen (in guest)', 'ms', ckpt.map((x) => x.frozen), { baseline: total });
  rec.samples(group, 'checkpoint: wall (console round trip)', 'ms', ckptWall, { baseline: total });
  rec.samples(group, 'restore: total (in guest)', 'ms', rest.map((x) => x.total), { baseline: total });
  rec.samples(group, 'restore: wall (console round trip)', 'ms', restWall, { baseline: total });
  rec.samples(group, 'image size', 'bytes', ckpt.map((x) => x.image));
  rec.samples(group, 'memory pages saved', 'count', ckpt.map((x) => x.pages));
  await g.sh(`ct destroy ${ct} --force`).catch(() => undefined);
}

export async function checkpointBench(options: BenchOptions = {}): Promise<Row[]> {
  const runs = Number(process.env.BENCH_RUNS ?? (options.quick ? 2 : 5));
  const rec = new Recorder(options.onRow);
  let g: TestGuest | undefined;
  await rec.phase('checkpoint', 'host', async () => { g = await bootGuest('bench-cr'); });
  if (!g) return rec.rows;
  const guest = g;
  for (const [index, label] of Object.keys(WORKLOADS).entries()) {
    await rec.phase(`checkpoint ${label}`, 'workload', () => workload(rec, guest, label, index, runs));
  }
  await guest.dispose();
  return rec.rows;
}

if (isMain(import.meta.url)) await runStandalone('checkpoint benchmark', checkpointBench);

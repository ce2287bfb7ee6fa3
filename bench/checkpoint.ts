// Checkpoint/restore benchmark: checkpoint time (frozen and total), restore time and image size for
// the C/R issue's workloads (a)-(d), each in its own container on one host, repeated.
// Figures come from ct's own report line (timed inside the guest) and from the wall clock around
// the command. Prints figures only; nothing is asserted.  Run: npm run bench:checkpoint
import os from 'node:os';
import { bootGuest } from '../tests/integration/guest';
import { formatSummary, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
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

const g = await bootGuest('bench-cr');
console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, node ${process.version}; ${RUNS} runs per workload`);
const rows: string[] = [];
let index = 0;
for (const [label, { script, ready }] of Object.entries(WORKLOADS)) {
  const ct = `cr${index}`;
  await g.sh(`ct create ${ct} --ip 10.0.8.${++index}/16 && ct start ${ct}`);
  await g.sh(`ct exec ${ct} -- sh -c '(${script}) > /dev/console 2>&1 < /dev/null &'`);
  for (let i = 0; i < 50 && !ready.test(await g.sh(`ct logs ${ct}`)); i++) await sleep(200);
  await sleep(1000); // the JIT warms on the workload's code
  const ckpt: Report[] = [], rest: Report[] = [], ckptWall: number[] = [], restWall: number[] = [];
  for (let run = 0; run < RUNS + 1; run++) {
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
  progress(`${label} done`);
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  rows.push(`${label}`);
  rows.push(formatSummary('  checkpoint: frozen (in guest)', summarize(ckpt.map((x) => x.frozen)), ms));
  rows.push(formatSummary('  checkpoint: total (in guest)', summarize(ckpt.map((x) => x.total)), ms));
  rows.push(formatSummary('  checkpoint: wall (console round trip)', summarize(ckptWall), ms));
  rows.push(formatSummary('  restore: total (in guest)', summarize(rest.map((x) => x.total)), ms));
  rows.push(formatSummary('  restore: wall (console round trip)', summarize(restWall), ms));
  rows.push(formatSummary('  image size', summarize(ckpt.map((x) => x.image)), (v) => `${(v / 1024).toFixed(0)} KiB`));
  rows.push(formatSummary('  memory pages saved', summarize(ckpt.map((x) => x.pages)), (v) => `${v.toFixed(0)}`));
}
console.log(rows.join('\n'));
await g.dispose();
process.exit(0);

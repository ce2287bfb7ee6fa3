// Live migration benchmark: two hosts under Node on one virtual switch; each workload's container
// goes node1 -> node2 -> node1, repeated. Figures from ct migrate's report (frozen time, total
// time, pre-copy rounds and bytes) and pings missed by a probe container pinging the migrating one
// every 100 ms. Prints figures only; nothing is asserted.  Run: npm run bench:migrate
import os from 'node:os';
import { Cluster } from '../src/common/cluster/Cluster';
import { ConsoleShell } from '../src/common/host/ConsoleShell';
import { LocalNetwork } from '../src/common/network/LocalNetwork';
import { createNodeHost } from '../src/node/nodeHost';
import { formatSummary, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);   // round trips per workload
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ADDR: Record<string, string> = { node1: '10.0.0.1', node2: '10.0.0.2' };

const WORKLOADS: Record<string, string> = {
  'a: C counter': 'ctdemo count 100',
  'b: sh loop + sleep': 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; echo n=$i; sleep 1; done',
  'c: producer | consumer': 'ctdemo produce 10 | ctdemo consume',
  'd: busybox httpd': 'mkdir -p /www && echo hi > /www/index.html && httpd -f -p 80 -h /www',
  '1 MB rewritten': 'ctdemo mem 1 8',
  '8 MB rewritten': 'ctdemo mem 8 8',
  '32 MB rewritten': 'ctdemo mem 32 8',
};

interface Report { rounds: number; roundBytes: number[]; final: number; frozen: number; total: number }
function parse(line: string): Report {
  const m = /(\d+) pre-copy rounds \(([\d ]*) bytes\), final (\d+) bytes .* frozen (\d+) ms.*, total (\d+) ms/.exec(line);
  if (!m) throw new Error(`no report in: ${line}`);
  return { rounds: Number(m[1]), roundBytes: m[2]!.split(' ').filter(Boolean).map(Number), final: Number(m[3]),
    frozen: Number(m[4]), total: Number(m[5]) };
}

const network = new LocalNetwork(new BroadcastChannel(`ctlab-bench-mig-${process.pid}`), { settleMs: 100 });
const cluster = new Cluster(network, (identity) => {
  const host = createNodeHost(identity.name);
  network.attachHost(identity.name, host.nic);
  return host;
});
await cluster.addHosts(2);
const shells = new Map(cluster.nodes.map((n) => [n.name, new ConsoleShell(n.host)]));
async function sh(node: string, command: string): Promise<string> {
  const { output, exitCode } = await shells.get(node)!.run(command, 300_000);
  if (exitCode !== 0) throw new Error(`${node}: "${command}" exited ${exitCode}: ${output}`);
  return output.trim();
}

console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, node ${process.version}; ` +
  `${RUNS} round trips per workload (${2 * RUNS} migrations)`);
await sh('node1', 'ct create probe --ip 10.0.7.250/16 && ct start probe');
const rows: string[] = [];
let index = 0;
const only = process.env.BENCH_ONLY;   // e.g. BENCH_ONLY=b to run the workloads whose label has "b"
for (const [label, script] of Object.entries(WORKLOADS).filter(([l]) => !only || l.includes(only))) {
  const ct = `m${index}`;
  const ip = `10.0.7.${++index}`;
  await sh('node1', `ct create ${ct} --ip ${ip}/16 && ct start ${ct}`);
  await sh('node1', `ct exec ${ct} -- sh -c '(${script}) > /dev/console 2>&1 < /dev/null &'`);
  await sleep(3000);
  const reports: Report[] = [];
  const missed: number[] = [];
  let here = 'node1';
  for (let i = 0; i < 2 * RUNS; i++) {
    const there = here === 'node1' ? 'node2' : 'node1';
    // A probe on node1 pings the container every 100 ms for the whole migration.
    const ping = shells.get('node1')!.run(`ct exec probe -- ping -i 0.1 -w 12 -q ${ip}`, 60_000);
    await sleep(1500);
    reports.push(parse(await sh(here, `ct migrate ${ct} ${ADDR[there]}`)));
    const out = (await ping).output;
    const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec(out);
    if (m) missed.push(Number(m[1]) - Number(m[2]));
    here = there;
    await sleep(1000);
  }
  progress(`${label}: ${reports.map((r) => `${r.frozen}/${r.total} ms`).join(', ')}`);
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const kib = (v: number) => `${(v / 1024).toFixed(0)} KiB`;
  rows.push(label);
  rows.push(formatSummary('  frozen (freeze to running there)', summarize(reports.map((r) => r.frozen)), ms));
  rows.push(formatSummary('  total', summarize(reports.map((r) => r.total)), ms));
  rows.push(formatSummary('  pre-copy rounds', summarize(reports.map((r) => r.rounds)), (v) => v.toFixed(0)));
  rows.push(formatSummary('  pre-copy bytes', summarize(reports.map((r) => r.roundBytes.reduce((a, b) => a + b, 0))), kib));
  rows.push(formatSummary('  frozen-round image bytes', summarize(reports.map((r) => r.final)), kib));
  rows.push(formatSummary('  bytes moved in all', summarize(reports.map((r) => r.final + r.roundBytes.reduce((a, b) => a + b, 0))), kib));
  if (missed.length) rows.push(formatSummary('  pings missed (100 ms interval)', summarize(missed), (v) => v.toFixed(0)));
  await sh(here, `ct destroy ${ct} --force`);
}
console.log(rows.join('\n'));
for (const s of shells.values()) s.dispose();
cluster.dispose();
process.exit(0);

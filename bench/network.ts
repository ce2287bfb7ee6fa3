// Network benchmark: TCP throughput (ctnet: 1 MiB socket buffers, checksummed) and ping RTT between
// two hosts on the in-page switch, for each NIC type and MTU, with both hosts in this thread and with
// each host in its own worker thread (as in the browser, where the switch has a worker of its own).
// Two paths: host to host (the hosts' console shells, bridge ctbr0 to bridge ctbr0) and container to
// container across the hosts (the agent's exec; veth + bridge on both sides, as users see it).
// Every figure is the receiver's: bytes over the time from its accept to the last byte.
// Reports figures; asserts nothing.
// Run: npm run bench:network   (BENCH_RUNS=n timed transfers per path, default 3; BENCH_MIB=n size, default 16)
import type { NicOptions } from '../src/common/host/EmulatedHost';
import { isMain, runStandalone } from './standalone';
import { Recorder, type BenchOptions, type Row } from './stats';
import { startSwitchedHosts, type HostThreads, type SwitchedHosts } from './switchedHosts';

const NE2K: NicOptions = { type: 'ne2k' };
const SETUPS: NicOptions[] = [{ type: 'virtio', mtu: 1500 }, { type: 'virtio', mtu: 65520 }, NE2K];
const CONTAINER_IPS = ['10.0.1.1', '10.0.2.1'];

/** Two hosts with identities and a container on each. */
async function startPair(nic: NicOptions, threads: HostThreads): Promise<SwitchedHosts> {
  const pair = await startSwitchedHosts(2, threads, nic);
  try {
    await Promise.all(pair.agents.map(async (agent, i) => {
      await agent.create({ name: `c${i + 1}`, ip: `${CONTAINER_IPS[i]}/16` });
      await agent.start(`c${i + 1}`);
    }));
  } catch (err) {
    await pair.close();
    throw err;
  }
  return pair;
}

const checksum = (out: string) => /bytes (\d+) fnv1a (\w+)/.exec(out)?.slice(1).join(' ');
const rateOf = (out: string) => Number(/MB\/s ([\d.]+)/.exec(out)?.[1]);

/** node1 → node2 through the console shells; the receiver runs in the background on node2. */
async function hostTransfer(pair: SwitchedHosts, bytes: number): Promise<number> {
  const [a, b] = pair.shells as [SwitchedHosts['shells'][0], SwitchedHosts['shells'][0]];
  // A subshell: `cmd &` directly before ConsoleShell's `; echo END` would read `&;`, a syntax error.
  await b.run('rm -f /tmp/recv; (ctnet recv 5000 </dev/null >/tmp/recv 2>&1 &)');
  await new Promise((r) => setTimeout(r, 300));
  const sent = await a.run(`ctnet send 10.0.0.2 5000 ${bytes}`, 180_000);
  let received = '';
  for (let i = 0; i < 50 && !/MB\/s/.test(received); i++) {
    received = (await b.run('cat /tmp/recv')).output;
    if (!/MB\/s/.test(received)) await new Promise((r) => setTimeout(r, 100));
  }
  if (sent.exitCode !== 0 || !checksum(sent.output) || checksum(sent.output) !== checksum(received)) {
    throw new Error(`host transfer failed: sent "${sent.output.trim()}", received "${received.trim()}"`);
  }
  return rateOf(received);
}

/** Container c1 on node1 → container c2 on node2, both through the agents. */
async function containerTransfer(pair: SwitchedHosts, bytes: number): Promise<number> {
  const [a, b] = pair.agents as [SwitchedHosts['agents'][0], SwitchedHosts['agents'][0]];
  const recv = b.execText('c2', ['ctnet', 'recv', '5001'], { timeout: 180 });
  await new Promise((r) => setTimeout(r, 300));
  const sent = await a.execText('c1', ['ctnet', 'send', CONTAINER_IPS[1]!, '5001', String(bytes)], { timeout: 180 });
  const received = await recv;
  if (sent.exitCode !== 0 || received.exitCode !== 0 || !checksum(sent.stdout) || checksum(sent.stdout) !== checksum(received.stdout)) {
    throw new Error(`container transfer failed: sent "${sent.stdout.trim()}${sent.stderr.trim()}", received "${received.stdout.trim()}${received.stderr.trim()}"`);
  }
  return rateOf(received.stdout);
}

/** Ping RTTs (ms), one sample per reply. */
function rtts(output: string): number[] {
  return [...output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

const describeNic = (nic: NicOptions) => (nic.type === 'virtio' ? `virtio MTU ${nic.mtu ?? 1500}` : 'ne2k MTU 1500');
const setupName = (nic: NicOptions, threads: HostThreads) => `${describeNic(nic)}, ${threads === 'workers' ? '2 workers' : 'one thread'}`;
const PATHS = ['host → host', 'container → container'] as const;

async function measure(rec: Recorder, nic: NicOptions, threads: HostThreads, runs: number, bytes: number): Promise<void> {
  const name = setupName(nic, threads);
  const baselineName = setupName(NE2K, threads);
  let pair: SwitchedHosts | undefined;
  await rec.phase('network', `${name}: setup`, async () => { pair = await startPair(nic, threads); });
  if (!pair) return;
  const p = pair;
  const transfers = {
    'host → host': (n: number) => hostTransfer(p, n),
    'container → container': (n: number) => containerTransfer(p, n),
  };
  const pings = {
    'host → host': async () => rtts((await p.shells[0]!.run('ping -c 10 -i 0.2 10.0.0.2')).output),
    'container → container': async () => rtts((await p.agents[0]!.execText('c1', ['ping', '-c', '10', '-i', '0.2', CONTAINER_IPS[1]!])).stdout),
  };
  try {
    for (const path of PATHS) {
      const tcp = `network TCP ${path}`;
      const ping = `network ping RTT ${path}`;
      const vs = (group: string) => (nic === NE2K ? {} : { baseline: { group, name: baselineName, label: 'ne2k' } });
      await rec.phase(tcp, name, async () => {
        await transfers[path](bytes); // warm-up: v86 compiles hot guest code only after it ran a while
        const rates: number[] = [];
        for (let i = 0; i < runs; i++) rates.push(await transfers[path](bytes));
        rec.samples(tcp, name, 'MB/s', rates, vs(tcp));
      });
      await rec.phase(ping, name, async () => rec.samples(ping, name, 'ms', await pings[path](), vs(ping)));
    }
  } finally {
    await p.close();
  }
}

export async function networkBench(options: BenchOptions = {}): Promise<Row[]> {
  const runs = Number(process.env.BENCH_RUNS ?? (options.quick ? 1 : 3));
  const bytes = Number(process.env.BENCH_MIB ?? (options.quick ? 4 : 16)) << 20;
  const rec = new Recorder(options.onRow);
  process.stderr.write(`[bench] TCP: ${bytes >> 20} MiB per transfer, ${runs} timed after one warm-up; ping: 10 RTTs\n`);
  // ne2k first: it is the baseline the virtio rows are compared with.
  for (const nic of [NE2K, ...SETUPS.filter((n) => n !== NE2K)]) {
    for (const threads of ['one thread', 'workers'] as const) await measure(rec, nic, threads, runs, bytes);
  }
  return rec.rows;
}

if (isMain(import.meta.url)) await runStandalone('network benchmark', networkBench);

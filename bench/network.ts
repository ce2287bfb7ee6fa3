// Network benchmark: TCP throughput (ctnet: 1 MiB socket buffers, checksummed) and ping RTT between
// two hosts on the in-page switch, for each NIC type and MTU, with both hosts in this thread and with
// each host in its own worker thread (as in the browser, where the switch has a worker of its own).
// Two paths: host to host (the hosts' console shells, bridge ctbr0 to bridge ctbr0) and container to
// container across the hosts (the agent's exec; veth + bridge on both sides, as users see it).
// Every figure is the receiver's: bytes over the time from its accept to the last byte.
// Prints figures; asserts nothing.
// Run: npm run bench:network   (BENCH_RUNS=n timed transfers per path, default 3; BENCH_MIB=n size, default 16)
import os from 'node:os';
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { ConsoleShell } from '../src/common/host/ConsoleShell';
import type { NicOptions } from '../src/common/host/EmulatedHost';
import type { Host } from '../src/common/host/Host';
import { PortEndpoint } from '../src/common/network/PortEndpoint';
import { VirtualSwitch } from '../src/common/network/VirtualSwitch';
import type { FrameEndpoint } from '../src/common/network/types';
import { nodeAddress, nodeMac, nodeName } from '../src/common/network/addresses';
import { createNodeHost } from '../src/node/nodeHost';
import { portLike, ThreadHost, type ThreadHostLike } from '../src/node/ThreadHost';
import { summarize, type Summary } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BYTES = Number(process.env.BENCH_MIB ?? 16) << 20;
const SETUPS: NicOptions[] = [{ type: 'virtio', mtu: 1500 }, { type: 'virtio', mtu: 65520 }, { type: 'ne2k' }];
const CONTAINER_IPS = ['10.0.1.1', '10.0.2.1'];

interface Row {
  nic: string;
  threads: string;
  path: string;
  rate?: Summary;
  rtt?: Summary;
  error?: string;
}
const rows: Row[] = [];

/** Two booted hosts with identities, a container on each, and their shells and agents. */
interface Pair {
  shells: [ConsoleShell, ConsoleShell];
  agents: [AgentClient, AgentClient];
  close(): Promise<void>;
}

async function bootPair(hosts: [ThreadHostLike, ThreadHostLike], cleanup: () => void): Promise<Pair> {
  await Promise.all(hosts.map((h) => h.boot()));
  const agents = hosts.map((h) => new AgentClient(hostAgentChannel(h))) as [AgentClient, AgentClient];
  await Promise.all(agents.map(async (agent, i) => {
    await agent.ready();
    await agent.configureHost({ hostname: nodeName(i + 1), mac: nodeMac(i + 1), address: nodeAddress(i + 1) });
    await agent.create({ name: `c${i + 1}`, ip: `${CONTAINER_IPS[i]}/16` });
    await agent.start(`c${i + 1}`);
  }));
  const shells = hosts.map((h) => new ConsoleShell(h as Host)) as [ConsoleShell, ConsoleShell];
  return {
    shells,
    agents,
    close: async () => {
      shells.forEach((s) => s.dispose());
      agents.forEach((a) => a.dispose());
      await Promise.all(hosts.map((h) => h.shutdown()));
      cleanup();
    },
  };
}

function oneThread(nic: NicOptions): Promise<Pair> {
  const hosts = [createNodeHost('node1', { nic }), createNodeHost('node2', { nic })] as const;
  const sw = new VirtualSwitch();
  hosts.forEach((h, i) => sw.attach(nodeName(i + 1), h.nic, 'host'));
  return bootPair([...hosts], () => sw.dispose());
}

function twoWorkers(nic: NicOptions): Promise<Pair> {
  const hosts = [new ThreadHost('node1', nic), new ThreadHost('node2', nic)] as const;
  const sw = new VirtualSwitch();
  const links: PortEndpoint[] = hosts.map((h, i) => {
    const link = new PortEndpoint(portLike(h.nicPort));
    sw.attach(nodeName(i + 1), link as FrameEndpoint, 'host');
    return link;
  });
  return bootPair([...hosts], () => {
    links.forEach((l) => l.dispose());
    sw.dispose();
  });
}

const checksum = (out: string) => /bytes (\d+) fnv1a (\w+)/.exec(out)?.slice(1).join(' ');
const rateOf = (out: string) => Number(/MB\/s ([\d.]+)/.exec(out)?.[1]);

/** node1 → node2 through the console shells; the receiver runs in the background on node2. */
async function hostTransfer(pair: Pair, bytes: number): Promise<number> {
  const [a, b] = pair.shells;
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
async function containerTransfer(pair: Pair, bytes: number): Promise<number> {
  const [a, b] = pair.agents;
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

async function measure(nic: NicOptions, threads: string, start: (nic: NicOptions) => Promise<Pair>): Promise<void> {
  const label = { nic: describeNic(nic), threads };
  let pair: Pair | undefined;
  try {
    pair = await start(nic);
    const p = pair;
    const paths: [string, (bytes: number) => Promise<number>, () => Promise<number[]>][] = [
      ['host → host', (bytes) => hostTransfer(p, bytes),
        async () => rtts((await p.shells[0].run('ping -c 10 -i 0.2 10.0.0.2')).output)],
      ['container → container', (bytes) => containerTransfer(p, bytes),
        async () => rtts((await p.agents[0].execText('c1', ['ping', '-c', '10', '-i', '0.2', CONTAINER_IPS[1]!])).stdout)],
    ];
    for (const [path, transfer, ping] of paths) {
      try {
        await transfer(BYTES); // warm-up: v86 compiles hot guest code only after it ran a while
        const rates: number[] = [];
        for (let i = 0; i < RUNS; i++) rates.push(await transfer(BYTES));
        const samples = await ping();
        rows.push({ ...label, path, rate: summarize(rates), rtt: samples.length ? summarize(samples) : undefined });
      } catch (err) {
        rows.push({ ...label, path, error: err instanceof Error ? err.message : String(err) });
      }
      printRow(rows.at(-1)!);
    }
  } catch (err) {
    rows.push({ ...label, path: 'setup', error: err instanceof Error ? err.message : String(err) });
    printRow(rows.at(-1)!);
  } finally {
    await pair?.close();
  }
}

const describeNic = (nic: NicOptions) => (nic.type === 'virtio' ? `virtio MTU ${nic.mtu ?? 1500}` : 'ne2k MTU 1500');
const cols = (r: Pick<Row, 'nic' | 'threads' | 'path'>) => `${r.nic.padEnd(18)} ${r.threads.padEnd(11)} ${r.path.padEnd(22)}`;
const mbs = (s: Summary) => `${s.median.toFixed(1).padStart(5)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`.padEnd(20);
const ms = (s: Summary) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

function printRow(r: Row): void {
  console.log(`${cols(r)} ${r.error ? `failed: ${r.error}` : `${mbs(r.rate!)} ${r.rtt ? ms(r.rtt) : '?'}`}`);
}

const started = performance.now();
console.log(`ctlab network benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}`);
console.log(`TCP: ${BYTES >> 20} MiB per transfer, ${RUNS} timed after one warm-up, MB/s = 10^6 B/s, median (min–max); ping: 10 × RTT ms, median (min–max)\n`);
console.log(`${cols({ nic: 'NIC', threads: 'hosts in', path: 'path' })} ${'TCP MB/s'.padEnd(20)} ping RTT ms`);
for (const nic of SETUPS) {
  await measure(nic, 'one thread', oneThread);
  await measure(nic, '2 workers', twoWorkers);
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s in all`);

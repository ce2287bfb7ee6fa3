// Network benchmark: host-to-host TCP throughput (ctnet, 1 MiB buffers, checksummed) and ping RTT
// over the in-page switch, for each NIC type and MTU, with both hosts in this thread and with
// each host in its own worker thread (as in the browser). Prints figures; asserts nothing.
// Run: npm run bench:network   (BENCH_RUNS=n transfers per setup, default 3)
import os from 'node:os';
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { ConsoleShell } from '../src/common/host/ConsoleShell';
import type { NicOptions } from '../src/common/host/EmulatedHost';
import type { Host } from '../src/common/host/Host';
import { PortEndpoint, type MessagePortLike } from '../src/common/network/PortEndpoint';
import { VirtualSwitch } from '../src/common/network/VirtualSwitch';
import { nodeAddress, nodeMac, nodeName } from '../src/common/network/addresses';
import { createNodeHost } from '../src/node/nodeHost';
import { ThreadHost } from '../src/node/ThreadHost';
import { formatSummary, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BYTES = 16 << 20;
const SETUPS: NicOptions[] = [{ type: 'virtio', mtu: 1500 }, { type: 'virtio', mtu: 65520 }, { type: 'ne2k' }];

type ShellHost = Pick<Host, 'writeConsole' | 'onConsoleOutput' | 'name'>;

async function configure(shell: ConsoleShell, n: number): Promise<void> {
  // The same identity the agent's host_configure gives, through the console: ThreadHost has no agent.
  const cmd = `ip link set eth0 address ${nodeMac(n)} && ip link add ctbr0 type bridge 2>/dev/null; ` +
    `ip link set ctbr0 address ${nodeMac(n)} && ip link set eth0 master ctbr0 && ip link set eth0 up && ` +
    `ip link set ctbr0 up && ip addr add ${nodeAddress(n)} dev ctbr0 && hostname ${nodeName(n)}`;
  const r = await shell.run(cmd);
  if (r.exitCode !== 0) throw new Error(`configuring node${n}: ${r.output}`);
}

async function measure(label: string, shells: [ConsoleShell, ConsoleShell]): Promise<void> {
  const [a, b] = shells;
  // Warm up the JIT on both sides with one untimed transfer.
  const rates: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await b.run('ctnet recv 5000 > /tmp/recv 2>&1 &');
    await new Promise((r) => setTimeout(r, 300));
    const sent = await a.run(`ctnet send 10.0.0.2 5000 ${BYTES}`, 120_000);
    const got = await b.run('sleep 0.2; cat /tmp/recv');
    const sum = (s: string) => /fnv1a (\w+)/.exec(s)?.[1];
    if (sent.exitCode !== 0 || sum(sent.output) !== sum(got.output)) throw new Error(`${label}: transfer failed: ${sent.output} / ${got.output}`);
    if (i > 0) rates.push(Number(/MB\/s ([\d.]+)/.exec(got.output)![1]));
  }
  const ping = await a.run('ping -c 20 -i 0.1 10.0.0.2 | tail -1');
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.output)?.[1] ?? '?';
  console.log(formatSummary(`${label}: TCP 16 MiB`, summarize(rates), (v) => `${v.toFixed(2)} MB/s`) + `  ping avg ${rtt} ms`);
}

async function inOneThread(nic: NicOptions): Promise<void> {
  const hosts = [createNodeHost('node1', { nic }), createNodeHost('node2', { nic })];
  const sw = new VirtualSwitch();
  hosts.forEach((h, i) => sw.attach(`node${i + 1}`, h.nic, 'host'));
  await Promise.all(hosts.map((h) => h.boot()));
  const agents = hosts.map((h) => new AgentClient(hostAgentChannel(h)));
  await Promise.all(agents.map((a, i) => a.ready().then(() => a.configureHost({ hostname: nodeName(i + 1), mac: nodeMac(i + 1), address: nodeAddress(i + 1) }))));
  const shells = hosts.map((h) => new ConsoleShell(h)) as [ConsoleShell, ConsoleShell];
  await measure(`${describe(nic)}, one thread  `, shells);
  agents.forEach((a) => a.dispose());
  await Promise.all(hosts.map((h) => h.shutdown()));
  sw.dispose();
}

async function inTwoWorkers(nic: NicOptions): Promise<void> {
  const hosts = [new ThreadHost('node1', nic), new ThreadHost('node2', nic)];
  const sw = new VirtualSwitch();
  const links = hosts.map((h, i) => {
    const port = h.nicPort;
    const like: MessagePortLike = {
      postMessage: (m, t) => port.postMessage(m, t as never),
      set onmessage(handler) {
        const deliver = handler;
        if (deliver) port.on('message', (data: unknown) => deliver({ data }));
      },
      get onmessage(): MessagePortLike['onmessage'] { return null; },
      close: () => port.close(),
    };
    const link = new PortEndpoint(like);
    sw.attach(`node${i + 1}`, link, 'host');
    return link;
  });
  await Promise.all(hosts.map((h) => h.boot()));
  const shells = hosts.map((h) => new ConsoleShell(h as unknown as ShellHost as Host)) as [ConsoleShell, ConsoleShell];
  await configure(shells[0], 1);
  await configure(shells[1], 2);
  await measure(`${describe(nic)}, two workers`, shells);
  await Promise.all(hosts.map((h) => h.shutdown()));
  links.forEach((l) => l.dispose());
  sw.dispose();
}

const describe = (nic: NicOptions) => (nic.type === 'virtio' ? `virtio MTU ${String(nic.mtu).padEnd(5)}` : 'ne2k MTU 1500   ');

console.log(`ctlab network benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}, ${RUNS} timed transfers of 16 MiB after one warm-up`);
for (const nic of SETUPS) {
  for (const run of [inOneThread, inTwoWorkers]) {
    try {
      await run(nic);
    } catch (err) {
      console.log(`${describe(nic)} ${run.name}: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

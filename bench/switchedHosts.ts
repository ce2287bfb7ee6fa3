// Hosts on one virtual switch for the network and migration benchmarks, either all in this thread
// or each in its own worker thread with the switch here — as the page runs each host in its own Web
// Worker and the switch in another. Each host gets its identity the way the Cluster gives it:
// host_configure with the node's name, MAC and backplane address, then the clock.
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { ConsoleShell } from '../src/common/host/ConsoleShell';
import { DEFAULT_NIC, type NicOptions } from '../src/common/host/EmulatedHost';
import type { Host } from '../src/common/host/Host';
import { hostForNode } from '../src/common/network/addresses';
import { PortEndpoint } from '../src/common/network/PortEndpoint';
import { VirtualSwitch } from '../src/common/network/VirtualSwitch';
import type { FrameEndpoint } from '../src/common/network/types';
import { createNodeHost } from '../src/node/nodeHost';
import { portLike, ThreadHost, type ThreadHostLike } from '../src/node/ThreadHost';

export type HostThreads = 'one thread' | 'workers';

export interface SwitchedHosts {
  /** node1, node2, …; index i is node i + 1. */
  names: string[];
  /** Backplane addresses without the prefix length: 10.0.0.1, … */
  addresses: string[];
  agents: AgentClient[];
  shells: ConsoleShell[];
  /** The hosts themselves (their console output, their instruction counters). */
  hosts: ThreadHostLike[];
  close(): Promise<void>;
}

export async function startSwitchedHosts(count: number, threads: HostThreads, nic?: NicOptions): Promise<SwitchedHosts> {
  const identities = Array.from({ length: count }, (_, i) => hostForNode(i + 1, 'bench'));
  const sw = new VirtualSwitch();
  const links: PortEndpoint[] = [];
  const hosts: ThreadHostLike[] = identities.map(({ name }) => {
    if (threads === 'one thread') {
      const host = createNodeHost(name, nic ? { nic } : {});
      sw.attach(name, host.nic, 'host');
      return host;
    }
    const host = new ThreadHost(name, { ...DEFAULT_NIC, ...nic });
    const link = new PortEndpoint(portLike(host.nicPort));
    links.push(link);
    sw.attach(name, link as FrameEndpoint, 'host');
    return host;
  });
  const agents = hosts.map((h) => new AgentClient(hostAgentChannel(h)));
  const shells = hosts.map((h) => new ConsoleShell(h as Host));
  const close = async () => {
    shells.forEach((s) => s.dispose());
    agents.forEach((a) => a.dispose());
    await Promise.all(hosts.map((h) => h.shutdown().catch(() => undefined)));
    links.forEach((l) => l.dispose());
    sw.dispose();
  };
  try {
    await Promise.all(hosts.map(async (host, i) => {
      await host.boot();
      const { name, mac, address } = identities[i]!;
      await agents[i]!.ready();
      await agents[i]!.configureHost({ hostname: name, mac, address });
      await agents[i]!.setTime();
    }));
  } catch (err) {
    await close();
    throw err;
  }
  return { names: identities.map((h) => h.name), addresses: identities.map((h) => h.address.replace(/\/\d+$/, '')), agents, shells, hosts, close };
}

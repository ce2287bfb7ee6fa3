// Hosts on the in-page network under Node: two "tabs" (each a LocalNetwork, joined by a real
// BroadcastChannel), node1 and node2 in the first, node3 in the second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/common/cluster/Cluster';
import { LocalNetwork } from '../../src/common/network/LocalNetwork';
import { createNodeHost } from '../../src/node/nodeHost';

const CHANNEL = `ctlab-test-${process.pid}`;
let tab1: { network: LocalNetwork; cluster: Cluster };
let tab2: { network: LocalNetwork; cluster: Cluster };

function openTab(): { network: LocalNetwork; cluster: Cluster } {
  const network = new LocalNetwork(new BroadcastChannel(CHANNEL), { settleMs: 200 });
  const cluster = new Cluster(network, (identity) => {
    const host = createNodeHost(identity.name);
    network.attachHost(identity.name, host.nic);
    return host;
  });
  return { network, cluster };
}

const exec = async (cluster: Cluster, node: string, ct: string, argv: string[], timeout = 60) =>
  cluster.node(node).agent.execText(ct, argv, { timeout });
const ping = (cluster: Cluster, node: string, ct: string, ip: string, count = 2) =>
  exec(cluster, node, ct, ['ping', '-c', String(count), '-W', '2', ip]);

beforeAll(async () => {
  tab1 = openTab();
  tab2 = openTab();
  await Promise.all([tab1.cluster.addHosts(2), new Promise((r) => setTimeout(r, 50)).then(() => tab2.cluster.addHosts(1))]);
  for (const node of [...tab1.cluster.nodes, ...tab2.cluster.nodes]) {
    expect(node.error).toBeUndefined();
    expect(node.ready).toBe(true); // running, and host_configure done
  }
  await tab1.cluster.createContainer('node1', { name: 'a' });
  await tab1.cluster.createContainer('node2', { name: 'b' });
  await tab2.cluster.createContainer('node3', { name: 'c' });
  await tab1.cluster.node('node1').agent.start('a');
  await tab1.cluster.node('node2').agent.start('b');
  await tab2.cluster.node('node3').agent.start('c');
}, 180_000);

afterAll(async () => {
  tab1?.cluster.dispose();
  tab2?.cluster.dispose();
});

describe('hosts on the virtual network', () => {
  it('agrees on unique host names, MACs and addresses across tabs', async () => {
    const names = [...tab1.cluster.nodes, ...tab2.cluster.nodes].map((n) => n.name).sort();
    expect(names).toEqual(['node1', 'node2', 'node3']);
    expect(tab1.cluster.node('node1').identity).toMatchObject({ mac: '02:43:0a:00:00:01', address: '10.0.0.1/16' });
    await expect.poll(() => tab1.cluster.remoteHosts.map((h) => h.name)).toEqual(['node3']);
    const hostname = await tab2.cluster.node('node3').agent.execText('c', ['cat', '/proc/sys/kernel/hostname']);
    expect(hostname.stdout).toBe('c\n');
  });

  it('allocates container IPs from each host block, never twice', async () => {
    const ips = [tab1.cluster.node('node1'), tab1.cluster.node('node2'), tab2.cluster.node('node3')]
      .map((n) => n.containers[0]!.ip);
    expect(ips).toEqual(['10.0.1.1/16', '10.0.2.1/16', '10.0.3.1/16']);
    await expect.poll(() => [...tab2.cluster.usedIps()].sort()).toEqual(['10.0.1.1/16', '10.0.2.1/16', '10.0.3.1/16']);
  });

  it('lets a container ping containers on another host of its tab and of another tab', async () => {
    expect((await ping(tab1.cluster, 'node1', 'a', '10.0.2.1')).exitCode).toBe(0);
    expect((await ping(tab1.cluster, 'node1', 'a', '10.0.3.1')).exitCode).toBe(0);
    expect((await ping(tab2.cluster, 'node3', 'c', '10.0.0.1')).exitCode).toBe(0); // node1 itself
  });

  it('carries a TCP stream between tabs intact', async () => {
    const recv = exec(tab2.cluster, 'node3', 'c', ['ctnet', 'recv', '5001']);
    await new Promise((r) => setTimeout(r, 500));
    const sent = await exec(tab1.cluster, 'node1', 'a', ['ctnet', 'send', '10.0.3.1', '5001', String(4 << 20)]);
    const received = await recv;
    expect(sent.exitCode).toBe(0);
    expect(received.exitCode).toBe(0);
    const sum = (out: string) => /bytes (\d+) fnv1a ([0-9a-f]+)/.exec(out)!.slice(1);
    expect(sum(received.stdout)).toEqual(sum(sent.stdout));
    expect(sum(received.stdout)[0]).toBe(String(4 << 20));
  });

  it('stops traffic while a link is down and resumes when it is up', async () => {
    const port = (await tab1.network.ports()).find((p) => p.name === 'node1')!;
    await tab1.network.setFault(port.id, { down: true });
    expect((await ping(tab1.cluster, 'node1', 'a', '10.0.2.1')).exitCode).not.toBe(0);
    expect((await tab1.network.ports()).find((p) => p.id === port.id)!.counters.dropped).toBeGreaterThan(0);
    await tab1.network.setFault(port.id, { down: false });
    expect((await ping(tab1.cluster, 'node1', 'a', '10.0.2.1')).exitCode).toBe(0);
  });

  it('drops and counts malformed messages from the tab channel, and keeps working', async () => {
    const rogue = new BroadcastChannel(CHANNEL);
    const before = await tab1.network.malformedCount();
    for (const junk of [null, 42, 'frame', { v: 1 }, { v: 1, type: 'frame', from: 'x', data: new Uint8Array(3) },
      { v: 1, type: 'frame', from: 'x'.repeat(500), data: new Uint8Array(64) }, { v: 9, type: 'hello' },
      { v: 1, type: 'heartbeat', from: 'evil', hosts: [{ name: 'node1; rm', tab: 'evil', mac: 'zz', address: '1' }] }]) {
      rogue.postMessage(junk);
    }
    await expect.poll(() => tab1.network.malformedCount(), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 8);
    rogue.close();
    expect((await ping(tab1.cluster, 'node1', 'a', '10.0.3.1')).exitCode).toBe(0);
    expect(tab1.cluster.remoteHosts.map((h) => h.name)).toEqual(['node3']);
  });
});

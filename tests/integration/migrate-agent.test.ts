// Live migration through the agent API on the real guest: two hosts of one Cluster under Node; a
// counting process moves from node1 to node2 with AgentClient.migrate while it runs, both hosts'
// container lists follow (state events), and it counts on there. Bad input is refused clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/common/agent/AgentClient';
import type { StateEvent } from '../../src/common/agent/protocol';
import { Cluster, type ClusterNode } from '../../src/common/cluster/Cluster';
import { MigrationSettled } from '../../src/common/cluster/settleMigration';
import { ConsoleShell } from '../../src/common/host/ConsoleShell';
import { LocalNetwork } from '../../src/common/network/LocalNetwork';
import { createNodeHost } from '../../src/node/nodeHost';

let cluster: Cluster;
let network: LocalNetwork;
let node1: ClusterNode;
let node2: ClusterNode;

beforeAll(async () => {
  network = new LocalNetwork(new BroadcastChannel(`ctlab-mig-agent-${process.pid}`), { settleMs: 100 });
  cluster = new Cluster(network, (identity) => {
    const host = createNodeHost(identity.name);
    network.attachHost(identity.name, host.nic);
    return host;
  });
  [node1, node2] = await cluster.addHosts(2) as [ClusterNode, ClusterNode];
  expect(node1.ready && node2.ready).toBe(true);
}, 180_000);

afterAll(() => { cluster?.dispose(); });

async function agentError(work: Promise<unknown>): Promise<AgentError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

/** Every "count N" on a container's console on a host, in order. */
async function counts(node: ClusterNode, name: string): Promise<number[]> {
  const log = new TextDecoder().decode(await node.agent.logs(name));
  return [...log.matchAll(/^count (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

const consecutive = (xs: number[]) => xs.every((x, i) => i === 0 || x === xs[i - 1]! + 1);

describe('live migration through the agent', () => {
  it('moves a counting container from node1 to node2: progress, both lists follow, it counts on', { timeout: 300_000 }, async () => {
    await node1.agent.create({ name: 'mover', ip: '10.0.9.40/16', memory: 32 << 20 });
    await node1.agent.start('mover');
    const run = await node1.agent.execText('mover', ['sh', '-c', '(ctdemo count 100) > /dev/console 2>&1 < /dev/null &']);
    expect(run.exitCode).toBe(0);
    await expect.poll(async () => (await counts(node1, 'mover')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);

    const events: string[] = [];
    const subs = [node1, node2].map((n) => n.agent.onStateChange((e: StateEvent) => events.push(`${n.name}:${e.name}:${e.state}`)));
    const phases: string[] = [];
    const report = await cluster.migrateContainer('node1', 'mover', 'node2', { onProgress: (p) => phases.push(p) });
    for (const s of subs) s.dispose();

    expect(report).toMatchObject({ name: 'mover', dest: '10.0.0.2' });
    expect(report.rounds).toBeGreaterThanOrEqual(1);
    expect(report.round_bytes).toHaveLength(report.rounds);
    expect(report.round_bytes[0]).toBeGreaterThan(0);
    expect(report.final_bytes).toBeGreaterThan(0);
    expect(report.processes).toBeGreaterThanOrEqual(2); // ct-init and ctdemo
    expect(report.frozen_ms).toBeGreaterThan(0);
    // The downtime ends when it runs there, before the DONE saying so reaches the source.
    expect(report.confirmed_ms).toBeGreaterThanOrEqual(report.frozen_ms);
    expect(report.total_ms).toBeGreaterThanOrEqual(report.confirmed_ms);
    expect(phases[0]).toBe('connecting');
    expect(phases[1]).toBe('pre-copy 1');
    for (const p of ['freezing', 'restoring', 'committing', 'cleaning up']) expect(phases).toContain(p);
    expect(phases.indexOf('freezing')).toBeLessThan(phases.indexOf('committing'));
    expect(phases.at(-1)).toBe('cleaning up');

    // The source's agent says it left; the destination's saw it start.
    await expect.poll(() => events, { timeout: 10_000 }).toContain('node1:mover:destroyed');
    await expect.poll(() => events, { timeout: 10_000 }).toContain('node2:mover:running');
    await expect.poll(() => node2.containers.find((c) => c.name === 'mover')?.state, { timeout: 10_000 }).toBe('running');
    expect(node1.containers.map((c) => c.name)).not.toContain('mover');
    expect((await agentError(node1.agent.status('mover'))).code).toBe('not_found');
    expect(await node2.agent.status('mover')).toMatchObject({ state: 'running', ip: '10.0.9.40/16' });

    // Its count goes on there, from where it was: never reset, never repeated.
    const before = (await counts(node2, 'mover')).at(-1)!;
    expect(before).toBeGreaterThanOrEqual(5);
    await expect.poll(async () => (await counts(node2, 'mover')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(before + 5);
    const all = await counts(node2, 'mover');
    expect(all[0]).toBe(1);
    expect(consecutive(all)).toBe(true);
    await node2.agent.destroy('mover', { force: true });
  });

  it('refuses an unknown container, a stopped one and malformed destinations with clear errors', { timeout: 120_000 }, async () => {
    let err = await agentError(node1.agent.migrate('ghost', '10.0.0.2'));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/ghost/);

    await node1.agent.create({ name: 'idle', ip: '10.0.9.41/16' });
    err = await agentError(node1.agent.migrate('idle', '10.0.0.2'));
    expect(err.code).toBe('state');
    expect(err.message).toMatch(/not running/);

    for (const dest of ['', '10.0.0', '10.0.0.256', '1.2.3.4.5', 'Node2', 'node_2', '-node2', 'node2:', 'node2:0', 'node2:70000',
      '10.0.0.2:x', 'a b', '10.0.0.2;reboot', 'x'.repeat(100)]) {
      err = await agentError(node1.agent.migrate('idle', dest));
      expect(err.code, dest).toBe('invalid_argument');
      expect(err.message).toMatch(/invalid destination/);
    }
    // A well-formed name that no host has: the guest says so, nothing changes.
    await node1.agent.start('idle');
    err = await agentError(node1.agent.migrate('idle', 'nosuchhost'));
    expect(err.message).toMatch(/unknown destination host "nosuchhost"/);
    // Through the cluster: a host it does not know.
    await expect(cluster.migrateContainer('node1', 'idle', 'node9')).rejects.toThrow(/no host named node9/);
    expect((await node1.agent.status('idle')).state).toBe('running');
    await node1.agent.destroy('idle', { force: true });
  });

  it('settles a migration left in doubt: the destination never ran it, so it runs on at the source', { timeout: 300_000 }, async () => {
    const shell2 = new ConsoleShell(node2.host);
    await node1.agent.create({ name: 'doubt', ip: '10.0.9.44/16' });
    await node1.agent.start('doubt');
    await node1.agent.execText('doubt', ['sh', '-c', '(ctdemo count 100) > /dev/console 2>&1 < /dev/null &']);
    await expect.poll(async () => (await counts(node1, 'doubt')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    // node2 loses the COMMIT, and the link is down while node1 would ask it what became of it.
    await shell2.run('echo lose-commit > /run/ct/migrate.fault');
    const port2 = (await network.ports()).find((p) => p.name === 'node2')!.id;
    const phases: string[] = [];
    const migration = cluster.migrateContainer('node1', 'doubt', 'node2', { onProgress: (p) => phases.push(p) })
      .then(() => undefined, (e: unknown) => e);
    await expect.poll(() => phases.includes('committing'), { timeout: 120_000, interval: 50 }).toBe(true);
    await network.setFault(port2, { down: true });
    await expect.poll(() => phases.includes('in doubt: settling'), { timeout: 120_000 }).toBe(true);
    expect(phases).toContain('in doubt: asking the destination');
    await network.setFault(port2, { down: false });
    const settled = await migration;
    await shell2.run('rm -f /run/ct/migrate.fault');
    expect(settled).toBeInstanceOf(MigrationSettled);
    expect((settled as MigrationSettled).outcome).toBe('resumed');
    const before = (await counts(node1, 'doubt')).at(-1)!;
    await expect.poll(async () => (await counts(node1, 'doubt')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThan(before + 1);
    expect(consecutive(await counts(node1, 'doubt'))).toBe(true);
    expect((await node2.agent.list()).map((c) => c.name)).not.toContain('doubt');
    shell2.dispose();
    await node1.agent.destroy('doubt', { force: true });
  });
});

// The cluster's migration key on the real guest: the Cluster gives every host the network's key
// (host_configure's migrate_key), a host holding another key refuses a container with a clear
// error while it keeps running on the source, and with the same key again the move goes through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/common/agent/AgentClient';
import type { ClusterNode } from '../../src/common/cluster/Cluster';
import { bootCluster, type TestCluster } from './cluster';

let t: TestCluster;
let node1: ClusterNode;
let node2: ClusterNode;

beforeAll(async () => {
  t = await bootCluster(2, 'ctlab-mig-key', 180_000);
  [node1, node2] = t.cluster.nodes as [ClusterNode, ClusterNode];
}, 240_000);

afterAll(() => t?.dispose());

const identity = (node: ClusterNode) => ({ hostname: node.name, mac: node.identity.mac, address: node.identity.address });

describe('the migration key', () => {
  it('is the same on every host of the cluster, as the network made it', async () => {
    const key = await t.network.migrateKey();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    for (const node of ['node1', 'node2']) expect(await t.sh(node, 'cat /run/ct/migrate.key')).toBe(key);
  });

  it('refuses a container when the destination holds another key; the same key lets it through', { timeout: 300_000 }, async () => {
    const key = await t.network.migrateKey();
    await node1.agent.create({ name: 'keyed', ip: '10.0.9.50/16' });
    await node1.agent.start('keyed');
    await node2.agent.configureHost(identity(node2), { migrateKey: 'another-key_0' });
    expect(await t.sh('node2', 'cat /run/ct/migrate.key')).toBe('another-key_0');

    const err = await t.cluster.migrateContainer('node1', 'keyed', 'node2').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).message).toMatch(/refused the container: the migration key does not match/);
    // It runs on where it was; the destination has nothing of it.
    expect(await node1.agent.status('keyed')).toMatchObject({ state: 'running' });
    expect((await node2.agent.list()).map((c) => c.name)).not.toContain('keyed');
    expect((await node1.agent.execText('keyed', ['echo', 'alive'])).stdout).toBe('alive\n');

    // A malformed key never reaches the guest.
    await expect(node2.agent.configureHost(identity(node2), { migrateKey: 'bad key' })).rejects.toMatchObject({ code: 'invalid_argument' });

    await node2.agent.configureHost(identity(node2), { migrateKey: key });
    const report = await t.cluster.migrateContainer('node1', 'keyed', 'node2');
    expect(report.name).toBe('keyed');
    expect(await node2.agent.status('keyed')).toMatchObject({ state: 'running', ip: '10.0.9.50/16' });
    expect((await node1.agent.list()).map((c) => c.name)).not.toContain('keyed');
    await node2.agent.destroy('keyed', { force: true });
  });
});

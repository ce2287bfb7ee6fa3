import { describe, expect, it, vi } from 'vitest';
import type { ClusterNode } from '../common/cluster/Cluster';
import type { Host } from '../common/host/Host';
import { Emitter } from '../common/util/Emitter';
import { PanelSession, type SessionCluster } from './session';

function fakeCluster(addHosts: SessionCluster['addHosts']) {
  const changes = new Emitter<void>();
  const nodes: ClusterNode[] = [];
  const cluster = {
    nodes,
    remoteHosts: [],
    network: {} as SessionCluster['network'],
    onChange: changes.event,
    addHosts,
    dispose: vi.fn(),
    node: () => { throw new Error('no nodes'); },
    createContainer: async () => { throw new Error('no nodes'); },
    migrationTargets: () => [],
    migrateContainer: async () => { throw new Error('no nodes'); },
  } satisfies SessionCluster;
  return { cluster, changes, nodes };
}

function fakeNode(name: string) {
  const output = new Emitter<Uint8Array>();
  const host = { name, onConsoleOutput: output.event, writeConsole: vi.fn() } as unknown as Host;
  return { node: { name, host } as unknown as ClusterNode, output };
}

describe('the panel session', () => {
  it('moves its snapshot on every cluster change and tells subscribers', () => {
    const { cluster, changes } = fakeCluster(async () => []);
    const session = new PanelSession(cluster);
    const listener = vi.fn();
    const unsubscribe = session.subscribe(listener);
    const before = session.snapshot();
    changes.fire();
    expect(session.snapshot()).not.toBe(before);
    expect(listener).toHaveBeenCalledTimes(1);
    unsubscribe();
    changes.fire();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('logs a new node\'s console from the change that announces it', () => {
    const { cluster, changes, nodes } = fakeCluster(async () => []);
    const session = new PanelSession(cluster);
    const { node, output } = fakeNode('node1');
    nodes.push(node);
    changes.fire();
    // The host's first bytes, before any terminal exists.
    output.fire(new TextEncoder().encode('SeaBIOS'));
    const seen: Uint8Array[] = [];
    session.consoleOf(node).onData((chunk) => seen.push(chunk));
    expect(new TextDecoder().decode(seen[0])).toBe('SeaBIOS');
    expect(session.consoleOf(node)).toBe(session.consoleOf(node));
  });

  it('reports a failure to add hosts', async () => {
    const { cluster } = fakeCluster(async () => { throw new Error('no free node numbers'); });
    const session = new PanelSession(cluster);
    await session.start(2);
    expect(session.startError).toBe('no free node numbers');
  });

  it('disposes the cluster with itself, once', () => {
    const { cluster } = fakeCluster(async () => []);
    const session = new PanelSession(cluster);
    session.dispose();
    session.dispose();
    expect(cluster.dispose).toHaveBeenCalledTimes(1);
  });
});

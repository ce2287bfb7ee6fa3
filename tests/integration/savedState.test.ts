// Hosts started from the saved state (public/images/state.bin.zst): each becomes its own machine
// once the cluster gives it its identity and the clock, and works as a booted one does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSavedState } from '../../src/node/nodeHost';
import { bootCluster, type TestCluster } from './cluster';

let t: TestCluster;

beforeAll(async () => {
  expect(await readSavedState(), 'public/images/state.json is missing: npm run build:state').toBeDefined();
  t = await bootCluster(2, 'ctlab-state');
}, 120_000);

afterAll(() => t?.dispose());

describe('two hosts restored from one saved state', () => {
  it('were restored, not booted', () => {
    for (const node of t.cluster.nodes) {
      expect(node.error).toBeUndefined();
      expect(node.boot?.stateProblem).toBeUndefined();
      expect(node.boot?.fromState).toBe(true);
    }
  });

  it('have distinct hostnames, MACs and addresses', async () => {
    const seen = [];
    for (const node of ['node1', 'node2']) {
      const out = await t.sh(node, 'hostname; cat /sys/class/net/ctbr0/address; ip -o -4 addr show ctbr0 | awk \'{print $4}\'');
      seen.push(out);
      const identity = t.cluster.node(node).identity;
      expect(out.split('\n')).toEqual([node, identity.mac, identity.address]);
    }
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('tell the time of this machine, not that of the save', async () => {
    for (const node of ['node1', 'node2']) {
      const guest = Number(await t.sh(node, 'date +%s'));
      expect(Math.abs(guest - Date.now() / 1000)).toBeLessThan(5);
    }
  });

  it('reach each other over the network', async () => {
    const node2 = t.cluster.node('node2').identity.address.split('/')[0]!;
    expect(await t.sh('node1', `ping -c 2 -W 2 ${node2} >/dev/null && echo ok`)).toBe('ok');
  });

  it('run containers that talk across hosts', async () => {
    const a = await t.cluster.createContainer('node1', { name: 'a' });
    const b = await t.cluster.createContainer('node2', { name: 'b' });
    await t.cluster.node('node1').agent.start('a');
    await t.cluster.node('node2').agent.start('b');
    const out = await t.cluster.node('node1').agent.execText('a', ['ping', '-c', '2', '-W', '2', b.ip!.split('/')[0]!], { timeout: 60 });
    expect(out.exitCode, out.stdout + out.stderr).toBe(0);
    const date = await t.cluster.node('node2').agent.execText('b', ['date', '+%s']);
    expect(Math.abs(Number(date.stdout) - Date.now() / 1000)).toBeLessThan(5);
    expect(a.ip).not.toBe(b.ip);
  });
});

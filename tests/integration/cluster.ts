// Hosts of one tab under Node on the in-page network, each with its console shell: for the suites
// that drive `ct` on several hosts (checkpoint, migration).
import { expect } from 'vitest';
import { Cluster } from '../../src/common/cluster/Cluster';
import { ConsoleShell } from '../../src/common/host/ConsoleShell';
import { LocalNetwork } from '../../src/common/network/LocalNetwork';
import { createNodeHost } from '../../src/node/nodeHost';

export interface TestCluster {
  network: LocalNetwork;
  cluster: Cluster;
  /** Runs a command on a host's console; throws unless it exits 0 (or allowFail). */
  sh(node: string, command: string, allowFail?: boolean): Promise<string>;
  run(node: string, command: string): Promise<{ output: string; exitCode: number }>;
  /** Repeats a command until its output passes the test. */
  waitFor(node: string, command: string, test: (out: string) => boolean, timeoutMs?: number): Promise<string>;
  dispose(): void;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The numbers the first group of re captures, in order. */
export const numbers = (log: string, re: RegExp) => [...log.matchAll(re)].map((m) => Number(m[1]));
/** True when xs is k, k+1, k+2, ... (nothing lost, nothing repeated, no restart from 1). */
export const consecutive = (xs: number[]) => xs.every((x, i) => i === 0 || x === xs[i - 1]! + 1);

/**
 * Creates and starts a container whose shell loop logs n=1, n=2, ... to its console every second,
 * with another workload beside it if given; returns once n=2 is logged.
 */
export async function startLoop(t: TestCluster, node: string, ct: string, ip: string, extra = ''): Promise<void> {
  await t.sh(node, `ct create ${ct} --ip ${ip}/16 && ct start ${ct}`);
  await t.sh(node, `ct exec ${ct} -- sh -c "(i=0; while :; do i=\\$((i+1)); echo n=\\$i; sleep 1; done) > /dev/console 2>&1 < /dev/null &"`);
  if (extra) await t.sh(node, `ct exec ${ct} -- sh -c '(${extra}) > /dev/null 2>&1 < /dev/null &'`);
  await t.waitFor(node, `ct logs ${ct}`, (log) => /n=2\b/.test(log));
}

export async function bootCluster(hosts: number, channel: string, timeoutMs = 90_000): Promise<TestCluster> {
  const network = new LocalNetwork(new BroadcastChannel(`${channel}-${process.pid}`), { settleMs: 100 });
  const cluster = new Cluster(network, (identity) => {
    const host = createNodeHost(identity.name);
    network.attachHost(identity.name, host.nic);
    return host;
  });
  await cluster.addHosts(hosts);
  const shells = new Map<string, ConsoleShell>();
  for (const node of cluster.nodes) {
    expect(node.ready).toBe(true);
    shells.set(node.name, new ConsoleShell(node.host));
  }
  const run = (node: string, command: string) => shells.get(node)!.run(command, timeoutMs);
  const sh = async (node: string, command: string, allowFail = false) => {
    const { output, exitCode } = await run(node, command);
    if (exitCode !== 0 && !allowFail) throw new Error(`${node}: "${command}" exited ${exitCode}: ${output}`);
    return output.trim();
  };
  const waitFor = async (node: string, command: string, test: (out: string) => boolean, waitMs = 30_000) => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const out = await sh(node, command, true);
      if (test(out)) return out;
      if (Date.now() > deadline) throw new Error(`${node}: "${command}" never satisfied: ${out}`);
      await sleep(300);
    }
  };
  return {
    network, cluster, sh, run, waitFor,
    dispose() {
      for (const s of shells.values()) s.dispose();
      cluster.dispose();
    },
  };
}

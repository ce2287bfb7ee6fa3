// Live migration under faults, on the real guest (two hosts under Node): the source asked to abort,
// a link losing many frames, a destination failing late in its restore or dying with the copy
// restored (before or past its commit), a destination without memory for it, one that vanishes mid-stream. Whatever happens, exactly one
// copy of the container runs afterwards and its counter neither resets nor repeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootCluster, consecutive, numbers, sleep, startLoop, type TestCluster } from './cluster';

let t: TestCluster;
const NODES = ['node1', 'node2'];
const ADDR: Record<string, string> = { node1: '10.0.0.1', node2: '10.0.0.2' };
const sh = (node: string, command: string, allowFail = false) => t.sh(node, command, allowFail);
const counter = async (node: string, ct: string) => numbers(await sh(node, `ct logs ${ct}`), /^n=(\d+)/gm);

/** Starts `ct migrate` in the background on a host; its output and exit status land in /tmp/mig-CT. */
async function migrateInBackground(node: string, ct: string, dest: string) {
  // `( ... & )`: a command ending in `&` would meet the shell's `; echo END` as `&;`.
  await sh(node, `rm -f /tmp/mig-${ct}; ( (ct migrate ${ct} ${dest} > /tmp/mig-${ct} 2>&1; echo "rc=$?" >> /tmp/mig-${ct}) < /dev/null > /dev/null 2>&1 & )`);
}
/** node2 has accepted the container and receives its memory (its migration directory exists). */
const preCopyUnderWay = (ct: string) =>
  t.waitFor('node2', `ls /var/lib/ct-migrate/${ct}/pages 2>/dev/null && echo under-way`, (o) => /under-way/.test(o), 60_000);
const migrationResult = (node: string, ct: string) =>
  t.waitFor(node, `cat /tmp/mig-${ct}`, (o) => /rc=\d+/.test(o), 120_000);

/** The hosts (of those still up) where the container runs; and its counter goes on there, in order. */
async function exactlyOneRunning(ct: string, hosts = NODES): Promise<string> {
  const running: string[] = [];
  for (const node of hosts) {
    const out = await sh(node, `ct status ${ct} 2>&1 | grep -E '^state|no container'`, true);
    if (/running/.test(out)) running.push(node);
  }
  expect(running).toHaveLength(1);
  const where = running[0]!;
  const before = Math.max(...await counter(where, ct));
  await t.waitFor(where, `ct logs ${ct}`, (l) => Math.max(...numbers(l, /^n=(\d+)/gm)) >= before + 2, 30_000);
  expect(consecutive(await counter(where, ct))).toBe(true);
  return where;
}

beforeAll(async () => {
  t = await bootCluster(2, 'ctlab-migfault');
}, 180_000);

afterAll(() => t?.dispose());

describe('live migration under faults', () => {
  it('stops when the source is asked to abort during pre-copy: the container runs on at the source', async () => {
    await startLoop(t, 'node1', 'ab', '10.0.9.60', 'ctdemo mem 16 4');
    expect((await t.run('node1', 'ct migrate-abort ab')).output).toMatch(/no migration of "ab" is under way/);
    await migrateInBackground('node1', 'ab', ADDR.node2!);
    await preCopyUnderWay('ab');
    await sh('node1', 'ct migrate-abort ab');
    const out = await migrationResult('node1', 'ab');
    expect(out).toMatch(/rc=1/);
    expect(out).toMatch(/the migration was aborted/);
    expect(await exactlyOneRunning('ab')).toBe('node1');
    await t.waitFor('node2', 'ct list; ls /var/lib/ct-migrate 2>/dev/null', (o) => !/\bab\b/.test(o), 30_000);
    await sh('node1', 'ct destroy ab --force');
  }, 180_000);

  it('on a link that loses 40 % of its frames, ends with exactly one running copy', async () => {
    await startLoop(t, 'node1', 'lo', '10.0.9.61', 'ctdemo mem 2 4');
    const port = (await t.network.ports()).find((p) => p.name === 'node2')!.id;
    await t.network.setFault(port, { lossPercent: 40 });
    await migrateInBackground('node1', 'lo', ADDR.node2!);
    const out = await migrationResult('node1', 'lo');
    await t.network.setFault(port, { lossPercent: 0 });
    const where = await exactlyOneRunning('lo');
    expect(where).toBe(/rc=0/.test(out) ? 'node2' : 'node1');
    await t.waitFor(where === 'node1' ? 'node2' : 'node1', 'ls /var/lib/ct-migrate 2>/dev/null; echo .', (o) => !/\blo\b/.test(o), 30_000);
    await sh(where, 'ct destroy lo --force');
  }, 240_000);

  it('when the link drops in the frozen round (the destination already building it), the source keeps it', async () => {
    await startLoop(t, 'node1', 'fr', '10.0.9.64', 'ctdemo mem 16 4');
    const port = (await t.network.ports()).find((p) => p.name === 'node2')!.id;
    await migrateInBackground('node1', 'fr', ADDR.node2!);
    // The image's head has arrived: node2 has created the container and is starting it.
    await t.waitFor('node2', 'ct list', (o) => /\bfr\b/.test(o), 120_000);
    await t.network.setFault(port, { down: true });
    const out = await migrationResult('node1', 'fr');
    await t.network.setFault(port, { down: false });
    expect(out).toMatch(/rc=1/);
    expect(await exactlyOneRunning('fr')).toBe('node1');
    await t.waitFor('node2', 'ct list; ls /var/lib/ct-migrate 2>/dev/null', (o) => !/\bfr\b/.test(o), 40_000);
    await sh('node1', 'ct destroy fr --force');
  }, 240_000);

  it('when the destination fails with the processes already rebuilt and held, the source keeps it at once', async () => {
    await startLoop(t, 'node1', 'fs', '10.0.9.65', 'ctdemo count 100');
    await sh('node2', 'echo fail-after-seize > /run/ct/restore.fault');
    const started = Date.now();
    const r = await t.run('node1', `ct migrate fs ${ADDR.node2}`);
    const seconds = (Date.now() - started) / 1000;
    await sh('node2', 'rm -f /run/ct/restore.fault');
    expect(r.exitCode).not.toBe(0);
    // The destination's error, not the source's timeout: the held processes were killed and reaped
    // by the restore itself (a traced process outlives its kill until its tracer reaps it).
    expect(r.output).toMatch(/could not restore it: a fault injected in the restore, its processes seized/);
    expect(seconds).toBeLessThan(45);
    expect(await exactlyOneRunning('fs')).toBe('node1');
    await t.waitFor('node2', 'ct list; ls /var/lib/ct-migrate 2>/dev/null', (o) => !/\bfs\b/.test(o), 40_000);
    await sh('node1', 'ct destroy fs --force');
  }, 240_000);

  it('when the destination dies with the copy restored and held, the source keeps it and the dead copy is undone', async () => {
    await startLoop(t, 'node1', 'cd', '10.0.9.66', 'ctdemo count 100');
    await sh('node2', 'echo crash-restored > /run/ct/migrate.fault');
    let r = await t.run('node1', `ct migrate cd ${ADDR.node2}`);
    await sh('node2', 'rm -f /run/ct/migrate.fault');
    expect(r.exitCode).not.toBe(0);
    expect(await exactlyOneRunning('cd')).toBe('node1');
    // The listener settles what its dead child left (the copy held frozen, never let go; its directory).
    await t.waitFor('node2', 'ct list; ls /var/lib/ct-migrate 2>/dev/null', (o) => !/\bcd\b/.test(o), 30_000);
    // The name is free to arrive again, and the container moves.
    r = await t.run('node1', `ct migrate cd ${ADDR.node2}`);
    expect(r.exitCode, r.output).toBe(0);
    expect(await exactlyOneRunning('cd')).toBe('node2');
    await sh('node2', 'ct destroy cd --force');
  }, 240_000);

  it('when the destination dies past its commit, the copy there is let go and the source, asking, gives its own up', async () => {
    await startLoop(t, 'node1', 'cc', '10.0.9.67', 'ctdemo count 100');
    await sh('node2', 'echo crash-committed > /run/ct/migrate.fault');
    const r = await t.run('node1', `ct migrate cc ${ADDR.node2}`);
    await sh('node2', 'rm -f /run/ct/migrate.fault');
    // No DONE: the source asks, and hears "committed" once node2 has let its copy go.
    expect(r.exitCode, r.output).toBe(0);
    expect(await exactlyOneRunning('cc')).toBe('node2');
    expect(await sh('node2', 'ct list')).toMatch(/^cc\s+running/m);
    expect(await sh('node2', 'ls /var/lib/ct-migrate')).not.toMatch(/\bcc\b/);
    await sh('node2', 'ct destroy cc --force');
  }, 240_000);

  it('is refused by a destination without the memory for it: the container runs on at the source', async () => {
    await startLoop(t, 'node1', 'om', '10.0.9.63', 'ctdemo mem 4 4');
    const avail = Number(/MemAvailable:\s+(\d+)/.exec(await sh('node2', 'cat /proc/meminfo'))![1]);
    const fill = Math.floor(avail / 1024) - 12;   // MiB: leaves node2 about 12 MiB
    const shm = Math.min(40, Math.floor(fill / 2));
    await sh('node2', `dd if=/dev/zero of=/dev/shm/fill bs=1M count=${shm} 2>/dev/null; dd if=/dev/zero of=/tmp/fill bs=1M count=${fill - shm} 2>/dev/null`);
    const r = await t.run('node1', `ct migrate om ${ADDR.node2}`);
    await sh('node2', 'rm -f /dev/shm/fill /tmp/fill');
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/not enough memory here: \d+ MiB available, the container needs about \d+ MiB/);
    expect(await exactlyOneRunning('om')).toBe('node1');
    await sh('node1', 'ct destroy om --force');
  }, 180_000);

  // Last: node2 does not come back.
  it('when the destination vanishes mid-stream (its emulator gone, as when its tab closes), the source keeps it', async () => {
    await startLoop(t, 'node1', 'gone', '10.0.9.62', 'ctdemo mem 16 4');
    await migrateInBackground('node1', 'gone', ADDR.node2!);
    await preCopyUnderWay('gone');
    await sleep(300);
    await t.cluster.nodes.find((n) => n.name === 'node2')!.host.shutdown();
    const out = await migrationResult('node1', 'gone');
    expect(out).toMatch(/rc=1/);
    expect(await exactlyOneRunning('gone', ['node1'])).toBe('node1');
  }, 180_000);
});

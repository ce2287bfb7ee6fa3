// Boots the real guest under Node (cold: the other suites mostly start from the saved state) and
// checks what every later feature stands on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleShell } from '../../src/common/host/ConsoleShell';
import type { BootPhase } from '../../src/common/host/Host';
import { createNodeHost } from '../../src/node/nodeHost';

const host = createNodeHost('it-host', { loadState: undefined });
const shell = new ConsoleShell(host);
const phases: BootPhase[] = [];
host.onProgress((p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); });

async function sh(command: string): Promise<string> {
  const { output, exitCode } = await shell.run(command);
  if (exitCode !== 0) throw new Error(`"${command}" exited ${exitCode}: ${output}`);
  return output.trim();
}

beforeAll(async () => {
  await host.boot();
});
afterAll(async () => {
  shell.dispose();
  await host.shutdown();
});

describe('a booted host', () => {
  it('went through every boot phase in order and is running', () => {
    expect(phases).toEqual(['fetch', 'kernel', 'init', 'ready']);
    expect(host.state).toBe('running');
  });

  it('has v86 compile one guest page per wasm module (EmulatedHost: JIT_PAGES_PER_MODULE)', () => {
    const cpu = (host as unknown as { emulator: { v86: { cpu: { wm: { exports: { get_jit_config(i: number): number } } } } } })
      .emulator.v86.cpu;
    expect(cpu.wm.exports.get_jit_config(1)).toBe(1);
  });

  it('is a 32-bit x86 Linux', async () => {
    expect(await sh('uname -m')).toBe('i686');
    expect(await sh('uname -s')).toBe('Linux');
  });

  it('reports a failing command as failing', async () => {
    expect((await shell.run('false')).exitCode).toBe(1);
    expect((await shell.run('ls /no-such-dir')).exitCode).not.toBe(0);
  });

  it('unshares pid, mount, uts, ipc and net namespaces, with the shell inside as PID 1', async () => {
    const kinds = ['pid', 'mnt', 'uts', 'ipc', 'net'];
    const outside = await sh(`for n in ${kinds.join(' ')}; do readlink /proc/self/ns/$n; done`);
    const inside = await sh(
      `unshare -p -f -m -u -i -n --mount-proc sh -c '` +
      `echo pid=$$; hostname inner; echo host=$(hostname); echo links=$(ip -o link | wc -l); echo init=$(cat /proc/1/comm); ` +
      `echo procs=$(ls -d /proc/[0-9]* | wc -l); ` +
      `for n in ${kinds.join(' ')}; do readlink /proc/self/ns/$n; done'`);
    expect(inside).toMatch(/^pid=1$/m);
    expect(inside).toMatch(/^host=inner$/m);
    expect(inside).toMatch(/^links=1$/m); // only lo in the new net namespace
    // Only the shell and its own children: none of the host's processes or kernel threads.
    expect(inside).toMatch(/^init=sh$/m);
    expect(Number(/^procs=(\d+)$/m.exec(inside)![1])).toBeLessThanOrEqual(4);
    expect(Number(await sh('ls -d /proc/[0-9]* | wc -l'))).toBeGreaterThan(10);
    const insideIds = inside.split('\n').filter((l) => l.includes(':['));
    const outsideIds = outside.split('\n');
    expect(insideIds).toHaveLength(kinds.length);
    insideIds.forEach((id, i) => expect(id).not.toBe(outsideIds[i]));
    expect(await sh('hostname')).toBe('ctlab'); // the host's name was not touched
  });

  it('lets a new mount namespace pivot_root into its own root', async () => {
    const out = await sh(
      `unshare -m sh -c 'mkdir -p /tmp/nr && mount -t tmpfs nr /tmp/nr && mkdir /tmp/nr/old /tmp/nr/bin && ` +
      `cp /bin/busybox /tmp/nr/bin/ && cd /tmp/nr && pivot_root . old && ` +
      `exec /bin/busybox sh -c "/bin/busybox ls /; /bin/busybox umount -l /old && echo unmounted"'`);
    expect(out.split(/\s+/)).toEqual(['bin', 'old', 'unmounted']);
  });

  it('offers cgroup v2 with the memory, pids and cpu controllers', async () => {
    const controllers = (await sh('cat /sys/fs/cgroup/cgroup.controllers')).split(' ');
    expect(controllers).toEqual(expect.arrayContaining(['memory', 'pids', 'cpu']));
    const files = await sh(
      'mkdir /sys/fs/cgroup/t && ls /sys/fs/cgroup/t && echo 5 > /sys/fs/cgroup/t/pids.max && ' +
      'cat /sys/fs/cgroup/t/pids.max && rmdir /sys/fs/cgroup/t');
    expect(files.split(/\s+/)).toEqual(expect.arrayContaining(['memory.max', 'pids.max', 'cpu.max', 'cgroup.freeze']));
    expect(files).toMatch(/\n5$/);
  });

  it('sleeps for about a second in both guest and wall-clock time', async () => {
    const started = performance.now();
    const out = await sh('read a _ < /proc/uptime; sleep 1; read b _ < /proc/uptime; echo $a $b');
    const wallS = (performance.now() - started) / 1000;
    const [a, b] = out.split(' ').map(Number) as [number, number];
    expect(b - a).toBeGreaterThanOrEqual(0.99);
    expect(b - a).toBeLessThan(1.5);
    expect(wallS).toBeGreaterThanOrEqual(0.95);
  });

  it('saves its emulator state and comes back to it', async () => {
    await sh('echo before > /tmp/state-mark');
    const state = await host.saveState();
    expect(state.byteLength).toBeGreaterThan(1_000_000);
    await sh('echo after > /tmp/state-mark');
    await host.restoreState(state);
    // The console's line editor may hold the half-typed line the state was saved with.
    host.writeConsole('\x03');
    expect(await sh('cat /tmp/state-mark')).toBe('before');
  });
});

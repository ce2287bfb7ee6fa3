// What a container cannot see or touch, and the limits its cgroup enforces, on the real guest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, type TestGuest } from './guest';

let g: TestGuest;
const run = async (name: string, script: string) => g.agent.execText(name, ['sh', '-c', script]);
const out = async (name: string, script: string) => {
  const r = await run(name, script);
  if (r.exitCode !== 0) throw new Error(`${name}: "${script}" exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.trim();
};

beforeAll(async () => {
  g = await bootGuest('ct-iso');
  await g.agent.create({ name: 'a', ip: '10.0.1.1/16' });
  await g.agent.create({ name: 'b', ip: '10.0.1.2/16' });
  await g.agent.start('a');
  await g.agent.start('b');
});
afterAll(async () => { await g?.dispose(); });

describe('isolation between containers and from the host', () => {
  it("shows a container only its own processes, with its init as PID 1", async () => {
    await out('b', 'sleep 300 >/dev/null 2>&1 &');
    const ps = await out('a', 'ps -o pid,comm');
    expect(ps.split('\n').slice(1).map((l) => l.trim())).toEqual(['1 ct-init', expect.stringMatching(/^\d+ ps$/)]);
    expect(await out('b', 'ps -o comm')).toMatch(/sleep/);
  });

  it("keeps one container's files from another and from the host's", async () => {
    await out('b', 'echo secret > /root/b-only');
    expect(await out('a', 'ls /root')).toBe('');
    expect((await run('a', 'cat /proc/*/root/root/b-only')).exitCode).not.toBe(0);
    expect((await run('a', 'ls /var/lib/ct')).exitCode).not.toBe(0);
    await g.sh('echo host > /tmp/host-only');
    expect((await run('a', 'cat /tmp/host-only')).exitCode).not.toBe(0);
    await out('a', 'echo mine > /tmp/a-file');
    expect((await g.shell.run('cat /tmp/a-file')).exitCode).not.toBe(0);
    // The container's changes live in its upper layer, the template is untouched.
    expect(await g.sh('cat /var/lib/ct/a/upper/tmp/a-file')).toBe('mine');
    expect((await g.shell.run('ls /usr/share/ct/templates/busybox/tmp/a-file')).exitCode).not.toBe(0);
  });

  it('gives each container its own network stack with only its own address', async () => {
    expect(await out('a', "ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1")).toBe('lo\neth0');
    expect(await out('a', "ip -o -4 addr | awk '{print $4}'")).toBe('127.0.0.1/8\n10.0.1.1/16');
    expect(await out('b', "ip -o -4 addr | awk '{print $4}'")).toBe('127.0.0.1/8\n10.0.1.2/16');
    // Both sit on the host's bridge, as one L2 segment.
    expect(await out('a', 'ping -c 1 -W 5 10.0.1.2 >/dev/null && echo reachable')).toBe('reachable');
  });

  it('has independent hostnames', async () => {
    await out('a', 'hostname renamed-a');
    expect(await out('a', 'hostname')).toBe('renamed-a');
    expect(await out('b', 'hostname')).toBe('b');
    expect(await g.sh('hostname')).toBe('ctlab');
  });

  it('runs container root as an unprivileged host user that cannot touch the host', async () => {
    expect(await out('a', 'id -u; cat /proc/self/uid_map')).toMatch(/^0\n\s*0\s+100000\s+65536$/);
    const initPid = (await g.agent.status('a')).init_pid!;
    expect(await g.sh(`awk '/^Uid/ {print $2}' /proc/${initPid}/status`)).toBe('100000');
    expect((await run('a', 'mknod /tmp/sda b 8 0')).exitCode).not.toBe(0);
    expect((await run('a', 'echo 1 > /proc/sys/vm/drop_caches')).exitCode).not.toBe(0);
    expect((await run('a', 'touch /sys/kernel/x')).exitCode).not.toBe(0);
    // The host's processes are out of reach: their pids do not exist in the container.
    const hostShell = await g.sh('echo $$');
    expect((await run('a', `kill -9 ${hostShell}`)).exitCode).not.toBe(0);
    expect(await g.sh('echo still-here')).toBe('still-here');
  });

  it("shows a container only its own cgroup, as the root of its tree", async () => {
    expect(await out('a', 'cat /proc/self/cgroup')).toBe('0::/');
    const tree = await out('a', 'ls /sys/fs/cgroup');
    expect(tree).toMatch(/memory\.max/);
    expect(tree.split('\n')).not.toContain('ct');
    expect(await out('a', 'find /sys/fs/cgroup -name "b" -o -name "ct" | wc -l')).toBe('0');
    expect((await run('a', 'echo 1 > /sys/fs/cgroup/cgroup.kill; echo survived')).stdout).toBe('survived\n');
  });
});

describe('limits enforced by the container cgroup', () => {
  it('stops a fork bomb at pids.max while the host keeps answering', async () => {
    await g.agent.create({ name: 'bomb', pids: 24 });
    await g.agent.start('bomb');
    await out('bomb', 'bomb() { bomb | bomb & }; (bomb) >/dev/null 2>&1 &');
    await expect.poll(async () => (await g.agent.stats('bomb')).pids.refused, { timeout: 30_000, interval: 500 })
      .toBeGreaterThan(0);
    const stats = await g.agent.stats('bomb');
    expect(stats.pids.current).toBeLessThanOrEqual(24);
    const started = performance.now();
    expect(await g.sh('echo host-alive')).toBe('host-alive');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await g.agent.status('a')).state).toBe('running');
    await g.agent.destroy('bomb', { force: true });
  });

  it('OOM-kills a memory hog inside its container only', async () => {
    await g.agent.create({ name: 'hog', memory: 16 << 20 });
    await g.agent.start('hog');
    // dd fills a 48 MiB buffer: three times the container's memory.max.
    const hog = await run('hog', 'dd if=/dev/zero of=/dev/null bs=48M count=1');
    expect(hog.exitCode).toBe(137); // SIGKILL from the OOM killer
    const stats = await g.agent.stats('hog');
    expect(stats.memory.oom_kills).toBeGreaterThanOrEqual(1);
    expect(stats.memory.peak).toBeLessThanOrEqual(16 << 20);
    expect((await g.agent.status('hog')).state).toBe('running'); // its init survived
    // The host's agent and the monitors are the OOM killer's last choice; containers are not.
    const init = (await g.agent.status('hog')).init_pid!;
    expect(await g.sh(`cat /proc/${init}/oom_score_adj`)).toBe('0');
    expect(await g.sh("for p in $(pidof ct-monitor); do cat /proc/$p/oom_score_adj; done | sort -u")).toBe('-1000');
    expect(await out('hog', 'echo after-oom')).toBe('after-oom');
    expect((await g.agent.stats('a')).memory.oom_kills).toBe(0);
    expect(await g.sh('echo host-alive')).toBe('host-alive');
    await g.agent.destroy('hog', { force: true });
  });

  it('throttles CPU to the --cpus quota', async () => {
    await g.agent.create({ name: 'cpu', cpus: 0.2 });
    await g.agent.start('cpu');
    await run('cpu', 'timeout 3 sh -c "while :; do :; done"');
    const stats = await g.agent.stats('cpu');
    expect(stats.cpu.nr_throttled).toBeGreaterThan(0);
    // 3 s of a busy loop at 0.2 CPU: about 0.6 s of CPU time, never the full 3 s. The guest's
    // clock may take longer than 3 s of wall time to start and end it (a loaded machine, a JIT
    // cache still cold after a state restore), so bound the CPU time per 100 ms period too: the
    // quota is 20 ms of it.
    expect(stats.cpu.usage_usec).toBeLessThan(2_000_000);
    expect(stats.cpu.usage_usec / stats.cpu.nr_periods).toBeLessThan(30_000);
    await g.agent.destroy('cpu', { force: true });
  });
});

// The container lifecycle through the agent and the ct CLI, on the real guest; bad input and
// failed starts leave nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/common/agent/AgentClient';
import { bootGuest, hostTraces, type TestGuest } from './guest';

let g: TestGuest;
beforeAll(async () => { g = await bootGuest('ct-life'); });
afterAll(async () => { await g?.dispose(); });

async function agentError(work: Promise<unknown>): Promise<AgentError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

describe('container lifecycle', () => {
  it('creates, starts, runs commands in, stops, restarts and destroys a container', async () => {
    const created = await g.agent.create({ name: 'web', ip: '10.0.1.5/16', memory: 32 << 20, pids: 64, cpus: 0.5 });
    expect(created).toMatchObject({ name: 'web', state: 'stopped', ip: '10.0.1.5/16', memory: 32 << 20, pids: 64, cpus: 0.5, privileged: false });

    const running = await g.agent.start('web');
    expect(running.state).toBe('running');
    expect(running.init_pid).toBeGreaterThan(1);
    const ps = await g.agent.execText('web', ['ps', '-o', 'pid,comm']);
    expect(ps.stdout).toMatch(/^\s*1 ct-init$/m);
    expect(await g.agent.execText('web', ['sh', '-c', 'echo out; echo err >&2; exit 7']))
      .toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect((await g.agent.execText('web', ['cat'], { stdin: 'through stdin' })).stdout).toBe('through stdin');
    expect((await g.agent.execText('web', ['no-such-command'])).exitCode).toBe(127);

    // The beancounters see the container's own usage and its limits.
    const stats = await g.agent.stats('web');
    expect(stats.memory.max).toBe(32 << 20);
    expect(stats.memory.current).toBeGreaterThan(0);
    expect(stats.pids.max).toBe(64);
    expect(stats.pids.current).toBeGreaterThanOrEqual(1);

    // Limits change live, and the definition keeps them.
    await g.agent.set('web', { memory: 48 << 20, pids: 32 });
    expect((await g.agent.stats('web')).memory.max).toBe(48 << 20);
    expect(await g.sh('cat /sys/fs/cgroup/ct/web/pids.max /sys/fs/cgroup/ct/web/cpu.max')).toBe('32\n50000 100000');

    // The CLI sees the same container.
    expect(await g.sh('ct list')).toMatch(/^web\s+running\s+10\.0\.1\.5\/16\s+48M\s+32\s+0\.50$/m);
    expect(JSON.parse(await g.sh('ct status web --json'))).toMatchObject({ name: 'web', state: 'running', pids: 32 });
    expect(await g.sh('ct exec web -- hostname')).toBe('web');
    expect(await g.sh('ct logs web')).toMatch(/container web up/);

    // restart reboots the container's init only: a new init, the same definition.
    await g.sh('ct exec web -- touch /root/kept');
    const restarted = await g.agent.restart('web');
    expect(restarted.state).toBe('running');
    expect(restarted.init_pid).not.toBe(running.init_pid);
    expect(restarted).toMatchObject({ ip: '10.0.1.5/16', memory: 48 << 20, pids: 32 });
    expect((await g.agent.execText('web', ['ls', '/root'])).stdout).toBe('kept\n');

    expect((await agentError(g.agent.start('web'))).code).toBe('state');
    expect((await agentError(g.agent.destroy('web'))).code).toBe('state');
    const stopped = await g.agent.stop('web');
    expect(stopped).toMatchObject({ state: 'stopped', init_pid: null });
    expect(await hostTraces(g, 'web')).toBe('');

    await g.agent.start('web');
    await g.agent.destroy('web', { force: true });
    expect(await g.agent.list()).toEqual([]);
    expect(await hostTraces(g, 'web')).toBe('');
    expect(await g.sh('ls /var/lib/ct')).toBe('');
  });

  it('reports state changes and periodic stats as events', async () => {
    const states: string[] = [];
    const sub = g.agent.onStateChange((e) => {
      if (e.name === 'ev') states.push(e.exit_code === undefined ? e.state : `${e.state}:${e.exit_code}`);
    });
    await g.agent.create({ name: 'ev' });
    await g.agent.start('ev');
    const stats = await new Promise<string[]>((resolve) => {
      const s = g.agent.onStats((e) => { s.dispose(); resolve(e.containers.map((c) => c.name)); });
    });
    expect(stats).toContain('ev');
    await g.agent.stop('ev');
    await g.agent.destroy('ev');
    // ct-init exits 0 after a stop's TERM.
    await expect.poll(() => states).toEqual(['stopped', 'running', 'stopped:0', 'destroyed']);
    sub.dispose();
  });

  it('gives an interactive shell on a terminal inside the container', async () => {
    await g.agent.create({ name: 'tty' });
    await g.agent.start('tty');
    const term = await g.agent.openTerminal('tty', { cols: 100, rows: 30 });
    let screen = '';
    term.onData((d) => { screen += new TextDecoder().decode(d); });
    term.write('stty size; echo in-$(hostname)-$((6*7))\n');
    await expect.poll(() => screen, { timeout: 20_000 }).toMatch(/30 100\r\n/);
    await expect.poll(() => screen, { timeout: 20_000 }).toMatch(/in-tty-42/);
    const exited = new Promise<number>((resolve) => term.onExit(resolve));
    term.write('exit 3\n');
    expect(await exited).toBe(3);
    await g.agent.destroy('tty', { force: true });
  });

  it('keeps container definitions across an agent restart', async () => {
    await g.agent.create({ name: 'keep', ip: '10.0.1.9/16' });
    const hello = new Promise<void>((resolve) => { const s = g.agent.onHello(() => { s.dispose(); resolve(); }); });
    await g.sh(`kill $(ps -o pid,args | awk '$2 == "/usr/bin/ct" && $3 == "agent" {print $1}')`);
    await hello; // busybox init respawned the agent
    expect((await g.agent.list()).map((c) => c.name)).toEqual(['keep']);
    await g.agent.destroy('keep');
  });
});

describe('bad input', () => {
  it.each(['Bad', '-x', 'a/b', '', 'x'.repeat(33), 'a b'])('refuses the container name %j', async (name) => {
    expect((await agentError(g.agent.create({ name }))).code).toBe('invalid_argument');
    const cli = await g.shell.run(`ct create '${name}'`);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.output.trim().split('\n')).toHaveLength(1);
    expect(cli.output).toMatch(/^ct: /);
  });

  it.each([
    ['--memory 12Q', /invalid size "12Q"/], ['--memory 10k', /below the 1M minimum/],
    ['--pids 0', /invalid pids limit "0"/], ['--pids -3', /invalid pids limit "-3"|unknown option/],
    ['--cpus 0', /invalid CPU limit "0"/], ['--cpus lots', /invalid CPU limit "lots"/],
    ['--ip 10.0.0.300/16', /invalid IP/], ['--ip 10.0.0.5', /invalid IP/], ['--ip 10.0.0.0/16', /network or broadcast/],
    ['--hostname "bad host"', /invalid hostname|unexpected argument/], ['--frobnicate', /unknown option/],
  ])('refuses create %s with a one-line error', async (options, message) => {
    const cli = await g.shell.run(`ct create lim ${options}`);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.output.trim()).toMatch(message);
    expect(cli.output.trim().split('\n')).toHaveLength(1);
    expect(await g.agent.list()).toEqual([]);
  });

  it('refuses limits of the wrong type or range through the agent', async () => {
    expect((await agentError(g.agent.create({ name: 'x', memory: 100 }))).code).toBe('invalid_argument');
    expect((await agentError(g.agent.create({ name: 'x', cpus: 1000 }))).code).toBe('invalid_argument');
    expect((await agentError(g.agent.create({ name: 'x', memory: '32M' as unknown as number }))).code).toBe('bad_request');
    expect(await g.agent.list()).toEqual([]);
  });

  it('names an unknown container in the error', async () => {
    const calls = [() => g.agent.start('nope'), () => g.agent.stop('nope'), () => g.agent.status('nope'),
      () => g.agent.destroy('nope'), () => g.agent.exec('nope', ['true']), () => g.agent.stats('nope'),
      () => g.agent.set('nope', { pids: 5 })];
    for (const call of calls) {
      const err = await agentError(call());
      expect(err.code).toBe('not_found');
      expect(err.message).toBe('no container named "nope"');
    }
    const cli = await g.shell.run('ct start nope');
    expect(cli).toEqual({ exitCode: 1, output: 'ct: no container named "nope"\n' });
  });

  it('refuses a duplicate IP and keeps only the first container', async () => {
    await g.agent.create({ name: 'ip1', ip: '10.0.2.1/16' });
    const err = await agentError(g.agent.create({ name: 'ip2', ip: '10.0.2.1/16' }));
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(/already used by container "ip1"/);
    expect((await g.agent.list()).map((c) => c.name)).toEqual(['ip1']);
    expect((await agentError(g.agent.create({ name: 'ip1' }))).code).toBe('exists');
    await g.agent.destroy('ip1');
  });

  it('leaves nothing behind when a start fails half-way', async () => {
    // A template without /sbin/ct-init: everything is set up, then the exec of init fails.
    await g.sh('mkdir -p /usr/share/ct/templates/broken/proc /usr/share/ct/templates/broken/sys /usr/share/ct/templates/broken/dev');
    await g.agent.create({ name: 'half', template: 'broken', ip: '10.0.3.1/16', memory: 16 << 20 });
    const err = await agentError(g.agent.start('half'));
    expect(err.code).toBe('failed');
    expect(err.message).toMatch(/ct-init/);
    expect(await hostTraces(g, 'half')).toBe('');
    expect((await g.agent.status('half')).state).toBe('stopped');
    await g.agent.destroy('half');
    await g.sh('rm -r /usr/share/ct/templates/broken');
  });

  it('answers malformed and oversized requests with errors and keeps serving', async () => {
    const dropped: string[] = [];
    const sub = g.agent.onProtocolError((e) => dropped.push(e.reason));
    const enc = new TextEncoder();
    g.host.writeAgent(enc.encode('not json\n{"id":1}\n[1,2]\n{"id":5,"op":"frob"}\n'));
    g.host.writeAgent(enc.encode('{"id":6,"op":"create","args":' + '['.repeat(40) + '\n'));
    g.host.writeAgent(enc.encode('x'.repeat(70_000) + '\n'));
    await g.agent.ping();
    await expect.poll(() => dropped.length).toBeGreaterThanOrEqual(4);
    expect(dropped.join('\n')).toMatch(/oversized/);
    sub.dispose();
    expect(await g.agent.list()).toEqual([]);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { ContainerInfo, CreateArgs } from '../common/agent/protocol';
import { Emitter } from '../common/util/Emitter';
import { probeHost, startPingProbe, type ProbeCluster, type ProbeNode, type ProbeTerminal, type WatchRequest } from './pingProbe';

const info = (name: string, ip: string | null): ContainerInfo => ({
  name, state: 'running', template: 'busybox', hostname: name, ip, memory: null, pids: null, cpus: null, privileged: false,
  init_pid: 7, frozen: false, created: 0,
});

/** A terminal whose shell answers `exec ping` with replies, and ^C with ping's summary. */
class FakeTerminal implements ProbeTerminal {
  readonly data = new Emitter<Uint8Array>();
  readonly exit = new Emitter<number>();
  readonly onData = this.data.event;
  readonly onExit = this.exit.event;
  readonly written: string[] = [];
  closed = false;
  write(text: string): void {
    this.written.push(text);
    const say = (s: string) => this.data.fire(new TextEncoder().encode(s));
    if (text.startsWith('exec ping')) {
      say(text.replace('\n', '\r\n'));
      setTimeout(() => say('64 bytes from 10.0.1.5: seq=0 ttl=64 time=2.1 ms\r\n64 bytes from 10.0.1.5: seq=1 ttl=64 time=2.0 ms\r\n'), 5);
    }
    if (text === '\x03') {
      say('^C\r\n--- 10.0.1.5 ping statistics ---\r\n3 packets transmitted, 2 packets received, 33% packet loss\r\n');
      this.exit.fire(0);
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function node(name: string, containers: ContainerInfo[] = [], ready = true) {
  const terminal = new FakeTerminal();
  const n = {
    name, ready, containers,
    terminal,
    agent: {
      start: vi.fn(async () => undefined),
      destroy: vi.fn(async () => undefined),
      openTerminal: vi.fn(async () => terminal as ProbeTerminal),
    },
    refresh: vi.fn(async () => undefined),
  };
  return n satisfies ProbeNode;
}

function request(hidden: string[]) {
  const r: WatchRequest = {
    from: 'node1', name: 'web', to: 'node3', changed: vi.fn(),
    hide: (n, c) => {
      hidden.push(`${n}/${c}`);
      return { dispose: () => hidden.splice(hidden.indexOf(`${n}/${c}`), 1) };
    },
  };
  return r;
}

const fast = { firstReplyMs: 2000, afterMs: 10, tickMs: 10, random: () => 0.5 };

describe('the ping probe', () => {
  it('goes on a host of this tab that is neither source nor destination, if there is one', () => {
    const cluster = (names: string[], ready = names) =>
      ({ nodes: names.map((n) => node(n, [], ready.includes(n))), createContainer: vi.fn() }) as unknown as ProbeCluster;
    expect(probeHost(cluster(['node1', 'node2', 'node3']), 'node1', 'node3')?.name).toBe('node2');
    expect(probeHost(cluster(['node1', 'node2']), 'node1', 'node2')?.name).toBe('node2');
    expect(probeHost(cluster(['node1', 'node2']), 'node1', 'node4')?.name).toBe('node2');
    expect(probeHost(cluster(['node1', 'node2'], ['node1']), 'node1', 'node4')?.name).toBe('node1');
    expect(probeHost(cluster(['node1'], []), 'node1', 'node4')).toBeUndefined();
  });

  it('says why there is no timeline for a container without an IP, and creates nothing', async () => {
    const n1 = node('node1', [info('web', null)]);
    const cluster: ProbeCluster = { nodes: [n1, node('node2')], createContainer: vi.fn() };
    const watch = await startPingProbe(cluster, request([]), fast);
    expect(watch.timeline).toBeUndefined();
    expect(watch.note).toBe('no ping timeline: web has no IP address to ping');
    expect(cluster.createContainer).not.toHaveBeenCalled();
  });

  it('pings from a hidden probe until after the move, then removes the probe', async () => {
    const n1 = node('node1', [info('web', '10.0.1.5/16')]);
    const n2 = node('node2');
    const created: CreateArgs[] = [];
    const cluster: ProbeCluster = { nodes: [n1, n2], createContainer: vi.fn(async (_n: string, args: CreateArgs) => { created.push(args); return info(args.name, '10.0.2.9/16'); }) };
    const hidden: string[] = [];
    const r = request(hidden);
    const watch = await startPingProbe(cluster, r, fast);
    expect(created).toEqual([{ name: 'ping-probe-800000' }]);
    expect(cluster.createContainer).toHaveBeenCalledWith('node2', { name: 'ping-probe-800000' });
    expect(hidden).toEqual(['node2/ping-probe-800000']);
    expect(n2.agent.start).toHaveBeenCalledWith('ping-probe-800000');
    expect(n2.terminal.written).toEqual(['exec ping -i 0.1 -W 1 -w 900 10.0.1.5\n']);
    expect(watch.note).toBe('ping every 100 ms from ping-probe-800000 on node2 to web (10.0.1.5)');
    // Resolved once answered.
    expect(watch.timeline!.view(Date.now()).answered).toBe(2);
    expect(r.changed).toHaveBeenCalled();

    await watch.finish(Date.now());
    expect(n2.terminal.written.at(-1)).toBe('\x03');
    expect(watch.timeline!.view(Date.now() + 60_000)).toMatchObject({ stopped: true, answered: 2, missed: 1, slots: ['answered', 'answered', 'missed'] });
    expect(n2.terminal.closed).toBe(true);
    expect(n2.agent.destroy).toHaveBeenCalledWith('ping-probe-800000', { force: true });
    expect(hidden).toEqual([]);
    // Finishing twice is finishing once.
    await watch.finish(Date.now());
    expect(n2.agent.destroy).toHaveBeenCalledTimes(1);
  });

  it('leaves the migration without a timeline when the probe cannot start, and cleans up what it made', async () => {
    const n1 = node('node1', [info('web', '10.0.1.5/16')]);
    const n2 = node('node2');
    n2.agent.start.mockRejectedValueOnce(new Error('out of memory'));
    const cluster: ProbeCluster = { nodes: [n1, n2], createContainer: vi.fn(async () => info('p', null)) };
    const hidden: string[] = [];
    const watch = await startPingProbe(cluster, request(hidden), fast);
    expect(watch.timeline).toBeUndefined();
    expect(watch.note).toBe('no ping timeline: the probe on node2 could not start (out of memory)');
    expect(n2.agent.destroy).toHaveBeenCalledWith('ping-probe-800000', { force: true });
    expect(hidden).toEqual([]);
    await watch.finish(0);
  });
});

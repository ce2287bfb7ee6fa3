// The ping behind a migration's timeline: a small probe container, hidden from the lists, on
// another host of this tab pings the migrating container every 100 ms through a terminal session
// of its host's agent (the only agent op that streams output), from before the move until about a
// second after it; then the probe goes away. Plain TypeScript (pingProbe.test.ts drives it with fakes).
import type { ContainerInfo, CreateArgs } from '../common/agent/protocol';
import type { Disposable, Event } from '../common/util/Emitter';
import { PingTimeline } from './pingTimeline';

/** What the probe needs of a terminal session (a TerminalSession is one). */
export interface ProbeTerminal {
  readonly onData: Event<Uint8Array>;
  readonly onExit: Event<number>;
  write(data: string): void;
  close(): Promise<void>;
}

/** What the probe needs of a ClusterNode. */
export interface ProbeNode {
  readonly name: string;
  readonly ready: boolean;
  readonly containers: readonly ContainerInfo[];
  readonly agent: {
    start(name: string): Promise<unknown>;
    destroy(name: string, options: { force?: boolean }): Promise<void>;
    openTerminal(name: string, options: { cols?: number; rows?: number }): Promise<ProbeTerminal>;
  };
  refresh(): Promise<void>;
}

/** What the probe needs of a Cluster. */
export interface ProbeCluster {
  readonly nodes: readonly ProbeNode[];
  createContainer(nodeName: string, args: CreateArgs): Promise<ContainerInfo>;
}

/** The migration a watch is for, and how it reports back to its owner. */
export interface WatchRequest {
  from: string;
  name: string;
  to: string;
  /** The timeline or the note changed: redraw. */
  changed(): void;
  /** Keeps a probe container out of the panel's lists until disposed. */
  hide(node: string, name: string): Disposable;
}

/** A migration's ping: its timeline, or a note saying why there is none. */
export interface MigrationWatch {
  readonly timeline: PingTimeline | undefined;
  /** People's text: who pings whom, or why there is no timeline. */
  readonly note: string;
  /** The migration ended at page time `at` (done or failed): the ping goes on ~1 s, then the probe goes. */
  finish(at: number): Promise<void>;
}

export interface ProbeOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** For the probe's name. Default Math.random. */
  random?: () => number;
  /** How long the migration waits for the probe's first answered ping. */
  firstReplyMs?: number;
  /** How long the ping goes on after the migration. */
  afterMs?: number;
  /** How often the view is told to redraw while pinging (the gap has no output to trigger it). */
  tickMs?: number;
}

export const PING_INTERVAL_MS = 100;
/** ping's -W: a request unanswered for a second counts as missed. Its -w bounds a probe left behind. */
const PING_COMMAND = (ip: string) => `exec ping -i 0.1 -W 1 -w 900 ${ip}\n`;

const noTimeline = (note: string): MigrationWatch => ({ timeline: undefined, note, finish: async () => undefined });

/** The host for the probe: this tab's, ready, neither source nor destination if it can be, else not the source. */
export function probeHost(cluster: ProbeCluster, from: string, to: string): ProbeNode | undefined {
  const ready = cluster.nodes.filter((n) => n.ready);
  return ready.find((n) => n.name !== from && n.name !== to) ?? ready.find((n) => n.name !== from) ?? ready.find((n) => n.name === from);
}

/**
 * Starts the ping of a migration: resolves once the probe's ping has been answered (or after
 * firstReplyMs without an answer, or at once when there is nothing to ping; the note says why).
 * Never rejects: a probe that cannot start leaves the migration without a timeline, not failed.
 */
export async function startPingProbe(cluster: ProbeCluster, request: WatchRequest, options: ProbeOptions = {}): Promise<MigrationWatch> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const { from, name, to } = request;

  const info = cluster.nodes.find((n) => n.name === from)?.containers.find((c) => c.name === name);
  const ip = info?.ip?.replace(/\/\d+$/, '');
  if (!ip) return noTimeline(`no ping timeline: ${name} has no IP address to ping`);
  const host = probeHost(cluster, from, to);
  if (!host) return noTimeline('no ping timeline: no host of this tab is ready to run a probe');

  const probe = `ping-probe-${Math.floor(random() * 0x1000000).toString(16).padStart(6, '0')}`;
  const hidden = request.hide(host.name, probe);
  const timeline = new PingTimeline(PING_INTERVAL_MS);
  let terminal: ProbeTerminal | undefined;
  const subscriptions: Disposable[] = [];
  let created = false;

  const removeProbe = async () => {
    for (const s of subscriptions) s.dispose();
    await terminal?.close().catch(() => undefined);
    if (created) await host.agent.destroy(probe, { force: true }).catch(() => undefined);
    await host.refresh().catch(() => undefined);
    hidden.dispose();
  };

  try {
    await cluster.createContainer(host.name, { name: probe });
    created = true;
    await host.agent.start(probe);
    terminal = await host.agent.openTerminal(probe, { cols: 160, rows: 24 });
  } catch (err) {
    await removeProbe();
    return noTimeline(`no ping timeline: the probe on ${host.name} could not start (${err instanceof Error ? err.message : String(err)})`);
  }

  const decoder = new TextDecoder();
  let exited = false;
  subscriptions.push(terminal.onData((bytes) => {
    timeline.feed(decoder.decode(bytes, { stream: true }), now());
    request.changed();
  }));
  subscriptions.push(terminal.onExit(() => { exited = true; }));
  terminal.write(PING_COMMAND(ip));

  let ticking = true;
  void (async () => {
    while (ticking) {
      await sleep(options.tickMs ?? 250);
      if (ticking) request.changed();
    }
  })();

  // Waits for the first answer, so the timeline covers the whole move.
  const deadline = now() + (options.firstReplyMs ?? 15_000);
  while (timeline.view(now()).answered === 0 && !exited && now() < deadline) await sleep(50);

  let finishing: Promise<void> | undefined;
  return {
    timeline,
    note: `ping every ${PING_INTERVAL_MS} ms from ${probe} on ${host.name} to ${name} (${ip})`,
    finish(at: number) {
      timeline.migrationEnded(at);
      finishing ??= (async () => {
        await sleep(options.afterMs ?? 1000);
        // ^C: busybox ping prints its summary (how many it sent) and exits.
        terminal!.write('\x03');
        const until = now() + 2000;
        while (!exited && now() < until) await sleep(50);
        timeline.stop(now());
        ticking = false;
        request.changed();
        await removeProbe();
      })();
      return finishing;
    },
  };
}

import { Emitter, type Disposable, type Event } from '../util/Emitter';
import { decodeBase64, encodeBase64 } from '../util/base64';
import type { Host } from '../host/Host';
import { isMigrateKey } from '../network/migrateKey';
import { isImageId, looksLikeImage } from './ctImage';
import {
  IMAGE_CHUNK_MAX, IMAGE_MAX_BYTES, MAX_LINE_BYTES, parseIncoming, parseResult,
  type AgentEvent, type ContainerInfo, type ContainerStats, type CreateArgs, type CrReport, type ErrorCode,
  type HelloEvent, type HostIdentity, type ImageEntry, type MigrateReport, type Op, type OpArgs, type OpResult, type ProgressEvent, type Reply,
  type Request, type ResourceLimits, type RestoreReport, type Signal, type StateEvent, type StatsEvent,
} from './protocol';

/** A byte pipe to the guest's agent: a Host's agent channel, or a fake in tests. */
export interface AgentChannel {
  write(data: Uint8Array): void;
  readonly onData: Event<Uint8Array>;
}

/** A Host's agent channel (/dev/hvc0): `new AgentClient(hostAgentChannel(host))`. */
export function hostAgentChannel(host: Pick<Host, 'writeAgent' | 'onAgentData'>): AgentChannel {
  return { write: (data) => host.writeAgent(data), onData: host.onAgentData };
}

/**
 * The agent's error codes, plus the client's own: `disposed` (the client went away first),
 * `bad_reply` (the guest's reply was malformed), `channel` (the bytes could not be written).
 */
export type AgentErrorCode = ErrorCode | 'disposed' | 'bad_reply' | 'channel';

/** A failed agent call. For the agent's own errors `message` is the agent's text, meant for people. */
export class AgentError extends Error {
  override readonly name = 'AgentError';

  constructor(readonly code: AgentErrorCode, readonly op: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface CallOptions {
  /** How long to wait for the reply; the client's default (30 s) when left out. */
  timeoutMs?: number;
}

export interface AgentClientOptions {
  /** Default reply timeout for every call. */
  timeoutMs?: number;
}

export interface StopOptions extends CallOptions {
  /** Seconds the container's init gets after SIGTERM before SIGKILL (agent default 10). */
  timeout?: number;
}

export interface DestroyOptions extends CallOptions {
  /** Destroy a running container too (it is killed first). */
  force?: boolean;
}

export interface ExecOptions extends CallOptions {
  stdin?: Uint8Array | string;
  /** Seconds the command may run (agent default 30). */
  timeout?: number;
}

export interface ExecResult {
  /** The command's status, or 128+N when signal N killed it. */
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

export interface ExecTextResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CrOptions extends CallOptions {
  /** Each phase the agent reports while the op runs (freezing, memory, ...). */
  onProgress?: (phase: string) => void;
}

export interface CheckpointOptions extends CrOptions {
  /** Keep the container running once its image is complete (default: it stops). */
  leaveRunning?: boolean;
}

export interface ConfigureOptions extends CallOptions {
  /** The cluster's migration key: the host then takes containers only from hosts presenting it. */
  migrateKey?: string;
}

export interface TransferOptions extends CallOptions {
  /** Bytes moved so far and the image's size, after each chunk. */
  onProgress?: (done: number, total: number) => void;
}

export interface TerminalOptions extends CallOptions {
  cols?: number;
  rows?: number;
}

/** A line from the guest that was dropped as malformed. */
export interface DroppedMessage {
  reason: string;
  /** The line (cut short when long). */
  line: string;
  /** Malformed messages dropped so far, this one included. */
  malformedCount: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A checkpoint, restore or migration moves a container's whole memory through an emulated CPU. */
const CR_TIMEOUT_MS = 300_000;
/** Raw bytes per image_write: base64 grows them by 4/3, the line must stay under MAX_LINE_BYTES. */
const IMAGE_WRITE_CHUNK_BYTES = 45 * 1024;
/** Agent defaults for ops whose `timeout` argument bounds the work itself. */
const AGENT_EXEC_TIMEOUT_S = 30;
const AGENT_STOP_TIMEOUT_S = 10;
/** Slack over such an op's own timeout, so the agent's answer arrives before the client gives up. */
const REPLY_GRACE_MS = 10_000;
/** A reply carries at most 2 MiB of output as base64 plus framing; longer lines are garbage. */
const MAX_INCOMING_LINE_BYTES = 8 * 1024 * 1024;
/** Raw bytes per tty_input request: base64 grows them by 4/3, the line must stay under MAX_LINE_BYTES. */
const TTY_INPUT_CHUNK_BYTES = 32 * 1024;
/** Late replies to timed-out calls are expected, not malformed; remember this many ids. */
const ABANDONED_IDS_KEPT = 1024;

interface PendingCall {
  op: Op;
  /** Hears the agent's progress events for this request. */
  progress?: (event: ProgressEvent) => void;
  /** Runs synchronously as the reply is read, so that what it sets up precedes the next line. */
  settle(reply: Reply): void;
  fail(err: AgentError): void;
}

/**
 * The typed client of the in-guest agent (docs/agent-protocol.md): requests matched to replies by
 * id, with timeouts, and the agent's events as typed callbacks. Malformed lines from the guest are
 * dropped and counted (onProtocolError), never thrown.
 */
export class AgentClient implements Disposable {
  private readonly helloEmitter = new Emitter<HelloEvent>();
  private readonly stateEmitter = new Emitter<StateEvent>();
  private readonly statsEmitter = new Emitter<StatsEvent>();
  private readonly progressEmitter = new Emitter<ProgressEvent>();
  private readonly protocolErrorEmitter = new Emitter<DroppedMessage>();
  /** Every `hello` the agent sends (again after it restarts). */
  readonly onHello: Event<HelloEvent> = this.helloEmitter.event;
  /** A container started, stopped or was destroyed. */
  readonly onStateChange: Event<StateEvent> = this.stateEmitter.event;
  /** Every container's stats, every 2 s while any container runs. */
  readonly onStats: Event<StatsEvent> = this.statsEmitter.event;
  /** Phases of every checkpoint and restore under way, this client's or not. */
  readonly onProgress: Event<ProgressEvent> = this.progressEmitter.event;
  readonly onProtocolError: Event<DroppedMessage> = this.protocolErrorEmitter.event;

  private readonly timeoutMs: number;
  private readonly pending = new Map<number, PendingCall>();
  private readonly abandoned = new Set<number>();
  private readonly sessions = new Map<number, TerminalSession>();
  private readonly lines: LineSplitter;
  private readonly subscription: Disposable;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private nextId = 1;
  private dropped = 0;
  private lastHello: HelloEvent | undefined;
  private disposed = false;

  constructor(private readonly channel: AgentChannel, options: AgentClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lines = new LineSplitter(
      MAX_INCOMING_LINE_BYTES,
      (line) => this.guarded(() => this.receiveLine(line)),
      (bytes) => this.guarded(() => this.drop(`a line of ${bytes} bytes, over ${MAX_INCOMING_LINE_BYTES}`, '')),
    );
    this.subscription = channel.onData((chunk) => this.lines.push(chunk));
  }

  /** Malformed messages from the guest dropped so far. */
  get malformedCount(): number {
    return this.dropped;
  }

  /** The agent's latest `hello`, if this client has seen one. */
  get hello(): HelloEvent | undefined {
    return this.lastHello;
  }

  /**
   * Resolves once the agent is known to be up: at once if it said hello already, else on its
   * hello or when a ping is answered (it may have said hello before this client existed).
   */
  ready(options: CallOptions = {}): Promise<void> {
    if (this.lastHello) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        hello.dispose();
        if (err) reject(err);
        else resolve();
      };
      const hello = this.onHello(() => finish());
      this.ping(options).then(() => finish(), finish);
    });
  }

  async ping(options?: CallOptions): Promise<void> {
    await this.call('ping', undefined, options, () => undefined);
  }

  create(args: CreateArgs, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('create', args, options, (info) => info);
  }

  start(name: string, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('start', { name }, options, (info) => info);
  }

  stop(name: string, options: StopOptions = {}): Promise<ContainerInfo> {
    const { timeout, timeoutMs } = options;
    return this.call('stop', { name, timeout }, { timeoutMs: timeoutMs ?? this.timeoutCovering(timeout ?? AGENT_STOP_TIMEOUT_S) }, (info) => info);
  }

  kill(name: string, signal?: Signal, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('kill', { name, signal }, options, (info) => info);
  }

  restart(name: string, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('restart', { name }, options, (info) => info);
  }

  async destroy(name: string, options: DestroyOptions = {}): Promise<void> {
    await this.call('destroy', { name, force: options.force }, options, () => undefined);
  }

  list(options?: CallOptions): Promise<ContainerInfo[]> {
    return this.call('list', undefined, options, (result) => result.containers);
  }

  status(name: string, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('status', { name }, options, (info) => info);
  }

  /** Changes limits; null removes one, a field left out stays as it is. */
  set(name: string, limits: ResourceLimits, options?: CallOptions): Promise<ContainerInfo> {
    return this.call('set', { name, memory: limits.memory, pids: limits.pids, cpus: limits.cpus }, options, (info) => info);
  }

  /** Gives the host its name, MAC and backplane address (see HostIdentity), and its migration key. */
  configureHost(identity: HostIdentity, options: ConfigureOptions = {}): Promise<HostIdentity> {
    const { migrateKey } = options;
    if (migrateKey !== undefined && migrateKey !== '' && !isMigrateKey(migrateKey)) {
      return Promise.reject(new AgentError('invalid_argument', 'host_configure', 'a migration key is 1-64 of A-Z a-z 0-9 _ -'));
    }
    const args = migrateKey === undefined ? { ...identity } : { ...identity, migrate_key: migrateKey };
    return this.call('host_configure', args, options, (result) => result);
  }

  /** Sets the guest's wall clock to `timeMs` (default: now); resolves with the guest's clock before. */
  async setTime(timeMs = Date.now(), options?: CallOptions): Promise<number> {
    return this.call('set_time', { time_ms: Math.round(timeMs) }, options, (result) => result.previous_ms);
  }

  stats(name: string, options?: CallOptions): Promise<ContainerStats> {
    return this.call('stats', { name }, options, (stats) => stats);
  }

  /** The last 64 KiB of the container's console. */
  logs(name: string, options?: CallOptions): Promise<Uint8Array> {
    return this.call('logs', { name }, options, (result) => decodeBase64(result.data));
  }

  /**
   * Runs argv in the container and collects its output (each stream capped at 1 MiB by the agent).
   * stdin must fit in one request line: about 48 KiB.
   */
  exec(name: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const { stdin, timeout, timeoutMs } = options;
    const stdinBytes = typeof stdin === 'string' ? this.encoder.encode(stdin) : stdin;
    return this.call(
      'exec',
      { name, argv, stdin: stdinBytes && encodeBase64(stdinBytes), timeout },
      { timeoutMs: timeoutMs ?? this.timeoutCovering(timeout ?? AGENT_EXEC_TIMEOUT_S) },
      (result) => ({ exitCode: result.exit_code, stdout: decodeBase64(result.stdout), stderr: decodeBase64(result.stderr) }),
    );
  }

  /** exec, with stdout and stderr decoded as UTF-8. */
  async execText(name: string, argv: string[], options: ExecOptions = {}): Promise<ExecTextResult> {
    const { exitCode, stdout, stderr } = await this.exec(name, argv, options);
    return { exitCode, stdout: this.decoder.decode(stdout), stderr: this.decoder.decode(stderr) };
  }

  /**
   * Checkpoints a running container into an image on its host (the container stops unless
   * leaveRunning): resolves with the report, whose `image` is the image's id.
   */
  checkpoint(name: string, options: CheckpointOptions = {}): Promise<CrReport> {
    const { leaveRunning, onProgress, timeoutMs } = options;
    return this.call(
      'checkpoint',
      { name, leave_running: leaveRunning },
      { timeoutMs: timeoutMs ?? Math.max(this.timeoutMs, CR_TIMEOUT_MS), progress: onProgress && ((e) => onProgress(e.phase)) },
      (report) => report,
    );
  }

  /** Restores container `name` from an image on its host (creating it, or over a stopped one). */
  restore(name: string, imageId: string, options: CrOptions = {}): Promise<RestoreReport> {
    const { onProgress, timeoutMs } = options;
    const refused = this.checkImageId('restore', imageId);
    if (refused) return Promise.reject(refused);
    return this.call(
      'restore',
      { name, image: imageId },
      { timeoutMs: timeoutMs ?? Math.max(this.timeoutMs, CR_TIMEOUT_MS), progress: onProgress && ((e) => onProgress(e.phase)) },
      (report) => report,
    );
  }

  /**
   * Live-migrates running container `name` to another host: `dest` is that host's backplane
   * address ("10.0.0.2") or name, optionally ":PORT". Resolves once the container runs there and
   * this host has let go of it; on failure (rejected with the guest's message) it keeps running
   * here. onProgress hears "connecting", "pre-copy N", "freezing", ..., "committing", "cleaning up".
   */
  migrate(name: string, dest: string, options: CrOptions = {}): Promise<MigrateReport> {
    const { onProgress, timeoutMs } = options;
    return this.call(
      'migrate',
      { name, dest },
      { timeoutMs: timeoutMs ?? Math.max(this.timeoutMs, CR_TIMEOUT_MS), progress: onProgress && ((e) => onProgress(e.phase)) },
      (report) => report,
    );
  }

  /** Stops this host's migration of `name` before its commit: migrate() then fails with `aborted`. */
  async migrateAbort(name: string, options?: CallOptions): Promise<void> {
    await this.call('migrate_abort', { name }, options, () => undefined);
  }

  /**
   * Settles a migration that failed with `in_doubt` (the container held frozen here): asks `dest`
   * whether it runs the container; `moved` (ours is gone) or `resumed` (ours runs again). With
   * `resume`, takes it back without asking: only when the destination is gone for good.
   */
  migrateResolve(name: string, target: { dest: string } | { resume: true }): Promise<{ name: string; outcome: 'moved' | 'resumed' }> {
    return this.call('migrate_resolve', { name, ...target }, { timeoutMs: Math.max(this.timeoutMs, CR_TIMEOUT_MS) }, (r) => r);
  }

  /** An image's bytes, read from its host in IMAGE_CHUNK_MAX chunks. */
  async downloadImage(imageId: string, options: TransferOptions = {}): Promise<Uint8Array> {
    const refused = this.checkImageId('image_read', imageId);
    if (refused) throw refused;
    let bytes: Uint8Array | undefined;
    let offset = 0;
    for (;;) {
      const chunk = await this.call('image_read', { image: imageId, offset, length: IMAGE_CHUNK_MAX }, { timeoutMs: options.timeoutMs }, (r) => r);
      if (!bytes) {
        if (chunk.size > IMAGE_MAX_BYTES) {
          throw new AgentError('invalid_argument', 'image_read', `image ${imageId} holds ${chunk.size} bytes, over the ${IMAGE_MAX_BYTES}-byte limit`);
        }
        bytes = new Uint8Array(chunk.size);
      } else if (chunk.size !== bytes.length) {
        throw new AgentError('failed', 'image_read', `image ${imageId} changed while it was read (${bytes.length} → ${chunk.size} bytes)`);
      }
      const data = decodeBase64(chunk.data);
      if (data.length > IMAGE_CHUNK_MAX || offset + data.length > bytes.length) {
        throw new AgentError('bad_reply', 'image_read', `image_read returned ${data.length} bytes at ${offset} of ${bytes.length}`);
      }
      bytes.set(data, offset);
      offset += data.length;
      options.onProgress?.(offset, bytes.length);
      if (offset === bytes.length) return bytes;
      if (data.length === 0) throw new AgentError('failed', 'image_read', `image ${imageId} ended at ${offset} of ${bytes.length} bytes`);
    }
  }

  /**
   * Uploads an image's bytes to the host: resolves with its new id there. The bytes must start
   * like a checkpoint image and hold at most IMAGE_MAX_BYTES; a failed upload is deleted again.
   */
  async uploadImage(bytes: Uint8Array, options: TransferOptions = {}): Promise<string> {
    if (bytes.length === 0 || bytes.length > IMAGE_MAX_BYTES) {
      throw new AgentError('invalid_argument', 'image_write', `an image must hold 1 to ${IMAGE_MAX_BYTES} bytes, not ${bytes.length}`);
    }
    if (!looksLikeImage(bytes)) {
      throw new AgentError('invalid_argument', 'image_write', 'this is not a ctlab checkpoint image (no CTLABCR header)');
    }
    const { image } = await this.call('image_create', undefined, { timeoutMs: options.timeoutMs }, (r) => r);
    try {
      for (let offset = 0; offset < bytes.length; offset += IMAGE_WRITE_CHUNK_BYTES) {
        const chunk = bytes.subarray(offset, offset + IMAGE_WRITE_CHUNK_BYTES);
        await this.call('image_write', { image, offset, data: encodeBase64(chunk) }, { timeoutMs: options.timeoutMs }, (r) => r);
        options.onProgress?.(offset + chunk.length, bytes.length);
      }
    } catch (err) {
      await this.deleteImage(image).catch(() => undefined);
      throw err;
    }
    return image;
  }

  async deleteImage(imageId: string, options?: CallOptions): Promise<void> {
    const refused = this.checkImageId('image_delete', imageId);
    if (refused) throw refused;
    await this.call('image_delete', { image: imageId }, options, () => undefined);
  }

  /** The images kept on the host (size null while a checkpoint still writes one). */
  listImages(options?: CallOptions): Promise<ImageEntry[]> {
    return this.call('image_list', undefined, options, (r) => r.images);
  }

  /** Starts a shell in the container on a new pty. */
  openTerminal(name: string, options: TerminalOptions = {}): Promise<TerminalSession> {
    const { cols, rows } = options;
    return this.call('tty_open', { name, cols, rows }, options, ({ session }) => {
      const terminal = new TerminalSession(session, name, {
        send: (op, args) => this.call(op, args, undefined, () => undefined),
        detach: () => {
          if (this.sessions.get(session) === terminal) this.sessions.delete(session);
        },
      });
      // Registered as the reply is read: output may follow on the very next line.
      this.sessions.set(session, terminal);
      return terminal;
    });
  }

  /** Rejects every pending call (code `disposed`), ends terminal sessions here, stops listening. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.subscription.dispose();
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.fail(new AgentError('disposed', call.op, 'the agent client was disposed'));
    for (const session of [...this.sessions.values()]) session.dispose();
    this.sessions.clear();
    for (const emitter of [this.helloEmitter, this.stateEmitter, this.statsEmitter, this.progressEmitter, this.protocolErrorEmitter]) emitter.dispose();
  }

  private checkImageId(op: Op, imageId: string): AgentError | undefined {
    return isImageId(imageId) ? undefined
      : new AgentError('invalid_argument', op, `invalid image id ${JSON.stringify(imageId.slice(0, 60))}`);
  }

  private timeoutCovering(agentSeconds: number): number {
    return Math.max(this.timeoutMs, agentSeconds * 1000 + REPLY_GRACE_MS);
  }

  /** Sends one request; `convert` turns its checked result into what the caller gets. */
  private call<O extends Op, T>(
    op: O,
    args: OpArgs<O> | undefined,
    options: (CallOptions & { progress?: (event: ProgressEvent) => void }) | undefined,
    convert: (result: OpResult<O>) => T,
  ): Promise<T> {
    const progress = options?.progress;
    return new Promise<T>((resolve, reject) => {
      if (this.disposed) {
        reject(new AgentError('disposed', op, 'the agent client was disposed'));
        return;
      }
      const id = this.nextId++;
      const request: Request<O> = args === undefined ? { id, op } : { id, op, args };
      const line = this.encoder.encode(JSON.stringify(request) + '\n');
      if (line.length > MAX_LINE_BYTES) {
        reject(new AgentError('oversized', op, `the ${op} request is ${line.length} bytes, over the agent's ${MAX_LINE_BYTES}-byte line limit`));
        return;
      }
      const ms = options?.timeoutMs ?? this.timeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.abandon(id);
        reject(new AgentError('timeout', op, `no reply from the agent to ${op} within ${ms} ms`));
      }, ms);
      this.pending.set(id, {
        op,
        progress,
        settle: (reply) => {
          clearTimeout(timer);
          if (!reply.ok) {
            reject(new AgentError(reply.error.code, op, reply.error.message));
            return;
          }
          let problem = '';
          const result = parseResult(op, reply.result, (reason) => (problem = reason));
          if (result === undefined) {
            this.drop(`malformed ${op} result: ${problem}`, JSON.stringify(reply));
            reject(new AgentError('bad_reply', op, `malformed reply from the agent to ${op}: ${problem}`));
            return;
          }
          try {
            resolve(convert(result));
          } catch (err) {
            reject(new AgentError('bad_reply', op, `malformed reply from the agent to ${op}: ${String(err)}`, { cause: err }));
          }
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      try {
        this.channel.write(line);
      } catch (err) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new AgentError('channel', op, `cannot write to the agent: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      }
    });
  }

  private abandon(id: number): void {
    this.abandoned.add(id);
    if (this.abandoned.size > ABANDONED_IDS_KEPT) this.abandoned.delete(this.abandoned.values().next().value!);
  }

  private receiveLine(bytes: Uint8Array): void {
    // Splitting at '\n' never cuts a UTF-8 sequence (0x0A occurs in none), so each line decodes whole.
    const text = this.decoder.decode(bytes);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.drop('not JSON', text);
      return;
    }
    let problem = '';
    const message = parseIncoming(value, (reason) => (problem = reason));
    if (!message) {
      this.drop(problem, text);
      this.failGarbledReply(value, problem);
      return;
    }
    if ('event' in message) this.receiveEvent(message);
    else this.receiveReply(message, text);
  }

  /** A throwing listener must not stop the lines after this one: its error is rethrown, uncaught, later. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /** A garbled reply to a pending call ends that call now rather than at its timeout. */
  private failGarbledReply(value: unknown, problem: string): void {
    if (typeof value !== 'object' || value === null || 'event' in value || !('id' in value)) return;
    const id = value.id;
    const call = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!call) return;
    this.pending.delete(id as number);
    call.fail(new AgentError('bad_reply', call.op, `malformed reply from the agent to ${call.op}: ${problem}`));
  }

  private receiveReply(reply: Reply, text: string): void {
    const call = reply.id === null ? undefined : this.pending.get(reply.id);
    if (!call) {
      if (reply.id !== null && this.abandoned.delete(reply.id)) return; // late answer to a timed-out call
      const what = reply.ok ? 'a reply' : `an error reply (${reply.error.code}: ${reply.error.message})`;
      this.drop(`${what} to no pending request (id ${reply.id})`, text);
      return;
    }
    this.pending.delete(reply.id!);
    call.settle(reply);
  }

  private receiveEvent(event: AgentEvent): void {
    switch (event.event) {
      case 'hello':
        this.lastHello = event;
        this.helloEmitter.fire(event);
        break;
      case 'state':
        this.stateEmitter.fire(event);
        break;
      case 'stats':
        this.statsEmitter.fire(event);
        break;
      case 'tty':
        // Output of a session closed here, or opened by another client, has no one to go to.
        this.sessions.get(event.session)?.receive(decodeBase64(event.data));
        break;
      case 'tty_exit': {
        const session = this.sessions.get(event.session);
        this.sessions.delete(event.session);
        session?.exited(event.exit_code);
        break;
      }
      case 'progress':
        this.pending.get(event.request)?.progress?.(event);
        this.progressEmitter.fire(event);
        break;
    }
  }

  private drop(reason: string, line: string): void {
    this.dropped++;
    this.protocolErrorEmitter.fire({
      reason,
      line: line.length > 200 ? `${line.slice(0, 200)}…` : line,
      malformedCount: this.dropped,
    });
  }
}

/** What a TerminalSession needs from its client. */
interface TerminalLink {
  send<O extends 'tty_input' | 'tty_resize' | 'tty_close'>(op: O, args: OpArgs<O>): Promise<void>;
  /** Stop routing this session's events here. */
  detach(): void;
}

/** Output kept for a session nobody listens to yet; the oldest goes first beyond this. */
const TERMINAL_BACKLOG_BYTES = 256 * 1024;

/**
 * A shell on a pty in a container, from AgentClient.openTerminal. Output that arrives before
 * anyone listens is kept for the first onData listener; an onExit listener added after the shell
 * exited hears its status at once.
 */
export class TerminalSession implements Disposable {
  private readonly dataEmitter = new Emitter<Uint8Array>();
  private readonly exitEmitter = new Emitter<number>();
  private backlog: Uint8Array[] | undefined = [];
  private backlogBytes = 0;
  private exitStatus: number | undefined;
  private closing: Promise<void> | undefined;

  /** Bytes the shell wrote to its terminal. */
  readonly onData: Event<Uint8Array> = (listener) => {
    const subscription = this.dataEmitter.event(listener);
    const backlog = this.backlog;
    this.backlog = undefined;
    for (const chunk of backlog ?? []) listener(chunk);
    return subscription;
  };

  /** The shell's exit status (128+N when killed by signal N). */
  readonly onExit: Event<number> = (listener) => {
    const subscription = this.exitEmitter.event(listener);
    if (this.exitStatus !== undefined) listener(this.exitStatus);
    return subscription;
  };

  /** @param session the agent's session id */
  constructor(readonly session: number, readonly container: string, private readonly link: TerminalLink) {}

  /** Set once the shell has exited. */
  get exitCode(): number | undefined {
    return this.exitStatus;
  }

  /** Types into the terminal. Ignored once the session has exited or been closed. */
  write(data: string | Uint8Array): void {
    if (!this.isOpen()) return;
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let start = 0; start < bytes.length; start += TTY_INPUT_CHUNK_BYTES) {
      const chunk = bytes.subarray(start, start + TTY_INPUT_CHUNK_BYTES);
      // Keystrokes are fire-and-forget; if the session is gone, tty_exit says so.
      this.link.send('tty_input', { session: this.session, data: encodeBase64(chunk) }).catch(() => undefined);
    }
  }

  resize(cols: number, rows: number): void {
    if (!this.isOpen()) return;
    this.link.send('tty_resize', { session: this.session, cols, rows }).catch(() => undefined);
  }

  /** Hangs up the shell; resolves once the agent has closed the session (or it was already gone). */
  close(): Promise<void> {
    if (!this.closing) {
      const wasOpen = this.isOpen();
      this.link.detach();
      this.closing = wasOpen
        ? this.link.send('tty_close', { session: this.session }).catch(() => undefined)
        : Promise.resolve();
      this.release();
    }
    return this.closing;
  }

  dispose(): void {
    void this.close();
  }

  /** @internal From AgentClient: output of this session. */
  receive(data: Uint8Array): void {
    if (this.backlog) {
      this.backlog.push(data);
      this.backlogBytes += data.length;
      while (this.backlogBytes > TERMINAL_BACKLOG_BYTES && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()!.length;
    } else {
      this.dataEmitter.fire(data);
    }
  }

  /** @internal From AgentClient: the shell exited. */
  exited(code: number): void {
    this.exitStatus = code;
    this.link.detach();
    this.exitEmitter.fire(code);
  }

  private isOpen(): boolean {
    return this.exitStatus === undefined && this.closing === undefined;
  }

  private release(): void {
    this.dataEmitter.dispose();
    this.exitEmitter.dispose();
    this.backlog = undefined;
    this.backlogBytes = 0;
  }
}

/**
 * Cuts a byte stream into lines at '\n', across chunk boundaries. A line growing past `maxBytes`
 * is discarded up to its end and reported, so a guest that never ends a line cannot exhaust memory.
 */
class LineSplitter {
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private overflowBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: Uint8Array) => void,
    private readonly onOverflow: (bytes: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      this.append(chunk.subarray(start, end));
      start = end + 1;
      if (this.overflowBytes > 0) {
        const bytes = this.overflowBytes;
        this.overflowBytes = 0;
        this.onOverflow(bytes);
      } else {
        this.onLine(this.take());
      }
    }
    // Copied: the producer may reuse the chunk's buffer once this returns.
    if (start < chunk.length) this.append(chunk.slice(start));
  }

  private append(piece: Uint8Array): void {
    if (this.overflowBytes > 0) {
      this.overflowBytes += piece.length;
    } else if (this.partBytes + piece.length > this.maxBytes) {
      this.overflowBytes = this.partBytes + piece.length;
      this.parts = [];
      this.partBytes = 0;
    } else if (piece.length > 0) {
      this.parts.push(piece);
      this.partBytes += piece.length;
    }
  }

  private take(): Uint8Array {
    const parts = this.parts;
    const line = parts.length === 1 ? parts[0]! : new Uint8Array(this.partBytes);
    if (parts.length !== 1) {
      let offset = 0;
      for (const part of parts) {
        line.set(part, offset);
        offset += part.length;
      }
    }
    this.parts = [];
    this.partBytes = 0;
    return line;
  }
}

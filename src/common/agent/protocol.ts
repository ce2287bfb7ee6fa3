// The ctlab agent protocol, version 1: the TypeScript side of docs/agent-protocol.md (the guest side
// is images/tools/ct/agent.c). Wire shapes are kept exactly, snake_case included, and everything
// that comes from the guest is checked here before the rest of the page sees it.
import { isBase64 } from '../util/base64';

export const PROTOCOL_VERSION = 1;
/** The agent discards longer lines (answering `oversized`); the client refuses to send them. */
export const MAX_LINE_BYTES = 65536;

export const ERROR_CODES = [
  'bad_request', 'oversized', 'unknown_op', 'invalid_argument', 'not_found', 'exists', 'state',
  'conflict', 'failed', 'timeout', 'unsupported', 'busy', 'bad_image', 'incompatible',
  // A migration whose COMMIT or DONE was lost and whose destination could not be asked: the
  // container is held frozen on the source until migrate_resolve.
  'in_doubt',
  // A migration stopped by migrate_abort before its commit (the container runs on at the source).
  'aborted',
] as const;
/** Why the agent refused or failed a request. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ContainerState = 'stopped' | 'running';

/** A container as the agent describes it (`info`). */
export interface ContainerInfo {
  name: string;
  state: ContainerState;
  template: string;
  hostname: string;
  /** "a.b.c.d/n", null when unset. */
  ip: string | null;
  /** Bytes, null when unlimited. */
  memory: number | null;
  pids: number | null;
  /** CPUs' worth of time (0.5 = half a CPU), null when unlimited. */
  cpus: number | null;
  privileged: boolean;
  /** Host pid of the container's init, null when stopped. */
  init_pid: number | null;
  /** Running but held still (cgroup.freeze): a migration in doubt holds this copy until it is
   * settled, or a checkpoint's freeze is under way. */
  frozen: boolean;
  /** Unix time, seconds. */
  created: number;
}

/** A container's resource use, the beancounters view. `max` is null when unlimited. */
export interface ContainerStats {
  name: string;
  memory: { current: number; max: number | null; peak: number; oom_kills: number };
  pids: { current: number; max: number | null; refused: number };
  cpu: {
    usage_usec: number; user_usec: number; system_usec: number;
    nr_periods: number; nr_throttled: number; throttled_usec: number;
  };
  /** Held by cgroup.freeze (as ContainerInfo.frozen): the stats tell a page of a freeze or a thaw no state event announces. */
  frozen: boolean;
}

/** Limits for `set`; null removes a limit, an absent field leaves it alone. */
export interface ResourceLimits {
  memory?: number | null;
  pids?: number | null;
  cpus?: number | null;
}

export interface CreateArgs {
  name: string;
  /** Default "busybox". */
  template?: string;
  memory?: number;
  pids?: number;
  cpus?: number;
  /** "a.b.c.d/n". */
  ip?: string;
  hostname?: string;
  privileged?: boolean;
}

/** What a checkpoint or a restore did (the agent's report). */
export interface CrReport {
  /** The image's id on the host. */
  image: string;
  /** The container. */
  name: string;
  processes: number;
  /** Memory pages (4 KiB) saved or restored. */
  pages: number;
  /** Bytes of files from the container's upper layer. */
  fs_bytes: number;
  image_bytes: number;
  /** How long the processes were stopped for a checkpoint; 0 for a restore. */
  frozen_ms: number;
  total_ms: number;
}

export interface RestoreReport extends CrReport {
  container: ContainerInfo;
}

/** What a live migration did (the source agent's report). */
export interface MigrateReport {
  name: string;
  /** The destination as given ("10.0.0.2", "node2:7070"). */
  dest: string;
  /** Pre-copy rounds while the container ran (the frozen round not counted). */
  rounds: number;
  /** Bytes of memory each pre-copy round sent. */
  round_bytes: number[];
  /** Bytes of the frozen round: the image, with references to pages the destination already held. */
  final_bytes: number;
  /** Pages (4 KiB) the frozen round did not have to carry. */
  pages_referenced: number;
  /** The downtime: from the freeze to the destination running the container (the destination's
   * thaw, placed on the source's clock from the DONE's timing). */
  frozen_ms: number;
  /** From the freeze to the destination's DONE reaching the source: the source's copy is held
   * until then (a little past the downtime). */
  confirmed_ms: number;
  total_ms: number;
  processes: number;
  pages: number;
  fs_bytes: number;
}

/** Most bytes an image_read returns or an image_write takes. */
export const IMAGE_CHUNK_MAX = 48 * 1024;
/** Most bytes an image may hold on the agent's side. */
export const IMAGE_MAX_BYTES = 64 * 1024 * 1024;

/** A signal by number or by name ("TERM", "SIGTERM"). */
export type Signal = number | string;

type NoArgs = Record<string, never>;
type EmptyResult = Record<string, never>;

/** Every op with its args and its result, as they travel. */
export interface Ops {
  ping: { args: NoArgs; result: EmptyResult };
  create: { args: CreateArgs; result: ContainerInfo };
  start: { args: { name: string }; result: ContainerInfo };
  restart: { args: { name: string }; result: ContainerInfo };
  /** `timeout`: seconds before SIGKILL, default 10. */
  stop: { args: { name: string; timeout?: number }; result: ContainerInfo };
  /** `signal`: default "KILL". */
  kill: { args: { name: string; signal?: Signal }; result: ContainerInfo };
  destroy: { args: { name: string; force?: boolean }; result: EmptyResult };
  list: { args: NoArgs; result: { containers: ContainerInfo[] } };
  status: { args: { name: string }; result: ContainerInfo };
  set: { args: { name: string } & ResourceLimits; result: ContainerInfo };
  stats: { args: { name: string }; result: ContainerStats };
  /** `data`: base64 of the last 64 KiB of the container's console. */
  logs: { args: { name: string }; result: { data: string } };
  /** `stdin` base64; `timeout` seconds, default 30. Output is base64, each stream capped at 1 MiB. */
  exec: {
    args: { name: string; argv: string[]; stdin?: string; timeout?: number };
    result: { exit_code: number; stdout: string; stderr: string };
  };
  tty_open: { args: { name: string; cols?: number; rows?: number }; result: { session: number } };
  tty_input: { args: { session: number; data: string }; result: EmptyResult };
  tty_resize: { args: { session: number; cols: number; rows: number }; result: EmptyResult };
  tty_close: { args: { session: number }; result: EmptyResult };
  /** The host's identity on the backplane: eth0 joins the bridge ctbr0, which takes MAC and address. */
  /** `migrate_key`: containers migrate here only from hosts presenting the same key ("" removes it). */
  host_configure: { args: HostIdentity & { migrate_key?: string }; result: HostIdentity };
  /** Sets the guest's wall clock (ms since 1970); `previous_ms` is what it read before. */
  set_time: { args: { time_ms: number }; result: { previous_ms: number } };
  /** `leave_running` default false: the container stops once its image is complete. */
  checkpoint: { args: { name: string; leave_running?: boolean }; result: CrReport };
  restore: { args: { name: string; image: string }; result: RestoreReport };
  image_create: { args: NoArgs; result: { image: string } };
  /** `data` base64, at most IMAGE_CHUNK_MAX bytes; `size` is the file's size after the write. */
  image_write: { args: { image: string; offset: number; data: string }; result: { size: number } };
  /** `length` 1..IMAGE_CHUNK_MAX; `data` is short (or empty) at the end, `size` the whole file's. */
  image_read: { args: { image: string; offset: number; length: number }; result: { data: string; size: number } };
  image_delete: { args: { image: string }; result: EmptyResult };
  /** `size` null while a checkpoint is still writing the image. */
  image_list: { args: NoArgs; result: { images: ImageEntry[] } };
  /** `dest`: the destination host's backplane address or name, optionally ":PORT" (default 7070). */
  migrate: { args: { name: string; dest: string }; result: MigrateReport };
  /** Stops the migration of `name` under way on this host, if it has not committed yet. */
  migrate_abort: { args: { name: string }; result: Record<string, never> };
  /** Settles a migration left in_doubt: asks dest (or, resume: takes the container back unasked). */
  migrate_resolve: { args: { name: string; dest?: string; resume?: boolean }; result: { name: string; outcome: 'moved' | 'resumed' } };
}

export interface ImageEntry {
  image: string;
  size: number | null;
}

export interface HostIdentity {
  hostname: string;
  /** "02:43:0a:00:00:01" */
  mac: string;
  /** "10.0.0.1/16" */
  address: string;
}

export type Op = keyof Ops;
export type OpArgs<O extends Op> = Ops[O]['args'];
export type OpResult<O extends Op> = Ops[O]['result'];

/** Page → guest. `args` may be left out when an op takes none. */
export interface Request<O extends Op = Op> {
  id: number;
  op: O;
  args?: OpArgs<O>;
}

/** The result's shape depends on the op of the request it answers; parseResult checks it. */
export interface SuccessReply {
  id: number | null;
  ok: true;
  result: Record<string, unknown>;
}

export interface ErrorReply {
  /** null when the agent could not read an id from the request line. */
  id: number | null;
  ok: false;
  error: { code: ErrorCode; message: string };
}

export type Reply = SuccessReply | ErrorReply;

export interface HelloEvent { event: 'hello'; protocol: number; hostname: string }
export interface StateEvent {
  event: 'state';
  name: string;
  state: ContainerState | 'destroyed';
  /** Present when the container stopped. */
  exit_code?: number;
}
/** Every 2 s while any container runs. */
export interface StatsEvent { event: 'stats'; containers: ContainerStats[] }
/** Terminal output, `data` base64. */
export interface TtyEvent { event: 'tty'; session: number; data: string }
export interface TtyExitEvent { event: 'tty_exit'; session: number; exit_code: number }

/** A phase of a checkpoint, restore or migration under way, before its reply. */
export interface ProgressEvent {
  event: 'progress';
  /** The id of the checkpoint, restore or migrate request. */
  request: number;
  op: 'checkpoint' | 'restore' | 'migrate';
  name: string;
  /**
   * checkpoint: freezing, filesystem, files, memory, stopping; restore: reading, filesystem,
   * processes, memory; migrate: connecting, "pre-copy N", "pre-copy N: B bytes", freezing,
   * filesystem, files, memory, restoring, committing, "in doubt: asking the destination",
   * stopping, cleaning up.
   */
  phase: string;
}

export type AgentEvent = HelloEvent | StateEvent | StatsEvent | TtyEvent | TtyExitEvent | ProgressEvent;

/** Guest → page: one line. */
export type IncomingMessage = Reply | AgentEvent;

/**
 * Checks one parsed line from the guest. Returns it typed (a fresh object holding only the
 * documented fields), or undefined when it is not a valid reply or event; `onProblem` hears why.
 */
export function parseIncoming(value: unknown, onProblem?: (reason: string) => void): IncomingMessage | undefined {
  return checked(() => incomingMessage(value), onProblem);
}

/** Checks a success reply's result against the op it answers; undefined (and why) when malformed. */
export function parseResult<O extends Op>(op: O, result: unknown, onProblem?: (reason: string) => void): OpResult<O> | undefined {
  const check = RESULT_CHECKS[op] as Check<OpResult<O>>;
  return checked(() => check(result, 'result'), onProblem);
}

// --- Checks. Each returns the typed value or throws a ShapeError naming the offending path.

class ShapeError extends Error {}

type Check<T> = (value: unknown, path: string) => T;

function checked<T>(run: () => T, onProblem?: (reason: string) => void): T | undefined {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err;
    onProblem?.(err.message);
    return undefined;
  }
}

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null'
    : Array.isArray(value) ? 'an array'
    : typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    : typeof value === 'number' || typeof value === 'boolean' ? String(value)
    : typeof value;
  throw new ShapeError(`${path}: expected ${expected}, got ${got}`);
}

const string: Check<string> = (v, path) => (typeof v === 'string' ? v : fail(path, 'a string', v));
const boolean: Check<boolean> = (v, path) => (typeof v === 'boolean' ? v : fail(path, 'a boolean', v));
const number: Check<number> = (v, path) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(path, 'a number', v));
const integer: Check<number> = (v, path) => (Number.isSafeInteger(v) ? (v as number) : fail(path, 'an integer', v));
const base64: Check<string> = (v, path) => (isBase64(string(v, path)) ? (v as string) : fail(path, 'base64', v));

function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path) => (v === null ? null : check(v, path));
}

function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v, path) => ((values as readonly unknown[]).includes(v) ? (v as T) : fail(path, values.map((x) => `"${x}"`).join(' or '), v));
}

function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (v, path) => (Array.isArray(v) ? v.map((item, i) => check(item, `${path}[${i}]`)) : fail(path, 'an array', v));
}

function object(v: unknown, path: string): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, 'an object', v);
}

/** Reads a required field through `check`. */
function field<T>(o: Record<string, unknown>, key: string, check: Check<T>, path: string): T {
  return check(o[key], `${path}.${key}`);
}

const emptyResult: Check<EmptyResult> = (v, path) => {
  object(v, path);
  return {};
};

const containerInfo: Check<ContainerInfo> = (v, path) => {
  const o = object(v, path);
  return {
    name: field(o, 'name', string, path),
    state: field(o, 'state', oneOf(['stopped', 'running'] as const), path),
    template: field(o, 'template', string, path),
    hostname: field(o, 'hostname', string, path),
    ip: field(o, 'ip', nullable(string), path),
    memory: field(o, 'memory', nullable(integer), path),
    pids: field(o, 'pids', nullable(integer), path),
    cpus: field(o, 'cpus', nullable(number), path),
    privileged: field(o, 'privileged', boolean, path),
    init_pid: field(o, 'init_pid', nullable(integer), path),
    frozen: field(o, 'frozen', boolean, path),
    created: field(o, 'created', integer, path),
  };
};

const containerStats: Check<ContainerStats> = (v, path) => {
  const o = object(v, path);
  const memory = object(o.memory, `${path}.memory`);
  const pids = object(o.pids, `${path}.pids`);
  const cpu = object(o.cpu, `${path}.cpu`);
  const mp = `${path}.memory`, pp = `${path}.pids`, cp = `${path}.cpu`;
  return {
    name: field(o, 'name', string, path),
    memory: {
      current: field(memory, 'current', integer, mp),
      max: field(memory, 'max', nullable(integer), mp),
      peak: field(memory, 'peak', integer, mp),
      oom_kills: field(memory, 'oom_kills', integer, mp),
    },
    pids: {
      current: field(pids, 'current', integer, pp),
      max: field(pids, 'max', nullable(integer), pp),
      refused: field(pids, 'refused', integer, pp),
    },
    cpu: {
      usage_usec: field(cpu, 'usage_usec', integer, cp),
      user_usec: field(cpu, 'user_usec', integer, cp),
      system_usec: field(cpu, 'system_usec', integer, cp),
      nr_periods: field(cpu, 'nr_periods', integer, cp),
      nr_throttled: field(cpu, 'nr_throttled', integer, cp),
      throttled_usec: field(cpu, 'throttled_usec', integer, cp),
    },
    frozen: field(o, 'frozen', boolean, path),
  };
};

const crReport: Check<CrReport> = (v, path) => {
  const o = object(v, path);
  return {
    image: field(o, 'image', string, path),
    name: field(o, 'name', string, path),
    processes: field(o, 'processes', integer, path),
    pages: field(o, 'pages', integer, path),
    fs_bytes: field(o, 'fs_bytes', integer, path),
    image_bytes: field(o, 'image_bytes', integer, path),
    frozen_ms: field(o, 'frozen_ms', integer, path),
    total_ms: field(o, 'total_ms', integer, path),
  };
};

const RESULT_CHECKS: { [O in Op]: Check<OpResult<O>> } = {
  ping: emptyResult,
  create: containerInfo,
  start: containerInfo,
  restart: containerInfo,
  stop: containerInfo,
  kill: containerInfo,
  destroy: emptyResult,
  list: (v, path) => ({ containers: field(object(v, path), 'containers', arrayOf(containerInfo), path) }),
  status: containerInfo,
  set: containerInfo,
  stats: containerStats,
  logs: (v, path) => ({ data: field(object(v, path), 'data', base64, path) }),
  exec: (v, path) => {
    const o = object(v, path);
    return {
      exit_code: field(o, 'exit_code', integer, path),
      stdout: field(o, 'stdout', base64, path),
      stderr: field(o, 'stderr', base64, path),
    };
  },
  tty_open: (v, path) => ({ session: field(object(v, path), 'session', integer, path) }),
  tty_input: emptyResult,
  tty_resize: emptyResult,
  tty_close: emptyResult,
  set_time: (v, path) => ({ previous_ms: field(object(v, path), 'previous_ms', integer, path) }),
  host_configure: (v, path) => {
    const o = object(v, path);
    return {
      hostname: field(o, 'hostname', string, path),
      mac: field(o, 'mac', string, path),
      address: field(o, 'address', string, path),
    };
  },
  checkpoint: crReport,
  restore: (v, path) => ({ ...crReport(v, path), container: field(object(v, path), 'container', containerInfo, path) }),
  image_create: (v, path) => ({ image: field(object(v, path), 'image', string, path) }),
  image_write: (v, path) => ({ size: field(object(v, path), 'size', integer, path) }),
  image_read: (v, path) => {
    const o = object(v, path);
    return { data: field(o, 'data', base64, path), size: field(o, 'size', integer, path) };
  },
  image_delete: emptyResult,
  migrate: (v, path) => {
    const o = object(v, path);
    return {
      name: field(o, 'name', string, path),
      dest: field(o, 'dest', string, path),
      rounds: field(o, 'rounds', integer, path),
      round_bytes: field(o, 'round_bytes', arrayOf(integer), path),
      final_bytes: field(o, 'final_bytes', integer, path),
      pages_referenced: field(o, 'pages_referenced', integer, path),
      frozen_ms: field(o, 'frozen_ms', integer, path),
      confirmed_ms: field(o, 'confirmed_ms', integer, path),
      total_ms: field(o, 'total_ms', integer, path),
      processes: field(o, 'processes', integer, path),
      pages: field(o, 'pages', integer, path),
      fs_bytes: field(o, 'fs_bytes', integer, path),
    };
  },
  migrate_abort: emptyResult,
  migrate_resolve: (v, path) => {
    const o = object(v, path);
    return { name: field(o, 'name', string, path), outcome: field(o, 'outcome', oneOf(['moved', 'resumed'] as const), path) };
  },
  image_list: (v, path) => ({
    images: field(object(v, path), 'images', arrayOf((item, p) => {
      const o = object(item, p);
      return { image: field(o, 'image', string, p), size: field(o, 'size', nullable(integer), p) };
    }), path),
  }),
};

function agentEvent(o: Record<string, unknown>, path: string): AgentEvent {
  switch (o.event) {
    case 'hello':
      return { event: 'hello', protocol: field(o, 'protocol', integer, path), hostname: field(o, 'hostname', string, path) };
    case 'state': {
      const state: StateEvent = {
        event: 'state',
        name: field(o, 'name', string, path),
        state: field(o, 'state', oneOf(['running', 'stopped', 'destroyed'] as const), path),
      };
      if (o.exit_code !== undefined) state.exit_code = field(o, 'exit_code', integer, path);
      return state;
    }
    case 'stats':
      return { event: 'stats', containers: field(o, 'containers', arrayOf(containerStats), path) };
    case 'tty':
      return { event: 'tty', session: field(o, 'session', integer, path), data: field(o, 'data', base64, path) };
    case 'tty_exit':
      return { event: 'tty_exit', session: field(o, 'session', integer, path), exit_code: field(o, 'exit_code', integer, path) };
    case 'progress':
      return {
        event: 'progress',
        request: field(o, 'request', integer, path),
        op: field(o, 'op', oneOf(['checkpoint', 'restore', 'migrate'] as const), path),
        name: field(o, 'name', string, path),
        phase: field(o, 'phase', string, path),
      };
    default:
      throw new ShapeError(`${path}.event: unknown event ${JSON.stringify(o.event)}`);
  }
}

function incomingMessage(value: unknown): IncomingMessage {
  const path = 'message';
  const o = object(value, path);
  if ('event' in o) return agentEvent(o, path);
  const id = field(o, 'id', nullable(integer), path);
  if (o.ok === true) return { id, ok: true, result: object(o.result, `${path}.result`) };
  if (o.ok === false) {
    const error = object(o.error, `${path}.error`);
    return {
      id,
      ok: false,
      error: {
        code: field(error, 'code', oneOf(ERROR_CODES), `${path}.error`),
        message: field(error, 'message', string, `${path}.error`),
      },
    };
  }
  return fail(`${path}.ok`, 'true or false', o.ok);
}

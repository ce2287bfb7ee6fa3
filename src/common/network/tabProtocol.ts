// The messages tabs exchange over their BroadcastChannel, and their validation. Another tab may run
// another build of ctlab (or be broken), so everything received is checked before it is used.
import { isIpv4Cidr, isMacAddress, isNodeNumber, parseNodeName } from './addresses';
import { isMigrateKey } from './migrateKey';
import type { ClusterHost } from './types';

export const PROTOCOL_VERSION = 1;
export const MIN_FRAME_BYTES = 14;
/** 64 KiB of payload plus the Ethernet header (and a VLAN tag's worth of slack). */
export const MAX_FRAME_BYTES = 65550;
export const MAX_ID_LENGTH = 64;
export const MAX_HOSTS = 64;
export const MAX_CONTAINER_IPS = 4096;
export const MAX_CLAIMS = 250;

/** A node number a tab holds: tentative until it survived a settle period without conflict. */
export interface NodeClaim {
  node: number;
  final: boolean;
}

/** What a tab announces on arrival (hello, which asks the others to answer) and every heartbeat. */
export interface StateMessage {
  v: 1;
  type: 'hello' | 'heartbeat';
  from: string;
  hosts: ClusterHost[];
  containerIps: string[];
  claims: NodeClaim[];
}

export interface ByeMessage {
  v: 1;
  type: 'bye';
  from: string;
}

export interface FrameMessage {
  v: 1;
  type: 'frame';
  from: string;
  data: Uint8Array;
}

/**
 * The migration key a tab uses (docs/agent-protocol.md, host_configure): sent on arrival, in answer
 * to a hello and whenever it changes. Its own type, so tabs of a build without it drop just this.
 */
export interface KeyMessage {
  v: 1;
  type: 'key';
  from: string;
  key: string;
  /** When its first tab made it (ms since 1970): the oldest key wins. */
  born: number;
}

export type TabMessage = StateMessage | ByeMessage | FrameMessage | KeyMessage;

export type ParseResult = { ok: true; message: TabMessage } | { ok: false; reason: string };

const ID_RE = /^[A-Za-z0-9_-]+$/;

export function isTabId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH && ID_RE.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Thrown inside the parser only; parseTabMessage turns it into a reason. */
class Malformed extends Error {}

function fail(reason: string): never {
  throw new Malformed(reason);
}

/** Each field read once into a plain object: a getter or proxy cannot change a value after its check. */
function readRecord<K extends string>(value: unknown, keys: readonly K[], what: string): Record<K, unknown> {
  if (!isRecord(value)) fail(`${what} is not an object`);
  const own = Object.keys(value);
  if (own.length > keys.length) fail(`${what} has unexpected fields`);
  for (const key of own) if (!(keys as readonly string[]).includes(key)) fail(`${what}: unexpected field "${key.slice(0, 32)}"`);
  const out = {} as Record<K, unknown>;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) fail(`${what}: missing "${key}"`);
    out[key] = value[key];
  }
  return out;
}

/** The elements of an array of at most `max`, read once. */
function readArray(value: unknown, max: number, what: string): unknown[] {
  if (!Array.isArray(value)) fail(`${what} is not an array`);
  const length = value.length;
  if (typeof length !== 'number' || length > max) fail(`${what} has ${length} entries (at most ${max})`);
  return Array.from({ length }, (_, i) => value[i] as unknown);
}

/** Works across realms, unlike instanceof: a structured clone may come from another global. */
function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

function readHosts(value: unknown, from: string): ClusterHost[] {
  const names = new Set<string>();
  return readArray(value, MAX_HOSTS, 'hosts').map((item, i) => {
    const host = readRecord(item, ['name', 'tab', 'mac', 'address'], `hosts[${i}]`);
    const { name, tab, mac, address } = host;
    if (typeof name !== 'string' || name.length > 16 || parseNodeName(name) === undefined) {
      fail(`hosts[${i}].name is not node1..node250`);
    }
    if (names.has(name)) fail(`hosts[${i}].name ${name} repeats`);
    names.add(name);
    if (tab !== from) fail(`hosts[${i}].tab is not the sender`);
    if (!isMacAddress(mac)) fail(`hosts[${i}].mac is not a MAC address`);
    if (!isIpv4Cidr(address)) fail(`hosts[${i}].address is not IPv4/prefix`);
    return { name, tab: from, mac, address };
  });
}

function readContainerIps(value: unknown): string[] {
  return readArray(value, MAX_CONTAINER_IPS, 'containerIps').map((ip, i) => {
    if (!isIpv4Cidr(ip)) fail(`containerIps[${i}] is not IPv4/prefix`);
    return ip;
  });
}

function readClaims(value: unknown): NodeClaim[] {
  const nodes = new Set<number>();
  return readArray(value, MAX_CLAIMS, 'claims').map((item, i) => {
    const { node, final } = readRecord(item, ['node', 'final'], `claims[${i}]`);
    if (!isNodeNumber(node)) fail(`claims[${i}].node is not an integer in 1..250`);
    if (typeof final !== 'boolean') fail(`claims[${i}].final is not a boolean`);
    if (nodes.has(node)) fail(`claims[${i}].node ${node} repeats`);
    nodes.add(node);
    return { node, final };
  });
}

function readMessage(value: unknown): TabMessage {
  if (!isRecord(value)) fail('not an object');
  const { v, type, from } = value;
  if (v !== PROTOCOL_VERSION) fail('unknown version');
  if (!isTabId(from)) fail('from is not a tab id');
  switch (type) {
    case 'frame': {
      const { data } = readRecord(value, ['v', 'type', 'from', 'data'], 'frame');
      if (!isUint8Array(data)) fail('frame data is not a Uint8Array');
      const length = data.length;
      if (length < MIN_FRAME_BYTES || length > MAX_FRAME_BYTES) {
        fail(`frame of ${length} bytes (${MIN_FRAME_BYTES}..${MAX_FRAME_BYTES})`);
      }
      return { v: 1, type, from, data };
    }
    case 'hello':
    case 'heartbeat': {
      const fields = readRecord(value, ['v', 'type', 'from', 'hosts', 'containerIps', 'claims'], type);
      return {
        v: 1,
        type,
        from,
        hosts: readHosts(fields.hosts, from),
        containerIps: readContainerIps(fields.containerIps),
        claims: readClaims(fields.claims),
      };
    }
    case 'bye':
      readRecord(value, ['v', 'type', 'from'], 'bye');
      return { v: 1, type, from };
    case 'key': {
      const { key, born } = readRecord(value, ['v', 'type', 'from', 'key', 'born'], 'key');
      if (!isMigrateKey(key)) fail('key is not 1..64 of A-Z a-z 0-9 _ -');
      if (typeof born !== 'number' || !Number.isSafeInteger(born) || born < 0) fail('key born is not a time in ms');
      return { v: 1, type, from, key, born };
    }
    default:
      return fail('unknown type');
  }
}

function describe(error: unknown): string {
  try {
    return String(error instanceof Error ? error.message : error).slice(0, 100);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Checks a received value and returns a fresh copy of it (the checked values, read once), or why
 * it is malformed. Never throws: a hostile getter or proxy is just another malformed message.
 */
export function parseTabMessage(value: unknown): ParseResult {
  try {
    return { ok: true, message: readMessage(value) };
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, reason: error.message };
    return { ok: false, reason: `threw while checking: ${describe(error)}` };
  }
}

// Joins this tab's switch to the switches of the other tabs of the same origin over a
// BroadcastChannel, and keeps the cluster's membership: which tabs are alive, their hosts and
// container IPs, and which node numbers (node1, node2, ...) each of them holds.
import { Emitter, type Disposable, type Event } from '../util/Emitter';
import { MAX_NODE, MIN_NODE, isIpv4Cidr, isMacAddress, parseNodeName } from './addresses';
import { isMigrateKey, isOlderKey, randomMigrateKey, type DatedKey } from './migrateKey';
import {
  MAX_CONTAINER_IPS,
  MAX_FRAME_BYTES,
  MAX_HOSTS,
  MIN_FRAME_BYTES,
  isTabId,
  parseTabMessage,
  type KeyMessage,
  type NodeClaim,
  type StateMessage,
  type TabMessage,
} from './tabProtocol';
import { globalTimers, type Timers } from './timers';
import type { ClusterHost, FrameEndpoint } from './types';

export { hostForNode, nodeAddress, nodeMac, nodeName, parseNodeName } from './addresses';
export type { NodeClaim } from './tabProtocol';

/**
 * Method syntax on purpose: parameters of methods are compared bivariantly, so the DOM's
 * `(this: BroadcastChannel, ev: MessageEvent) => any` handler type fits this slot.
 */
type MessageHandler = { handle(event: { data: unknown }): void }['handle'];

/**
 * What TabLink needs of a BroadcastChannel: the browser passes a real one, Node tests pass Node's
 * global BroadcastChannel or a fake. TabLink owns it: dispose() closes it.
 */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  onmessage: MessageHandler | null;
  /** Fired when a message could not be deserialized; counted as malformed when present. */
  onmessageerror?: MessageHandler | null;
  close(): void;
}

export interface TabLinkOptions {
  /** This tab's id (1..64 of A-Z a-z 0-9 _ -). Default: 16 random hex digits. */
  tabId?: string;
  /** How long claimNodes listens before choosing, and how long a claim must go unchallenged to be final. Default 300 ms. */
  settleMs?: number;
  /** Default 1000 ms. */
  heartbeatMs?: number;
  /** A tab not heard from (hello or heartbeat) for this long is gone. Default 3000 ms. */
  goneAfterMs?: number;
  timers?: Timers;
  /** For the default tab id. Default Math.random. */
  random?: () => number;
  /** This tab's own migration key until it adopts an older one. Default: 64 random hex digits. */
  migrateKey?: string;
  /** Stamps this tab's own key (ms since 1970). Default Date.now. */
  now?: () => number;
}

export interface ClusterMember {
  tab: string;
  hosts: ClusterHost[];
  containerIps: string[];
}

export interface TabGone {
  tab: string;
  reason: 'bye' | 'timeout';
}

/** A node number this tab held was given up to another tab (`to` is its replacement, if any was free). */
export interface ClaimChange {
  from: number;
  to: number | undefined;
}

interface Member {
  tab: string;
  hosts: ClusterHost[];
  containerIps: string[];
  claims: NodeClaim[];
  goneTimer: unknown;
}

interface ClaimRequest {
  count: number;
  settled: boolean;
  resolve(nodes: number[]): void;
  reject(error: Error): void;
}

interface LocalClaim {
  node: number;
  final: boolean;
  /** Runs out after settleMs without conflict and makes the claim final. */
  timer: unknown;
  request: ClaimRequest;
}

function randomTabId(random: () => number): string {
  let id = '';
  for (let i = 0; i < 16; i++) id += Math.floor(random() * 16).toString(16);
  return id;
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i]!));
}

const sameHost = (a: ClusterHost, b: ClusterHost): boolean =>
  a.name === b.name && a.tab === b.tab && a.mac === b.mac && a.address === b.address;

export class TabLink implements Disposable {
  readonly tabId: string;
  private readonly settleMs: number;
  private readonly heartbeatMs: number;
  private readonly goneAfterMs: number;
  private readonly timers: Timers;

  private readonly frameEmitter = new Emitter<Uint8Array>();
  private readonly membersEmitter = new Emitter<void>();
  private readonly goneEmitter = new Emitter<TabGone>();
  private readonly malformedEmitter = new Emitter<string>();
  private readonly claimEmitter = new Emitter<ClaimChange>();
  private readonly keyEmitter = new Emitter<string>();

  private readonly others = new Map<string, Member>();
  private hosts: ClusterHost[] = [];
  private containerIps: string[] = [];
  private readonly claims = new Map<number, LocalClaim>();
  private readonly requests = new Set<ClaimRequest>();
  private readonly requestTimers = new Set<unknown>();
  private heartbeatTimer: unknown;
  private key: DatedKey;
  private malformed = 0;
  private disposed = false;

  /** Frames from other tabs arrive on onFrame; frames sent here go to every other tab. Attach it as the switch's 'tabs' port. */
  readonly endpoint: FrameEndpoint;
  /** A tab appeared or left, or a tab's hosts or container IPs changed (this tab's included). */
  readonly onMembersChanged: Event<void> = this.membersEmitter.event;
  readonly onTabGone: Event<TabGone> = this.goneEmitter.event;
  /** A received message was dropped; the value says why. */
  readonly onMalformed: Event<string> = this.malformedEmitter.event;
  /** This tab gave up a node number to a tab with a better claim. */
  readonly onClaimChanged: Event<ClaimChange> = this.claimEmitter.event;
  /** This tab adopted an older tab's migration key (the new key). */
  readonly onMigrateKeyChanged: Event<string> = this.keyEmitter.event;

  constructor(private readonly channel: BroadcastChannelLike, options: TabLinkOptions = {}) {
    this.tabId = options.tabId ?? randomTabId(options.random ?? Math.random);
    if (!isTabId(this.tabId)) throw new Error(`tab id ${JSON.stringify(this.tabId)} is not 1..64 of A-Z a-z 0-9 _ -`);
    this.settleMs = options.settleMs ?? 300;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.goneAfterMs = options.goneAfterMs ?? 3000;
    this.timers = options.timers ?? globalTimers;
    const key = options.migrateKey ?? randomMigrateKey();
    if (!isMigrateKey(key)) throw new Error('a migration key is 1..64 of A-Z a-z 0-9 _ -');
    this.key = { key, born: (options.now ?? Date.now)() };
    this.endpoint = {
      send: (frame) => this.sendFrame(frame),
      onFrame: this.frameEmitter.event,
    };
    channel.onmessage = (event) => this.receive(event);
    if ('onmessageerror' in channel) channel.onmessageerror = () => this.reject('could not be deserialized');
    this.post(this.state('hello'));
    this.post(this.keyMessage());
    this.scheduleHeartbeat();
  }

  /** Messages dropped as malformed since creation. */
  get malformedCount(): number {
    return this.malformed;
  }

  /**
   * The key this tab's hosts take (host_configure's migrate_key): its own until it hears an older
   * one, so every tab of a cluster ends up with the key of its first tab.
   */
  get migrateKey(): string {
    return this.key.key;
  }

  /** Every tab alive, this one included, ordered by tab id. */
  members(): ClusterMember[] {
    const list: ClusterMember[] = [{ tab: this.tabId, hosts: [...this.hosts], containerIps: [...this.containerIps] }];
    for (const member of this.others.values()) {
      list.push({ tab: member.tab, hosts: [...member.hosts], containerIps: [...member.containerIps] });
    }
    return list.sort((a, b) => (a.tab < b.tab ? -1 : a.tab > b.tab ? 1 : 0));
  }

  /** The hosts this tab runs, as it announces them (each host's `tab` must be this tab's id). */
  setHosts(hosts: readonly ClusterHost[]): void {
    if (hosts.length > MAX_HOSTS) throw new RangeError(`${hosts.length} hosts (at most ${MAX_HOSTS})`);
    const names = new Set<string>();
    for (const host of hosts) {
      if (parseNodeName(host.name) === undefined) throw new Error(`host name ${host.name} is not node1..node250`);
      if (names.has(host.name)) throw new Error(`host name ${host.name} repeats`);
      names.add(host.name);
      if (host.tab !== this.tabId) throw new Error(`host ${host.name} belongs to tab ${host.tab}, not ${this.tabId}`);
      if (!isMacAddress(host.mac)) throw new Error(`host ${host.name}: ${host.mac} is not a MAC address`);
      if (!isIpv4Cidr(host.address)) throw new Error(`host ${host.name}: ${host.address} is not IPv4/prefix`);
    }
    const next = hosts.map((host) => ({ ...host }));
    if (sameList(this.hosts, next, sameHost)) return;
    this.hosts = next;
    this.announceLocalChange();
  }

  /** The container IPs ("10.0.N.k/16") this tab's hosts use. */
  setContainerIps(ips: Iterable<string>): void {
    const next = [...ips];
    if (next.length > MAX_CONTAINER_IPS) throw new RangeError(`${next.length} container IPs (at most ${MAX_CONTAINER_IPS})`);
    for (const ip of next) if (!isIpv4Cidr(ip)) throw new Error(`${ip} is not IPv4/prefix`);
    if (sameList(this.containerIps, next, (a, b) => a === b)) return;
    this.containerIps = next;
    this.announceLocalChange();
  }

  /** The node numbers this tab holds, tentative ones included, in order. */
  claimed(): NodeClaim[] {
    return [...this.claims.values()].map(({ node, final }) => ({ node, final })).sort((a, b) => a.node - b.node);
  }

  /**
   * Reserves `count` node numbers for this tab's hosts. Listens for the other tabs' claims for the
   * settle period, takes the lowest free numbers, announces them, and resolves once each has gone
   * a full settle period without conflict (is final): about twice the settle period when
   * uncontested. When two tabs claim one number, a final claim beats a tentative one, and between
   * two of the same kind the lower tab id keeps it; the other takes the next free number (and
   * onClaimChanged fires). Rejects when fewer than `count` numbers are free, or on dispose.
   */
  claimNodes(count: number): Promise<number[]> {
    if (this.disposed) return Promise.reject(new Error('TabLink is disposed'));
    if (!Number.isInteger(count) || count < 1 || count > MAX_NODE) {
      return Promise.reject(new RangeError(`cannot claim ${count} nodes (1..${MAX_NODE})`));
    }
    return new Promise<number[]>((resolve, reject) => {
      const request: ClaimRequest = { count, settled: false, resolve, reject };
      this.requests.add(request);
      const timer = this.timers.setTimeout(() => {
        this.requestTimers.delete(timer);
        this.pick(request);
      }, this.settleMs);
      this.requestTimers.add(timer);
    });
  }

  /** Gives node numbers back (a host was removed). Unknown numbers are ignored. */
  releaseNodes(nodes: Iterable<number>): void {
    let changed = false;
    for (const node of nodes) {
      const claim = this.claims.get(node);
      if (!claim) continue;
      this.timers.clearTimeout(claim.timer);
      this.claims.delete(node);
      changed = true;
    }
    if (changed) this.post(this.state('heartbeat'));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.timers.clearTimeout(this.heartbeatTimer);
    for (const timer of this.requestTimers) this.timers.clearTimeout(timer);
    this.requestTimers.clear();
    for (const claim of this.claims.values()) this.timers.clearTimeout(claim.timer);
    this.claims.clear();
    for (const member of this.others.values()) this.timers.clearTimeout(member.goneTimer);
    this.others.clear();
    const error = new Error('TabLink is disposed');
    for (const request of this.requests) if (!request.settled) request.reject(error);
    this.requests.clear();
    this.post({ v: 1, type: 'bye', from: this.tabId });
    this.channel.onmessage = null;
    if ('onmessageerror' in this.channel) this.channel.onmessageerror = null;
    try {
      this.channel.close();
    } catch {
      // already closed
    }
    for (const emitter of [this.frameEmitter, this.membersEmitter, this.goneEmitter, this.malformedEmitter, this.claimEmitter, this.keyEmitter]) {
      emitter.dispose();
    }
  }

  // --- sending ---

  private post(message: TabMessage): void {
    try {
      this.channel.postMessage(message);
    } catch {
      // A closed channel; nothing useful to do with the error here.
    }
  }

  private sendFrame(frame: Uint8Array): void {
    if (this.disposed || frame.length < MIN_FRAME_BYTES || frame.length > MAX_FRAME_BYTES) return;
    // Structured clone copies a view's whole ArrayBuffer: copy just the frame when it is a slice of more.
    const data = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
    this.post({ v: 1, type: 'frame', from: this.tabId, data });
  }

  private state(type: 'hello' | 'heartbeat'): StateMessage {
    return { v: 1, type, from: this.tabId, hosts: this.hosts, containerIps: this.containerIps, claims: this.claimed() };
  }

  private keyMessage(): KeyMessage {
    return { v: 1, type: 'key', from: this.tabId, ...this.key };
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.timers.setTimeout(() => {
      if (this.disposed) return;
      this.post(this.state('heartbeat'));
      this.scheduleHeartbeat();
    }, this.heartbeatMs);
  }

  private announceLocalChange(): void {
    if (this.disposed) return;
    this.post(this.state('heartbeat'));
    this.membersEmitter.fire();
  }

  // --- receiving ---

  private reject(reason: string): void {
    this.malformed++;
    this.malformedEmitter.fire(reason);
  }

  private receive(event: unknown): void {
    if (this.disposed) return;
    let data: unknown;
    try {
      data = (event as { data: unknown }).data;
    } catch {
      this.reject('unreadable event');
      return;
    }
    const parsed = parseTabMessage(data);
    if (!parsed.ok) {
      this.reject(parsed.reason);
      return;
    }
    const message = parsed.message;
    if (message.from === this.tabId) return; // our own, echoed by a channel that does that
    switch (message.type) {
      case 'frame':
        this.frameEmitter.fire(message.data);
        return;
      case 'bye':
        this.remove(message.from, 'bye');
        return;
      case 'hello':
      case 'heartbeat':
        this.update(message);
        // A newcomer learns the cluster's key at once.
        if (message.type === 'hello') this.post(this.keyMessage());
        return;
      case 'key':
        this.adoptKey(message);
        return;
    }
  }

  /** Takes another tab's key when it is older than ours; the others heard it too, so no relay. */
  private adoptKey(message: KeyMessage): void {
    const theirs = { key: message.key, born: message.born };
    if (!isOlderKey(theirs, this.key)) return;
    const changed = theirs.key !== this.key.key;
    this.key = theirs;
    if (changed) this.keyEmitter.fire(theirs.key);
  }

  private update(message: StateMessage): void {
    const previous = this.others.get(message.from);
    if (previous) this.timers.clearTimeout(previous.goneTimer);
    const member: Member = {
      tab: message.from,
      hosts: message.hosts,
      containerIps: message.containerIps,
      claims: message.claims,
      goneTimer: this.timers.setTimeout(() => this.remove(message.from, 'timeout'), this.goneAfterMs),
    };
    this.others.set(message.from, member);
    const changed =
      !previous ||
      !sameList(previous.hosts, member.hosts, sameHost) ||
      !sameList(previous.containerIps, member.containerIps, (a, b) => a === b);
    const claimsChanged = this.resolveConflicts(member);
    // A newcomer learns the cluster at once rather than at our next heartbeat (its settle period
    // is shorter than the heartbeat interval); a lost claim is announced at once too.
    if (message.type === 'hello' || claimsChanged) this.post(this.state('heartbeat'));
    if (changed) this.membersEmitter.fire();
  }

  private remove(tab: string, reason: TabGone['reason']): void {
    const member = this.others.get(tab);
    if (!member) return;
    this.timers.clearTimeout(member.goneTimer);
    this.others.delete(tab);
    this.goneEmitter.fire({ tab, reason });
    this.membersEmitter.fire();
  }

  // --- node claims ---

  /** Every number held by this tab or another (tentatively or not). */
  private takenNodes(): Set<number> {
    const taken = new Set<number>(this.claims.keys());
    for (const member of this.others.values()) for (const claim of member.claims) taken.add(claim.node);
    return taken;
  }

  private lowestFree(taken: Set<number>): number | undefined {
    for (let node = MIN_NODE; node <= MAX_NODE; node++) if (!taken.has(node)) return node;
    return undefined;
  }

  private addClaim(node: number, request: ClaimRequest): void {
    const claim: LocalClaim = { node, final: false, timer: undefined, request };
    this.claims.set(node, claim);
    this.startSettling(claim);
  }

  /** (Re)starts the quiet period after which a tentative claim is final. */
  private startSettling(claim: LocalClaim): void {
    this.timers.clearTimeout(claim.timer);
    claim.timer = this.timers.setTimeout(() => {
      claim.timer = undefined;
      if (this.claims.get(claim.node) !== claim) return;
      claim.final = true;
      this.post(this.state('heartbeat'));
      this.settleRequest(claim.request);
    }, this.settleMs);
  }

  /** Chooses numbers for a request whose listening period is over. */
  private pick(request: ClaimRequest): void {
    if (this.disposed || request.settled) return;
    const taken = this.takenNodes();
    const nodes: number[] = [];
    for (let i = 0; i < request.count; i++) {
      const node = this.lowestFree(taken);
      if (node === undefined) break;
      taken.add(node);
      nodes.push(node);
    }
    if (nodes.length < request.count) {
      request.settled = true;
      this.requests.delete(request);
      request.reject(new Error(`only ${nodes.length} free node numbers for ${request.count} hosts`));
      return;
    }
    for (const node of nodes) this.addClaim(node, request);
    this.post(this.state('heartbeat'));
  }

  /** Resolves a request once every claim made for it is final. */
  private settleRequest(request: ClaimRequest): void {
    if (request.settled) return;
    const nodes: number[] = [];
    for (const claim of this.claims.values()) {
      if (claim.request !== request) continue;
      if (!claim.final) return;
      nodes.push(claim.node);
    }
    if (nodes.length < request.count) return;
    request.settled = true;
    this.requests.delete(request);
    request.resolve(nodes.sort((a, b) => a - b));
  }

  /**
   * Compares another tab's claims with ours. Ours loses to a final claim when ours is tentative,
   * and to a claim of the same kind from a lower tab id; a tentative claim of ours that wins
   * restarts its quiet period (it saw a conflict). True when we gave something up.
   */
  private resolveConflicts(member: Member): boolean {
    let changed = false;
    for (const theirs of member.claims) {
      const ours = this.claims.get(theirs.node);
      if (!ours) continue;
      const weLose = theirs.final === ours.final ? member.tab < this.tabId : theirs.final;
      if (!weLose) {
        if (!ours.final) this.startSettling(ours);
        continue;
      }
      changed = true;
      this.timers.clearTimeout(ours.timer);
      this.claims.delete(ours.node);
      const replacement = this.lowestFree(this.takenNodes());
      if (replacement !== undefined) {
        this.addClaim(replacement, ours.request);
      } else if (!ours.request.settled) {
        ours.request.settled = true;
        this.requests.delete(ours.request);
        for (const [node, claim] of this.claims) {
          if (claim.request !== ours.request) continue;
          this.timers.clearTimeout(claim.timer);
          this.claims.delete(node);
        }
        ours.request.reject(new Error(`node ${ours.node} went to tab ${member.tab} and no node number is free`));
      }
      this.claimEmitter.fire({ from: ours.node, to: replacement });
    }
    return changed;
  }
}

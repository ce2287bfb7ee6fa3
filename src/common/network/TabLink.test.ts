import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DisposableStore } from '../util/Emitter';
import {
  TabLink,
  hostForNode,
  nodeAddress,
  nodeMac,
  nodeName,
  parseNodeName,
  type BroadcastChannelLike,
  type ClaimChange,
  type TabGone,
  type TabLinkOptions,
} from './TabLink';
import { parseTabMessage } from './tabProtocol';

/**
 * A BroadcastChannel stand-in: every post is structured-cloned and delivered to the other
 * channels on a 0 ms timer (asynchronously, like the real one; under fake timers a 0 ms timer
 * set while timers run is due 1 ms later, so each hop of a conversation takes 1 ms). `echo` also delivers a channel's
 * own posts back to it, which the real one never does; `mute` drops a channel's posts (a frozen
 * tab); `inject` delivers a raw value to one channel as if another tab had posted it.
 */
class FakeBus {
  readonly channels = new Set<FakeChannel>();
  echo = false;

  channel(): FakeChannel {
    const channel = new FakeChannel(this);
    this.channels.add(channel);
    return channel;
  }
}

class FakeChannel implements BroadcastChannelLike {
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onmessageerror: ((event: { data: unknown }) => void) | null = null;
  muted = false;
  closed = false;
  posted = 0;

  constructor(private readonly bus: FakeBus) {}

  postMessage(message: unknown): void {
    if (this.closed) throw new Error('InvalidStateError: channel closed');
    this.posted++;
    if (this.muted) return;
    for (const other of this.bus.channels) {
      if (other === this && !this.bus.echo) continue;
      const data = structuredClone(message);
      setTimeout(() => {
        if (!other.closed) other.onmessage?.({ data });
      }, 0);
    }
  }

  inject(data: unknown): void {
    this.onmessage?.({ data });
  }

  close(): void {
    this.closed = true;
    this.bus.channels.delete(this);
  }
}

function frame(tag: number, length = 60): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes.fill(0xff, 0, 6);
  bytes.set([0x02, 0x43, 0x0a, 0x00, 0x00, 0x01], 6);
  bytes[14] = tag;
  return bytes;
}

describe('node helpers', () => {
  it('derive name, backplane address and MAC from a node number', () => {
    expect(nodeName(1)).toBe('node1');
    expect(nodeAddress(7)).toBe('10.0.0.7/16');
    expect(nodeMac(7)).toBe('02:43:0a:00:00:07');
    expect(nodeMac(250)).toBe('02:43:0a:00:00:fa');
    expect(hostForNode(12, 'tab1')).toEqual({ name: 'node12', tab: 'tab1', mac: '02:43:0a:00:00:0c', address: '10.0.0.12/16' });
    for (const bad of [0, 251, 1.5, -1, Number.NaN]) {
      expect(() => nodeName(bad)).toThrow(RangeError);
      expect(() => nodeMac(bad)).toThrow(RangeError);
      expect(() => nodeAddress(bad)).toThrow(RangeError);
    }
  });

  it('parse node names strictly', () => {
    expect(parseNodeName('node1')).toBe(1);
    expect(parseNodeName('node250')).toBe(250);
    for (const bad of ['node0', 'node01', 'node251', 'node', 'Node1', 'node1 ', 'node1000', 'xnode1']) {
      expect(parseNodeName(bad)).toBeUndefined();
    }
  });
});

describe('TabLink over a fake channel', () => {
  let bus: FakeBus;
  let store: DisposableStore;

  beforeEach(() => {
    vi.useFakeTimers();
    bus = new FakeBus();
    store = new DisposableStore();
  });
  afterEach(() => {
    store.dispose();
    vi.useRealTimers();
  });

  function tab(tabId: string, options: TabLinkOptions = {}): { link: TabLink; channel: FakeChannel } {
    const channel = bus.channel();
    const link = store.add(new TabLink(channel, { tabId, ...options }));
    return { link, channel };
  }

  it('finds the other tabs and lists every member, itself included, by tab id', async () => {
    const { link: a } = tab('aa');
    let changes = 0;
    a.onMembersChanged(() => changes++);
    const { link: b } = tab('bb');
    const { link: c } = tab('cc');
    await vi.advanceTimersByTimeAsync(10);
    for (const link of [a, b, c]) {
      expect(link.members().map((m) => m.tab)).toEqual(['aa', 'bb', 'cc']);
    }
    expect(changes).toBe(2);
    // Heartbeats with nothing new fire nothing.
    await vi.advanceTimersByTimeAsync(5000);
    expect(changes).toBe(2);
  });

  it('carries frames to every other tab, never back to the sender', async () => {
    bus.echo = true;
    const { link: a } = tab('aa');
    const { link: b } = tab('bb');
    const { link: c } = tab('cc');
    const got = { a: [] as Uint8Array[], b: [] as Uint8Array[], c: [] as Uint8Array[] };
    a.endpoint.onFrame((f) => got.a.push(f));
    b.endpoint.onFrame((f) => got.b.push(f));
    c.endpoint.onFrame((f) => got.c.push(f));
    a.endpoint.send(frame(1));
    b.endpoint.send(frame(2, 1514));
    await vi.advanceTimersByTimeAsync(0);
    expect(got.a.map((f) => f[14])).toEqual([2]);
    expect(got.b.map((f) => f[14])).toEqual([1]);
    expect(got.c.map((f) => f[14])).toEqual([1, 2]);
    expect(got.c[1]!.length).toBe(1514);
    expect(a.malformedCount + b.malformedCount + c.malformedCount).toBe(0);
  });

  it('sends only the frame’s bytes when the frame is a view into a larger buffer', async () => {
    const { link: a, channel } = tab('aa');
    const { link: b } = tab('bb');
    const got: Uint8Array[] = [];
    b.endpoint.onFrame((f) => got.push(f));
    const big = new Uint8Array(4096);
    big.set(frame(9), 1000);
    const spy = vi.spyOn(channel, 'postMessage');
    a.endpoint.send(big.subarray(1000, 1060));
    const posted = spy.mock.calls[0]![0] as { data: Uint8Array };
    expect(posted.data.buffer.byteLength).toBe(60);
    await vi.advanceTimersByTimeAsync(0);
    expect(got).toHaveLength(1);
    expect(got[0]![14]).toBe(9);
  });

  it('does not send frames the other tabs would reject', async () => {
    const { link: a, channel } = tab('aa');
    tab('bb');
    const before = channel.posted;
    a.endpoint.send(new Uint8Array(13));
    a.endpoint.send(new Uint8Array(65551));
    expect(channel.posted).toBe(before);
  });

  it('shares hosts and container IPs', async () => {
    const { link: a } = tab('aa');
    const { link: b } = tab('bb');
    await vi.advanceTimersByTimeAsync(0);
    let bChanges = 0;
    b.onMembersChanged(() => bChanges++);
    a.setHosts([hostForNode(1, 'aa'), hostForNode(2, 'aa')]);
    a.setContainerIps(['10.0.1.1/16', '10.0.2.1/16']);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.members()).toEqual([
      { tab: 'aa', hosts: [hostForNode(1, 'aa'), hostForNode(2, 'aa')], containerIps: ['10.0.1.1/16', '10.0.2.1/16'] },
      { tab: 'bb', hosts: [], containerIps: [] },
    ]);
    expect(bChanges).toBe(2);
    a.setContainerIps(['10.0.1.1/16', '10.0.2.1/16']); // unchanged: nothing sent or fired
    await vi.advanceTimersByTimeAsync(0);
    expect(bChanges).toBe(2);
    expect(() => a.setHosts([hostForNode(1, 'bb')])).toThrow(/belongs to tab bb/);
    expect(() => a.setHosts([{ ...hostForNode(1, 'aa'), name: 'web' }])).toThrow(/node1\.\.node250/);
    expect(() => a.setHosts([hostForNode(1, 'aa'), hostForNode(1, 'aa')])).toThrow(/repeats/);
    expect(() => a.setContainerIps(['10.0.1.300/16'])).toThrow(/IPv4/);
  });

  it('gives sequential claims the lowest free numbers, final after two settle periods', async () => {
    const { link: a } = tab('aa');
    const { link: b } = tab('bb');
    const { link: c } = tab('cc');
    let resolvedAt = -1;
    const start = Date.now();
    const first = a.claimNodes(2).then((n) => ((resolvedAt = Date.now() - start), n));
    await vi.advanceTimersByTimeAsync(599);
    expect(resolvedAt).toBe(-1);
    expect(a.claimed()).toEqual([{ node: 1, final: false }, { node: 2, final: false }]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await first).toEqual([1, 2]);
    expect(resolvedAt).toBe(600);
    const second = b.claimNodes(3);
    await vi.advanceTimersByTimeAsync(600);
    expect(await second).toEqual([3, 4, 5]);
    const third = c.claimNodes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(await third).toEqual([6]);
    // A second request of the same tab skips its own numbers.
    const fourth = a.claimNodes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(await fourth).toEqual([7]);
    expect(a.claimed()).toEqual([1, 2, 7].map((node) => ({ node, final: true })));
  });

  it('hears the others’ claims within the settle period when it has just arrived', async () => {
    const { link: a } = tab('zz');
    const first = a.claimNodes(2);
    await vi.advanceTimersByTimeAsync(2500);
    expect(await first).toEqual([1, 2]);
    // A newcomer (lower id) arrives between two heartbeats of zz: zz answers its hello at once.
    const { link: b } = tab('aa');
    const second = b.claimNodes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(await second).toEqual([3]);
  });

  it('resolves a simultaneous claim race by tab id: the lower id keeps its numbers', async () => {
    const { link: high } = tab('tab-b');
    const { link: low } = tab('tab-a');
    await vi.advanceTimersByTimeAsync(10);
    const changes: ClaimChange[] = [];
    high.onClaimChanged((c) => changes.push(c));
    low.onClaimChanged(() => expect.unreachable('the lower id keeps its claims'));
    const highClaim = high.claimNodes(2);
    const lowClaim = low.claimNodes(2);
    await vi.advanceTimersByTimeAsync(300);
    // Both chose at the same moment, before hearing the other: a real conflict...
    expect(high.claimed()).toEqual([{ node: 1, final: false }, { node: 2, final: false }]);
    expect(low.claimed()).toEqual([{ node: 1, final: false }, { node: 2, final: false }]);
    expect(changes).toEqual([]);
    // ...settled by the next message each hears from the other.
    await vi.advanceTimersByTimeAsync(1);
    expect(changes).toEqual([{ from: 1, to: 3 }, { from: 2, to: 4 }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await lowClaim).toEqual([1, 2]);
    expect(await highClaim).toEqual([3, 4]);
  });

  it('resolves a three-way race to disjoint numbers, lowest id first', async () => {
    const links = ['c3', 'a1', 'b2'].map((id) => tab(id).link);
    await vi.advanceTimersByTimeAsync(0);
    const claims = links.map((link) => link.claimNodes(2));
    await vi.advanceTimersByTimeAsync(3000);
    const [c3, a1, b2] = await Promise.all(claims);
    expect(a1).toEqual([1, 2]);
    expect(b2).toEqual([3, 4]);
    expect(c3).toEqual([5, 6]);
  });

  it('resolves races of many tabs to unique numbers', async () => {
    const links = Array.from({ length: 8 }, (_, i) => tab(`t${(i * 5) % 8}`).link);
    await vi.advanceTimersByTimeAsync(0);
    const claims = links.map((link, i) => link.claimNodes(1 + (i % 3)));
    await vi.advanceTimersByTimeAsync(10_000);
    const all = (await Promise.all(claims)).flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
  });

  describe('claim conflicts (injected heartbeats)', () => {
    const heartbeat = (from: string, claims: { node: number; final: boolean }[]) => ({
      v: 1, type: 'heartbeat', from, hosts: [], containerIps: [], claims,
    });

    it('a tentative claim loses to a final one, even from a higher tab id', async () => {
      const { link, channel } = tab('aa');
      const changes: ClaimChange[] = [];
      link.onClaimChanged((c) => changes.push(c));
      const claim = link.claimNodes(1);
      await vi.advanceTimersByTimeAsync(300);
      expect(link.claimed()).toEqual([{ node: 1, final: false }]);
      channel.inject(heartbeat('zz', [{ node: 1, final: true }]));
      expect(changes).toEqual([{ from: 1, to: 2 }]);
      await vi.advanceTimersByTimeAsync(300);
      expect(await claim).toEqual([2]);
    });

    it('a final claim is kept against a tentative one, even from a lower tab id (no flapping)', async () => {
      const { link, channel } = tab('mm');
      link.onClaimChanged(() => expect.unreachable('a final claim stays'));
      const claim = link.claimNodes(1);
      await vi.advanceTimersByTimeAsync(600);
      expect(await claim).toEqual([1]);
      channel.inject(heartbeat('aa', [{ node: 1, final: false }]));
      await vi.advanceTimersByTimeAsync(2000);
      expect(link.claimed()).toEqual([{ node: 1, final: true }]);
    });

    it('between two final claims (tabs that never heard each other) the lower id keeps it', async () => {
      const { link, channel } = tab('mm');
      const changes: ClaimChange[] = [];
      link.onClaimChanged((c) => changes.push(c));
      const claim = link.claimNodes(1);
      await vi.advanceTimersByTimeAsync(600);
      expect(await claim).toEqual([1]);
      channel.inject(heartbeat('zz', [{ node: 1, final: true }]));
      expect(changes).toEqual([]);
      channel.inject(heartbeat('aa', [{ node: 1, final: true }, { node: 2, final: false }]));
      expect(changes).toEqual([{ from: 1, to: 3 }]);
      await vi.advanceTimersByTimeAsync(300);
      expect(link.claimed()).toEqual([{ node: 3, final: true }]);
    });

    it('a tentative claim that wins a conflict waits a full quiet settle period before it is final', async () => {
      const { link, channel } = tab('aa');
      let done = false;
      const claim = link.claimNodes(1).then((n) => ((done = true), n));
      await vi.advanceTimersByTimeAsync(500); // picked at 300
      channel.inject(heartbeat('zz', [{ node: 1, final: false }])); // zz loses; we restart
      await vi.advanceTimersByTimeAsync(299);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await claim).toEqual([1]);
    });

    it('rejects when no number is free, and releases numbers for others', async () => {
      const { link, channel } = tab('aa');
      const all = Array.from({ length: 249 }, (_, i) => ({ node: i + 2, final: true }));
      channel.inject(heartbeat('zz', all));
      const ok = link.claimNodes(1);
      const tooMany = link.claimNodes(2);
      const caught = tooMany.catch((e: Error) => e);
      await vi.advanceTimersByTimeAsync(600);
      expect(await ok).toEqual([1]);
      expect(String(await caught)).toMatch(/only 0 free node numbers for 2 hosts/);
      await expect(link.claimNodes(0)).rejects.toThrow(RangeError);
      await expect(link.claimNodes(251)).rejects.toThrow(RangeError);
      link.releaseNodes([1, 99]);
      expect(link.claimed()).toEqual([]);
    });
  });

  it('reports a tab gone 3 s after its last heartbeat, and frees its numbers', async () => {
    const { link: a } = tab('aa');
    const { link: b, channel: bChannel } = tab('bb');
    const claim = b.claimNodes(2);
    await vi.advanceTimersByTimeAsync(1000); // b's heartbeat at 1000 reaches a at 1001
    expect(await claim).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(500);
    bChannel.muted = true; // b freezes at 1500 (no bye)
    const gone: TabGone[] = [];
    a.onTabGone((g) => gone.push(g));
    await vi.advanceTimersByTimeAsync(2500); // 4000: 2999 ms after a last heard b
    expect(gone).toEqual([]);
    expect(a.members().map((m) => m.tab)).toEqual(['aa', 'bb']);
    await vi.advanceTimersByTimeAsync(1); // 4001: 3000 ms
    expect(gone).toEqual([{ tab: 'bb', reason: 'timeout' }]);
    expect(a.members().map((m) => m.tab)).toEqual(['aa']);
    const reclaim = a.claimNodes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(await reclaim).toEqual([1]);
  });

  it('says bye on dispose: the others drop it at once; pending claims reject and nothing is left running', async () => {
    const { link: a } = tab('aa');
    const bChannel = bus.channel();
    const b = new TabLink(bChannel, { tabId: 'bb' });
    await vi.advanceTimersByTimeAsync(10);
    const gone: TabGone[] = [];
    a.onTabGone((g) => gone.push(g));
    const pending = b.claimNodes(1);
    b.dispose();
    await expect(pending).rejects.toThrow(/disposed/);
    await expect(b.claimNodes(1)).rejects.toThrow(/disposed/);
    expect(bChannel.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(gone).toEqual([{ tab: 'bb', reason: 'bye' }]);
    a.dispose();
    await vi.advanceTimersByTimeAsync(10); // the fake bus's deliveries still in flight
    expect(vi.getTimerCount()).toBe(0);
    b.endpoint.send(frame(1)); // harmless after dispose
  });

  it('rejects a bad tab id', () => {
    expect(() => new TabLink(bus.channel(), { tabId: 'x'.repeat(65) })).toThrow(/tab id/);
    expect(() => new TabLink(bus.channel(), { tabId: 'a b' })).toThrow(/tab id/);
  });

  it('picks a random 16-hex-digit id by default', () => {
    const link = store.add(new TabLink(bus.channel()));
    expect(link.tabId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('drops and counts malformed messages of every kind, and keeps working', async () => {
    const { link: a, channel } = tab('aa');
    const { link: b } = tab('bb');
    await vi.advanceTimersByTimeAsync(0);
    const reasons: string[] = [];
    a.onMalformed((r) => reasons.push(r));
    let membersChanged = 0;
    a.onMembersChanged(() => membersChanged++);
    const frames: Uint8Array[] = [];
    a.endpoint.onFrame((f) => frames.push(f));

    const good = { v: 1, type: 'heartbeat', from: 'cc', hosts: [hostForNode(3, 'cc')], containerIps: ['10.0.3.1/16'], claims: [{ node: 3, final: true }] };
    const goodFrame = { v: 1, type: 'frame', from: 'cc', data: frame(1) };
    const host = (patch: object) => ({ ...good, hosts: [{ ...hostForNode(3, 'cc'), ...patch }] });
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('boom'); }, get: () => { throw new Error('boom'); } });
    const getter = { v: 1, type: 'frame', from: 'cc', get data(): Uint8Array { throw new Error('getter'); } };

    const bad: unknown[] = [
      null, undefined, 42, 'frame', true, [], [goodFrame], {},
      { ...goodFrame, v: 2 }, { ...goodFrame, v: '1' }, { ...goodFrame, type: 'nope' }, { ...goodFrame, type: undefined },
      { v: 1, type: 'frame', data: frame(1) }, { ...goodFrame, from: 7 }, { ...goodFrame, from: '' },
      { ...goodFrame, from: 'x'.repeat(65) }, { ...goodFrame, from: 'a b' }, { ...goodFrame, from: 'é' },
      { ...goodFrame, data: Array.from(frame(1)) }, { ...goodFrame, data: frame(1).buffer }, { ...goodFrame, data: new Uint16Array(30) },
      { ...goodFrame, data: new Int8Array(60) }, { ...goodFrame, data: new Uint8Array(13) }, { ...goodFrame, data: new Uint8Array(65551) },
      { ...goodFrame, extra: 1 }, { v: 1, type: 'frame', from: 'cc' },
      { ...good, hosts: 'node3' }, { ...good, hosts: Array.from({ length: 65 }, (_, i) => hostForNode(i + 1, 'cc')) },
      { ...good, hosts: [null] }, host({ name: 'node0' }), host({ name: 'node251' }), host({ name: 'node03' }),
      host({ name: 'web' }), host({ name: 3 }), host({ tab: 'dd' }), host({ mac: '02:43:0A:00:00:03' }),
      host({ mac: '02:43:0a:00:00' }), host({ mac: '02-43-0a-00-00-03' }), host({ address: '10.0.0.3' }),
      host({ address: '10.0.0.256/16' }), host({ address: '10.0.0.3/33' }), host({ address: '010.0.0.3/16' }),
      host({ extra: true }), { ...good, hosts: [{ name: 'node3', tab: 'cc', mac: nodeMac(3) }] },
      { ...good, hosts: [hostForNode(3, 'cc'), hostForNode(3, 'cc')] },
      { ...good, containerIps: '10.0.3.1/16' }, { ...good, containerIps: ['10.0.3.1'] }, { ...good, containerIps: [167969537] },
      { ...good, containerIps: Array.from({ length: 4097 }, () => '10.0.3.1/16') },
      { ...good, claims: [{ node: 0, final: true }] }, { ...good, claims: [{ node: 251, final: true }] },
      { ...good, claims: [{ node: 1.5, final: true }] }, { ...good, claims: [{ node: 3, final: 'yes' }] },
      { ...good, claims: [{ node: 3, final: true }, { node: 3, final: false }] }, { ...good, claims: [3] },
      { ...good, claims: Array.from({ length: 251 }, () => ({ node: 1, final: true })) },
      { ...good, claims: undefined }, { v: 1, type: 'heartbeat', from: 'cc', hosts: [], containerIps: [] },
      { v: 1, type: 'bye', from: 'bb', extra: 1 }, { v: 1, type: 'hello', from: 'cc' },
      hostile, getter,
    ];
    for (const value of bad) expect(() => channel.inject(value)).not.toThrow();
    // An event whose data cannot even be read.
    expect(() => channel.onmessage!({ get data(): unknown { throw new Error('no data'); } })).not.toThrow();
    expect(() => channel.onmessage!(null as unknown as { data: unknown })).not.toThrow();
    // A message the channel could not deserialize.
    channel.onmessageerror!({ data: null });

    const expected = bad.length + 3;
    expect(a.malformedCount).toBe(expected);
    expect(reasons).toHaveLength(expected);
    expect(reasons.every((r) => typeof r === 'string' && r.length > 0 && r.length < 200)).toBe(true);
    expect(reasons).toContain('frame of 13 bytes (14..65550)');
    expect(reasons).toContain('hosts[0].tab is not the sender');
    expect(reasons.some((r) => r.startsWith('threw while checking'))).toBe(true);
    expect(frames).toEqual([]);
    expect(membersChanged).toBe(0);
    expect(a.members().map((m) => m.tab)).toEqual(['aa', 'bb']); // bb's bad bye did not remove it

    // Good messages still flow: injected ones and real ones from b.
    channel.inject(goodFrame);
    channel.inject(good);
    b.endpoint.send(frame(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(frames.map((f) => f[14])).toEqual([1, 2]);
    expect(a.members().map((m) => m.tab)).toEqual(['aa', 'bb', 'cc']);
    expect(a.malformedCount).toBe(expected);
    expect(b.malformedCount).toBe(0);
  });

  describe('the migration key', () => {
    const KEY_A = 'a'.repeat(64);
    const KEY_B = 'b'.repeat(64);

    it('is 64 random hex digits by default; a bad one is refused', () => {
      const link = store.add(new TabLink(bus.channel()));
      expect(link.migrateKey).toMatch(/^[0-9a-f]{64}$/);
      expect(store.add(new TabLink(bus.channel())).migrateKey).not.toBe(link.migrateKey);
      for (const bad of ['', 'x'.repeat(65), 'a b', 'é']) {
        expect(() => new TabLink(bus.channel(), { migrateKey: bad })).toThrow(/migration key/);
      }
    });

    it('of the first tab is adopted by the tabs that join, also when the first tab has gone', async () => {
      const { link: a } = tab('zz', { migrateKey: KEY_A, now: () => 1000 });
      await vi.advanceTimersByTimeAsync(10);
      const changes: string[] = [];
      const { link: b } = tab('bb', { migrateKey: KEY_B, now: () => 2000 });
      b.onMigrateKeyChanged((k) => changes.push(k));
      expect(b.migrateKey).toBe(KEY_B);
      await vi.advanceTimersByTimeAsync(10);
      expect(b.migrateKey).toBe(KEY_A);
      expect(a.migrateKey).toBe(KEY_A);
      expect(changes).toEqual([KEY_A]);
      // The first tab leaves; a third one still gets its key from the second.
      a.dispose();
      const { link: c } = tab('cc', { migrateKey: 'c'.repeat(64), now: () => 3000 });
      await vi.advanceTimersByTimeAsync(10);
      expect(c.migrateKey).toBe(KEY_A);
      expect(b.migrateKey).toBe(KEY_A);
      expect([b, c].map((l) => l.malformedCount)).toEqual([0, 0]);
    });

    it('is the same in every tab after a simultaneous start: older wins, then the smaller key', async () => {
      const links = ['k3', 'k1', 'k2', 'k0'].map((key, i) => tab(`t${i}`, { migrateKey: key, now: () => 5000 }).link);
      await vi.advanceTimersByTimeAsync(10);
      expect(links.map((l) => l.migrateKey)).toEqual(['k0', 'k0', 'k0', 'k0']);
      // A younger key changes nothing.
      const { link: late } = tab('t9', { migrateKey: 'a0', now: () => 6000 });
      await vi.advanceTimersByTimeAsync(10);
      expect([...links, late].map((l) => l.migrateKey)).toEqual(['k0', 'k0', 'k0', 'k0', 'k0']);
    });

    it('ignores malformed key messages: counted, no effect', async () => {
      const { link: a, channel } = tab('aa', { migrateKey: KEY_A, now: () => 5000 });
      const changes: string[] = [];
      a.onMigrateKeyChanged((k) => changes.push(k));
      const good = { v: 1, type: 'key', from: 'cc', key: KEY_B, born: 10 };
      const bad: unknown[] = [
        { ...good, key: '' }, { ...good, key: 'x'.repeat(65) }, { ...good, key: 'a b' }, { ...good, key: 'é' },
        { ...good, key: 'k/../x' }, { ...good, key: 42 }, { ...good, key: null }, { ...good, key: ['k'] },
        { ...good, born: -1 }, { ...good, born: 1.5 }, { ...good, born: '10' }, { ...good, born: Number.NaN },
        { ...good, born: Number.POSITIVE_INFINITY }, { ...good, born: 2 ** 53 }, { ...good, born: null },
        { v: 1, type: 'key', from: 'cc', key: KEY_B }, { v: 1, type: 'key', from: 'cc', born: 10 }, { ...good, extra: 1 },
        { ...good, from: 'a b' }, { ...good, v: 2 },
        { v: 1, type: 'key', from: 'cc', get key(): string { throw new Error('getter'); }, born: 10 },
      ];
      for (const value of bad) expect(() => channel.inject(value)).not.toThrow();
      expect(a.malformedCount).toBe(bad.length);
      expect(a.migrateKey).toBe(KEY_A);
      expect(changes).toEqual([]);
      // A good one, older, is taken.
      channel.inject(good);
      expect(a.migrateKey).toBe(KEY_B);
      expect(changes).toEqual([KEY_B]);
      expect(a.malformedCount).toBe(bad.length);
    });
  });

  it('parses a good message into a fresh copy, so later changes to the original do not leak in', () => {
    const original = { v: 1, type: 'heartbeat', from: 'cc', hosts: [hostForNode(3, 'cc')], containerIps: ['10.0.3.1/16'], claims: [] };
    const parsed = parseTabMessage(original);
    expect(parsed.ok).toBe(true);
    original.hosts[0]!.name = 'evil';
    original.containerIps.push('nope');
    if (parsed.ok && parsed.message.type === 'heartbeat') {
      expect(parsed.message.hosts[0]!.name).toBe('node3');
      expect(parsed.message.containerIps).toEqual(['10.0.3.1/16']);
    }
  });
});

describe('TabLink over real Node BroadcastChannels', () => {
  const fast: TabLinkOptions = { settleMs: 150, heartbeatMs: 100, goneAfterMs: 300 };
  let store: DisposableStore;
  let channelName = '';
  beforeEach(() => {
    store = new DisposableStore();
    channelName = `ctlab-test-${Math.random().toString(36).slice(2)}`;
  });
  afterEach(() => store.dispose());

  function tab(tabId: string): TabLink {
    return store.add(new TabLink(new BroadcastChannel(channelName), { tabId, ...fast }));
  }

  async function until(condition: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('joins three tabs: members, frames (as Uint8Array) and unique simultaneous claims', async () => {
    const links = [tab('t3'), tab('t1'), tab('t2')];
    await until(() => links.every((l) => l.members().length === 3));
    const received: Uint8Array[][] = links.map(() => []);
    links.forEach((l, i) => l.endpoint.onFrame((f) => received[i]!.push(f)));
    links[0]!.endpoint.send(frame(7));
    links[1]!.endpoint.send(Buffer.from(frame(8))); // a Buffer is a Uint8Array too
    await until(() => received[2]!.length === 2);
    expect(received[0]!.map((f) => f[14])).toEqual([8]);
    expect(received[1]!.map((f) => f[14])).toEqual([7]);
    expect(Object.prototype.toString.call(received[2]![0])).toBe('[object Uint8Array]');

    const claims = await Promise.all(links.map((l) => l.claimNodes(2)));
    const all = claims.flat().sort((x, y) => x - y);
    expect(all).toEqual([1, 2, 3, 4, 5, 6]);
    expect(links.reduce((n, l) => n + l.malformedCount, 0)).toBe(0);
  });

  it('drops malformed messages from a raw channel while good frames keep flowing; sees a bye', async () => {
    const a = tab('aa');
    const b = tab('bb');
    const raw = new BroadcastChannel(channelName);
    try {
      const frames: number[] = [];
      a.endpoint.onFrame((f) => frames.push(f[14]!));
      const gone: TabGone[] = [];
      a.onTabGone((g) => gone.push(g));
      raw.postMessage({ v: 1, type: 'frame', from: 'raw', data: new Uint8Array(5) });
      raw.postMessage('hello');
      raw.postMessage({ v: 1, type: 'heartbeat', from: 'raw', hosts: [{ name: 'node1' }], containerIps: [], claims: [] });
      b.endpoint.send(frame(3));
      raw.postMessage({ v: 1, type: 'frame', from: 'raw', data: frame(4) });
      await until(() => frames.length === 2 && a.malformedCount === 3);
      expect(frames).toEqual([3, 4]);
      expect(b.malformedCount).toBe(3);
      b.dispose();
      await until(() => gone.length === 1);
      expect(gone).toEqual([{ tab: 'bb', reason: 'bye' }]);
    } finally {
      raw.close();
    }
  });

  it('agrees on one migration key, the first tab\'s; a malformed key message changes nothing', async () => {
    const first = tab('t9');
    await new Promise((resolve) => setTimeout(resolve, 5)); // the others' keys are younger
    const raw = new BroadcastChannel(channelName);
    try {
      const later = [tab('t1'), tab('t2')];
      await until(() => later.every((l) => l.migrateKey === first.migrateKey));
      expect(first.migrateKey).toMatch(/^[0-9a-f]{64}$/);
      raw.postMessage({ v: 1, type: 'key', from: 'raw', key: 'evil key', born: 0 });
      await until(() => first.malformedCount === 1);
      expect([first, ...later].every((l) => l.migrateKey !== 'evil key' && l.migrateKey === first.migrateKey)).toBe(true);
    } finally {
      raw.close();
    }
  });

  it('notices a tab that stops talking', async () => {
    const a = tab('aa');
    const raw = new BroadcastChannel(channelName);
    try {
      raw.postMessage({ v: 1, type: 'hello', from: 'ghost', hosts: [], containerIps: [], claims: [] });
      await until(() => a.members().length === 2);
      const gone: TabGone[] = [];
      a.onTabGone((g) => gone.push(g));
      const start = Date.now();
      await until(() => gone.length === 1);
      expect(Date.now() - start).toBeGreaterThanOrEqual(250);
      expect(gone).toEqual([{ tab: 'ghost', reason: 'timeout' }]);
    } finally {
      raw.close();
    }
  });
});

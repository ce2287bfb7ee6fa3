import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../util/Emitter';
import { VirtualSwitch, formatMacKey } from './VirtualSwitch';
import type { FrameEndpoint } from './types';

/** A NIC: `transmit` hands a frame to the switch, `received` is what the switch sent to it. */
class FakeNic implements FrameEndpoint {
  readonly received: Uint8Array[] = [];
  private readonly emitter = new Emitter<Uint8Array>();
  readonly onFrame = this.emitter.event;
  send(frame: Uint8Array): void {
    this.received.push(frame);
  }
  transmit(frame: Uint8Array): void {
    this.emitter.fire(frame);
  }
  /** The tags (payload byte 14) of the frames received, in order. */
  tags(): number[] {
    return this.received.map((f) => f[14]!);
  }
}

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const mac = (n: number): number[] => [0x02, 0x43, 0x0a, 0x00, 0x00, n];

/** A 60-byte frame from `src` to `dst` whose first payload byte is `tag`. */
function frame(dst: number[], src: number[], tag = 0, length = 60): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes.set(dst, 0);
  bytes.set(src, 6);
  bytes[12] = 0x08;
  bytes[13] = 0x00;
  if (length > 14) bytes[14] = tag;
  return bytes;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function setup(count: number, options: ConstructorParameters<typeof VirtualSwitch>[0] = {}) {
  const sw = new VirtualSwitch(options);
  const nics = Array.from({ length: count }, () => new FakeNic());
  const ports = nics.map((nic, i) => sw.attach(`node${i + 1}`, nic, i === count - 1 ? 'tabs' : 'host'));
  return { sw, nics, ports };
}

describe('VirtualSwitch forwarding', () => {
  it('floods unknown unicast to every port but the ingress, then forwards learned MACs to their port only', () => {
    const { nics: [a, b, c, d] } = setup(4);
    a!.transmit(frame(mac(2), mac(1), 1)); // 2 unknown: flood
    expect([a!.tags(), b!.tags(), c!.tags(), d!.tags()]).toEqual([[], [1], [1], [1]]);
    b!.transmit(frame(mac(1), mac(2), 2)); // 1 learned on a's port
    expect([a!.tags(), b!.tags(), c!.tags(), d!.tags()]).toEqual([[2], [1], [1], [1]]);
    a!.transmit(frame(mac(2), mac(1), 3)); // 2 learned on b's port now
    expect([a!.tags(), b!.tags(), c!.tags(), d!.tags()]).toEqual([[2], [1, 3], [1], [1]]);
  });

  it('floods broadcast and multicast always, never back out of the ingress', () => {
    const { nics: [a, b, c] } = setup(3);
    b!.transmit(frame(mac(1), mac(2), 0));
    c!.transmit(frame(mac(1), mac(3), 0));
    for (const n of [a, b, c]) n!.received.length = 0;
    a!.transmit(frame(BROADCAST, mac(1), 1));
    a!.transmit(frame([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01], mac(1), 2)); // IPv4 multicast
    a!.transmit(frame([0x33, 0x33, 0x00, 0x00, 0x00, 0x01], mac(1), 3)); // IPv6 multicast
    expect(a!.tags()).toEqual([]);
    expect(b!.tags()).toEqual([1, 2, 3]);
    expect(c!.tags()).toEqual([1, 2, 3]);
  });

  it('filters a frame whose destination lives behind its ingress port', () => {
    const { nics: [a, b, c] } = setup(3);
    // Two MACs behind the tabs port (c): a frame between them must not come back or go elsewhere.
    c!.transmit(frame(BROADCAST, mac(10), 1));
    c!.transmit(frame(mac(10), mac(11), 2));
    expect(c!.tags()).toEqual([]);
    expect(a!.tags()).toEqual([1]); // 10 is known, behind c: frame 2 goes nowhere
    expect(b!.tags()).toEqual([1]);
  });

  it('does not learn group source addresses', () => {
    const { sw, nics: [a, b, c] } = setup(3);
    a!.transmit(frame(mac(2), [0x03, 0, 0, 0, 0, 1], 1));
    expect(sw.ports().flatMap((p) => p.macs)).toEqual([]);
    b!.transmit(frame([0x03, 0, 0, 0, 0, 1], mac(2), 2));
    expect(a!.tags()).toEqual([2]);
    expect(c!.tags()).toEqual([1, 2]);
  });

  it('follows a MAC that moves to another port', () => {
    const { nics: [a, b, c] } = setup(3);
    a!.transmit(frame(BROADCAST, mac(1), 0));
    c!.transmit(frame(mac(1), mac(3), 1));
    expect(a!.tags()).toEqual([1]);
    b!.transmit(frame(BROADCAST, mac(1), 0)); // 1 migrated behind b
    c!.transmit(frame(mac(1), mac(3), 2));
    expect(a!.tags()).toEqual([1, 0]); // the broadcast, not the unicast
    expect(b!.tags()).toEqual([0, 2]);
  });

  it('ages out MACs not heard from for the ageing time', () => {
    let now = 0;
    const { sw, nics: [a, b, c] } = setup(3, { now: () => now, ageingMs: 300_000 });
    a!.transmit(frame(BROADCAST, mac(1), 0));
    now = 300_000;
    b!.transmit(frame(mac(1), mac(2), 1));
    expect(c!.tags()).toEqual([0]); // still known: to a only
    now = 300_001;
    expect(sw.ports()[0]!.macs).toEqual([]);
    b!.transmit(frame(mac(1), mac(2), 2));
    expect(c!.tags()).toEqual([0, 2]); // aged: flooded
    expect(a!.tags()).toEqual([1, 2]);
  });

  it('defaults to 300 s of ageing', () => {
    let now = 1000;
    const { nics: [a, b, c] } = setup(3, { now: () => now });
    a!.transmit(frame(BROADCAST, mac(1), 0));
    now += 299_999;
    b!.transmit(frame(mac(1), mac(2), 1));
    now += 2;
    b!.transmit(frame(mac(1), mac(2), 2));
    expect(c!.tags()).toEqual([0, 2]);
  });

  it('stops learning when the table is full but keeps forwarding by flooding', () => {
    const { sw, nics: [a, b, c] } = setup(3, { maxMacs: 2 });
    a!.transmit(frame(BROADCAST, mac(1), 0));
    a!.transmit(frame(BROADCAST, mac(2), 0));
    a!.transmit(frame(BROADCAST, mac(3), 0));
    expect(sw.ports()[0]!.macs).toEqual(['02:43:0a:00:00:01', '02:43:0a:00:00:02']);
    b!.transmit(frame(mac(3), mac(9), 7));
    expect(a!.tags()).toContain(7);
    expect(c!.tags()).toContain(7);
  });
});

describe('VirtualSwitch counters and snapshots', () => {
  it('counts frames and bytes per port as the switch sees them', () => {
    const { sw, nics: [a, b, c] } = setup(3);
    a!.transmit(frame(BROADCAST, mac(1), 0, 60));
    b!.transmit(frame(mac(1), mac(2), 0, 100));
    const [pa, pb, pc] = sw.ports();
    expect(pa!.counters).toEqual({ rxFrames: 1, rxBytes: 60, txFrames: 1, txBytes: 100, dropped: 0 });
    expect(pb!.counters).toEqual({ rxFrames: 1, rxBytes: 100, txFrames: 1, txBytes: 60, dropped: 0 });
    expect(pc!.counters).toEqual({ rxFrames: 0, rxBytes: 0, txFrames: 1, txBytes: 60, dropped: 0 });
    expect(c!.received).toHaveLength(1);
  });

  it('drops and counts frames shorter than an Ethernet header', () => {
    const { sw, nics: [a, b] } = setup(2);
    a!.transmit(new Uint8Array(13));
    a!.transmit(new Uint8Array(0));
    a!.transmit(frame(BROADCAST, mac(1), 0, 14)); // header only: fine
    expect(sw.runtCount).toBe(2);
    expect(b!.received).toHaveLength(1);
    expect(sw.ports()[0]!.counters.rxFrames).toBe(1);
  });

  it('snapshots ports with names, kinds, faults and learned MACs, as copies', () => {
    const { sw, nics: [a, , c], ports } = setup(3);
    a!.transmit(frame(BROADCAST, mac(1), 0));
    c!.transmit(frame(BROADCAST, mac(0xab), 0));
    c!.transmit(frame(BROADCAST, mac(0x0c), 0));
    const snapshot = sw.ports();
    expect(snapshot.map((p) => [p.id, p.name, p.kind, p.macs])).toEqual([
      [ports[0]!.id, 'node1', 'host', ['02:43:0a:00:00:01']],
      [ports[1]!.id, 'node2', 'host', []],
      [ports[2]!.id, 'node3', 'tabs', ['02:43:0a:00:00:0c', '02:43:0a:00:00:ab']],
    ]);
    expect(snapshot[0]!.fault).toEqual({ down: false, lossPercent: 0, latencyMs: 0 });
    snapshot[0]!.counters.rxFrames = 99;
    snapshot[0]!.fault.down = true;
    expect(sw.ports()[0]!.counters.rxFrames).toBe(1);
    expect(sw.ports()[0]!.fault.down).toBe(false);
  });

  it('formats MAC keys with every byte', () => {
    expect(formatMacKey(0xffff_ffff_ffff)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMacKey(0x0243_0a00_0001)).toBe('02:43:0a:00:00:01');
    expect(formatMacKey(0x8000_0000_0080)).toBe('80:00:00:00:00:80');
  });

  it('fires onChange on attach, detach and fault changes, not per frame', () => {
    const sw = new VirtualSwitch();
    let changes = 0;
    sw.onChange(() => changes++);
    const a = new FakeNic();
    const b = new FakeNic();
    const pa = sw.attach('a', a, 'host');
    sw.attach('b', b, 'host');
    expect(changes).toBe(2);
    for (let i = 0; i < 10; i++) a.transmit(frame(BROADCAST, mac(1), i));
    expect(changes).toBe(2);
    sw.setFault(pa.id, { lossPercent: 5 });
    expect(changes).toBe(3);
    pa.dispose();
    expect(changes).toBe(4);
    expect(pa.attached).toBe(false);
    sw.dispose(); // detaches b: one more change, then the emitter is gone
    expect(changes).toBe(5);
    sw.dispose();
    expect(changes).toBe(5);
  });

  it('rejects bad fault values and unknown ports', () => {
    const { sw, ports } = setup(2);
    const id = ports[0]!.id;
    expect(() => sw.setFault(id, { lossPercent: 101 })).toThrow(RangeError);
    expect(() => sw.setFault(id, { lossPercent: Number.NaN })).toThrow(RangeError);
    expect(() => sw.setFault(id, { latencyMs: -1 })).toThrow(RangeError);
    expect(() => sw.setFault(id, { latencyMs: Infinity })).toThrow(RangeError);
    expect(() => sw.setFault(999, { down: true })).toThrow(/no port 999/);
    sw.setFault(id, { latencyMs: 20 });
    sw.setFault(id, { lossPercent: 10 });
    expect(sw.ports()[0]!.fault).toEqual({ down: false, lossPercent: 10, latencyMs: 20 });
  });

  it('keeps flooding when one endpoint throws, and counts that frame as dropped', () => {
    const { sw, nics: [a, b, c] } = setup(3);
    b!.send = () => {
      throw new Error('worker gone');
    };
    a!.transmit(frame(BROADCAST, mac(1), 5));
    expect(c!.tags()).toEqual([5]);
    expect(sw.ports()[1]!.counters).toMatchObject({ txFrames: 0, dropped: 1 });
  });
});

describe('VirtualSwitch detach', () => {
  it('forgets the MACs learned on a detached port and no longer hears or feeds its endpoint', () => {
    const { sw, nics: [a, b, c], ports } = setup(3);
    a!.transmit(frame(BROADCAST, mac(1), 0));
    sw.detach(ports[0]!);
    b!.transmit(frame(mac(1), mac(2), 1)); // 1 is unknown again: flooded to c only
    expect(c!.tags()).toEqual([0, 1]);
    expect(a!.tags()).toEqual([]);
    a!.transmit(frame(BROADCAST, mac(1), 2)); // not heard
    expect(b!.tags()).toEqual([0]);
    expect(sw.ports().map((p) => p.name)).toEqual(['node2', 'node3']);
    // A port attached later does not inherit anything, and detach by a stale handle is harmless.
    const again = sw.attach('node1', a!, 'host');
    sw.detach(ports[0]!);
    expect(sw.ports().map((p) => p.id)).toContain(again.id);
    sw.detach(again.id);
    expect(sw.ports()).toHaveLength(2);
  });
});

describe('VirtualSwitch faults', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops everything on a down link, in both directions', () => {
    const { sw, nics: [a, b, c], ports } = setup(3);
    sw.setFault(ports[0]!.id, { down: true });
    a!.transmit(frame(BROADCAST, mac(1), 1)); // from a: lost on a's link
    b!.transmit(frame(BROADCAST, mac(2), 2)); // to a: lost on a's link, reaches c
    expect(a!.tags()).toEqual([]);
    expect(b!.tags()).toEqual([]);
    expect(c!.tags()).toEqual([2]);
    expect(sw.ports()[0]!.counters).toEqual({ rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, dropped: 2 });
    sw.setFault(ports[0]!.id, { down: false });
    a!.transmit(frame(BROADCAST, mac(1), 3));
    expect(b!.tags()).toEqual([3]);
  });

  it('loses frames with the configured probability, in both directions (seeded RNG)', () => {
    const { sw, nics: [a, b], ports } = setup(2, { random: seeded(42) });
    sw.setFault(ports[0]!.id, { lossPercent: 30 });
    for (let i = 0; i < 5000; i++) a!.transmit(frame(mac(2), mac(1), 1));
    for (let i = 0; i < 5000; i++) b!.transmit(frame(mac(1), mac(2), 2));
    const delivered = a!.received.length + b!.received.length;
    const { dropped } = sw.ports()[0]!.counters;
    expect(delivered + dropped).toBe(10_000);
    expect(dropped / 10_000).toBeGreaterThan(0.28);
    expect(dropped / 10_000).toBeLessThan(0.32);
    expect(a!.received.length).toBeGreaterThan(3300); // both directions lose
    expect(b!.received.length).toBeGreaterThan(3300);
    expect(sw.ports()[1]!.counters.dropped).toBe(0);
  });

  it('loses nothing at 0 % and everything at 100 %', () => {
    const { sw, nics: [a, b], ports } = setup(2, { random: seeded(1) });
    for (let i = 0; i < 100; i++) a!.transmit(frame(BROADCAST, mac(1)));
    sw.setFault(ports[0]!.id, { lossPercent: 100 });
    for (let i = 0; i < 100; i++) a!.transmit(frame(BROADCAST, mac(1)));
    expect(b!.received).toHaveLength(100);
    expect(sw.ports()[0]!.counters.dropped).toBe(100);
  });

  it('delays by the latency each way, keeping order', () => {
    const { sw, nics: [a, b], ports } = setup(2, { now: () => Date.now() });
    sw.setFault(ports[0]!.id, { latencyMs: 50 });
    a!.transmit(frame(BROADCAST, mac(1), 1));
    vi.advanceTimersByTime(10);
    a!.transmit(frame(BROADCAST, mac(1), 2));
    a!.transmit(frame(BROADCAST, mac(1), 3));
    vi.advanceTimersByTime(39);
    expect(b!.tags()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(b!.tags()).toEqual([1]);
    vi.advanceTimersByTime(10);
    expect(b!.tags()).toEqual([1, 2, 3]);
    // The other direction: b → a crosses a's link too.
    b!.transmit(frame(mac(1), mac(2), 4));
    vi.advanceTimersByTime(49);
    expect(a!.tags()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(a!.tags()).toEqual([4]);
    // Latency on both links adds up.
    sw.setFault(ports[1]!.id, { latencyMs: 30 });
    b!.transmit(frame(mac(1), mac(2), 5));
    vi.advanceTimersByTime(79);
    expect(a!.tags()).toEqual([4]);
    vi.advanceTimersByTime(1);
    expect(a!.tags()).toEqual([4, 5]);
    expect(sw.ports()[0]!.counters).toMatchObject({ rxFrames: 3, txFrames: 2, dropped: 0 });
  });

  it('keeps order when the latency drops while frames are in flight', () => {
    const { sw, nics: [a, b], ports } = setup(2, { now: () => Date.now() });
    sw.setFault(ports[1]!.id, { latencyMs: 100 });
    for (let tag = 1; tag <= 3; tag++) a!.transmit(frame(BROADCAST, mac(1), tag));
    sw.setFault(ports[1]!.id, { latencyMs: 0 });
    a!.transmit(frame(BROADCAST, mac(1), 4)); // must wait behind 1..3
    vi.advanceTimersByTime(20);
    sw.setFault(ports[1]!.id, { latencyMs: 10 });
    a!.transmit(frame(BROADCAST, mac(1), 5));
    expect(b!.tags()).toEqual([]);
    vi.advanceTimersByTime(80);
    expect(b!.tags()).toEqual([1, 2, 3, 4, 5]);
    a!.transmit(frame(BROADCAST, mac(1), 6));
    vi.advanceTimersByTime(10);
    expect(b!.tags()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps order across many frames sent at different times', () => {
    const { sw, nics: [a, b], ports } = setup(2, { now: () => Date.now() });
    sw.setFault(ports[0]!.id, { latencyMs: 7 });
    for (let tag = 0; tag < 200; tag++) {
      a!.transmit(frame(BROADCAST, mac(1), tag));
      if (tag % 3 === 0) vi.advanceTimersByTime(1);
      if (tag === 100) sw.setFault(ports[0]!.id, { latencyMs: 2 });
    }
    vi.advanceTimersByTime(10);
    expect(b!.tags()).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('drops frames in flight when the link goes down or the port is detached', () => {
    const { sw, nics: [a, b, c], ports } = setup(3, { now: () => Date.now() });
    sw.setFault(ports[0]!.id, { latencyMs: 50 });
    a!.transmit(frame(BROADCAST, mac(1), 1));
    b!.transmit(frame(BROADCAST, mac(2), 2)); // toward a, delayed on a's link; c gets it at once
    sw.setFault(ports[0]!.id, { down: true });
    vi.advanceTimersByTime(100);
    expect(a!.tags()).toEqual([]);
    expect(b!.tags()).toEqual([]);
    expect(c!.tags()).toEqual([2]);
    expect(sw.ports()[0]!.counters.dropped).toBe(2);

    sw.setFault(ports[0]!.id, { down: false });
    a!.transmit(frame(BROADCAST, mac(1), 3));
    sw.detach(ports[0]!);
    vi.advanceTimersByTime(100);
    expect(b!.tags()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops and counts what does not fit a delayed link’s queue', () => {
    const { sw, nics: [a, b], ports } = setup(2, { now: () => Date.now(), maxQueuedFrames: 3 });
    sw.setFault(ports[1]!.id, { latencyMs: 10 });
    for (let tag = 1; tag <= 5; tag++) a!.transmit(frame(BROADCAST, mac(1), tag));
    vi.advanceTimersByTime(10);
    expect(b!.tags()).toEqual([1, 2, 3]);
    expect(sw.ports()[1]!.counters.dropped).toBe(2);
  });

  it('clears its timers on dispose', () => {
    const { sw, nics: [a], ports } = setup(2, { now: () => Date.now() });
    sw.setFault(ports[0]!.id, { latencyMs: 10 });
    a!.transmit(frame(BROADCAST, mac(1), 1));
    expect(vi.getTimerCount()).toBe(1);
    sw.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(sw.ports()).toEqual([]);
    expect(() => sw.attach('x', a!, 'host')).toThrow(/disposed/);
  });
});

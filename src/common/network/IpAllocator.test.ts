import { describe, expect, it } from 'vitest';
import { IpAllocator, allocateContainerIp } from './IpAllocator';

describe('allocateContainerIp', () => {
  it('takes the lowest free address of the node’s block', () => {
    expect(allocateContainerIp(1, [])).toBe('10.0.1.1/16');
    expect(allocateContainerIp(3, ['10.0.3.1/16', '10.0.3.2/16', '10.0.3.4/16'])).toBe('10.0.3.3/16');
    expect(allocateContainerIp(250, [])).toBe('10.0.250.1/16');
  });

  it('ignores other nodes’ addresses and compares addresses, not prefix spellings', () => {
    const inUse = new Set(['10.0.1.1/16', '10.0.2.1/16', '10.0.0.3/16', '10.0.3.1/24', '10.0.3.2']);
    expect(allocateContainerIp(3, inUse)).toBe('10.0.3.3/16');
    expect(allocateContainerIp(4, inUse)).toBe('10.0.4.1/16');
  });

  it('accepts any iterable, such as a generator over cluster members', () => {
    function* ips() {
      yield '10.0.5.1/16';
      yield '10.0.5.2/16';
    }
    expect(allocateContainerIp(5, ips())).toBe('10.0.5.3/16');
  });

  it('uses k = 1..254 and says so when the block is full', () => {
    const almost = Array.from({ length: 253 }, (_, i) => `10.0.7.${i + 1}/16`);
    expect(allocateContainerIp(7, almost)).toBe('10.0.7.254/16');
    const full = [...almost, '10.0.7.254/16'];
    expect(() => allocateContainerIp(7, full)).toThrow('no free container IP on node7: all 254 addresses 10.0.7.1-254 are in use');
  });

  it('rejects node numbers outside 1..250', () => {
    for (const bad of [0, 251, 1.5, -3, Number.NaN]) expect(() => allocateContainerIp(bad, [])).toThrow(RangeError);
  });

  it('never collides across nodes, whatever order allocations happen in', () => {
    const inUse: string[] = [];
    for (let round = 0; round < 10; round++) {
      for (const node of [3, 1, 2]) inUse.push(allocateContainerIp(node, inUse));
    }
    expect(new Set(inUse).size).toBe(30);
    expect(inUse.filter((ip) => ip.startsWith('10.0.2.'))).toEqual(Array.from({ length: 10 }, (_, i) => `10.0.2.${i + 1}/16`));
  });
});

describe('IpAllocator', () => {
  it('keeps what it handed out taken until released', () => {
    const allocator = new IpAllocator();
    expect(allocator.allocate(2, [])).toBe('10.0.2.1/16');
    expect(allocator.allocate(2, [])).toBe('10.0.2.2/16'); // the first not reported anywhere yet
    expect(allocator.allocate(2, ['10.0.2.3/16'])).toBe('10.0.2.4/16');
    allocator.release('10.0.2.1/16');
    expect(allocator.allocate(2, [])).toBe('10.0.2.1/16');
    allocator.release('10.0.2.2'); // any spelling of the address
    expect(allocator.allocate(2, [])).toBe('10.0.2.2/16');
  });

  it('throws when full and hands out nothing then', () => {
    const allocator = new IpAllocator();
    const full = Array.from({ length: 254 }, (_, i) => `10.0.9.${i + 1}/16`);
    expect(() => allocator.allocate(9, full)).toThrow(/no free container IP on node9/);
    expect(allocator.allocate(9, full.slice(1))).toBe('10.0.9.1/16');
  });
});

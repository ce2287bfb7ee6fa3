import { describe, expect, it } from 'vitest';
import { ManifestError, type GuestManifest } from './manifest';
import { parseStateManifest, stateMismatch, stateOriginFor, type SavedStateManifest } from './savedState';

const artifact = (file: string, c: string) => ({ file, sha256: c.repeat(64), size: 1 });
const guest: GuestManifest = {
  format: 1, arch: 'i386', kernel_release: '6.1', cmdline: 'console=ttyS0', memory_mb: 128, sources: {},
  kernel: artifact('bzImage', 'a'), initrd: artifact('base.cpio', 'b'), initrd_tools: artifact('ctlab.cpio', 'c'),
  bios: artifact('seabios.bin', 'd'),
};
const origin = stateOriginFor(guest, 128, { type: 'virtio', mtu: 65520 });
const state: SavedStateManifest = {
  format: 1, file: 'state.bin.zst', sha256: 'e'.repeat(64), size: 10, raw_size: 20, guest_uptime_s: 1.5, made_from: origin,
};

describe('parseStateManifest', () => {
  it('accepts a well-formed record', () => {
    expect(parseStateManifest(structuredClone(state)).made_from.kernel).toBe('a'.repeat(64));
  });

  it.each([
    ['wrong format', { ...state, format: 2 }, /format 2/],
    ['a path for a file', { ...state, file: '../x' }, /"file"/],
    ['no origin', { ...state, made_from: undefined }, /made_from/],
    ['a bad NIC', { ...state, made_from: { ...origin, nic: { type: 'e1000' } } }, /nic/],
  ])('rejects %s', (_, input, message) => {
    expect(() => parseStateManifest(input)).toThrow(ManifestError);
    expect(() => parseStateManifest(input)).toThrow(message);
  });
});

describe('stateMismatch', () => {
  it('accepts a state made from the same artifacts, memory, NIC and v86', () => {
    expect(stateMismatch(state, stateOriginFor(guest, 128, { type: 'virtio', mtu: 65520 }))).toBeUndefined();
  });

  it.each([
    ['a rebuilt tools archive', stateOriginFor({ ...guest, initrd_tools: artifact('ctlab.cpio', 'f') }, 128, { type: 'virtio', mtu: 65520 }), /initrd_tools/],
    ['another cmdline', stateOriginFor({ ...guest, cmdline: 'quiet' }, 128, { type: 'virtio', mtu: 65520 }), /cmdline/],
    ['more memory', stateOriginFor(guest, 256, { type: 'virtio', mtu: 65520 }), /memory_mb/],
    ['another NIC', stateOriginFor(guest, 128, { type: 'ne2k' }), /nic/],
    ['another MTU', stateOriginFor(guest, 128, { type: 'virtio' }), /nic/],
    ['another v86', { ...origin, v86: '0.6' }, /v86/],
  ])('refuses %s', (_, wanted, reason) => {
    expect(stateMismatch(state, wanted)).toMatch(reason);
  });
});

// public/images/state.json: a saved emulator state of the booted guest (written by images/state.mts),
// and the check that it was made from the artifacts and emulator a host is about to use.
import type { GuestManifest } from './manifest';
import { ManifestError } from './manifest';

/** The v86 build states are saved and restored by: node_modules/v86's version (tests/images.test.ts checks). */
export const V86_VERSION = '0.5.462+g5f9a90f';

/** What a state was made from: a host restores it only when all of this matches. */
export interface StateOrigin {
  /** sha256 of each guest artifact. */
  kernel: string;
  initrd: string;
  initrd_tools: string;
  bios: string;
  cmdline: string;
  memory_mb: number;
  nic: { type: 'virtio' | 'ne2k'; mtu?: number };
  v86: string;
}

export interface SavedStateManifest {
  format: 1;
  /** The zstd-compressed state, which v86 decompresses itself. */
  file: string;
  sha256: string;
  size: number;
  /** The uncompressed state's size. */
  raw_size: number;
  /** The guest's uptime when its /init finished, in the boot the state was saved from. */
  guest_uptime_s: number;
  made_from: StateOrigin;
}

/** A state file and its record, as a host receives them. */
export interface SavedState {
  manifest: SavedStateManifest;
  data: ArrayBuffer;
}

export function parseStateManifest(json: unknown): SavedStateManifest {
  if (typeof json !== 'object' || json === null) throw new ManifestError('state manifest is not an object');
  const m = json as Record<string, unknown>;
  if (m.format !== 1) throw new ManifestError(`unsupported state manifest format ${String(m.format)}`);
  if (typeof m.file !== 'string' || !/^[\w.-]+$/.test(m.file)) throw new ManifestError('state manifest field "file" is not a file name');
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) throw new ManifestError('state manifest field "sha256" is not a sha256');
  if (typeof m.guest_uptime_s !== 'number') throw new ManifestError('state manifest field "guest_uptime_s" is not a number');
  for (const key of ['size', 'raw_size'] as const) {
    if (!Number.isSafeInteger(m[key]) || (m[key] as number) <= 0) throw new ManifestError(`state manifest field "${key}" is not a size`);
  }
  const from = m.made_from as Record<string, unknown> | null;
  if (typeof from !== 'object' || from === null) throw new ManifestError('state manifest field "made_from" is not an object');
  for (const key of ['kernel', 'initrd', 'initrd_tools', 'bios', 'cmdline', 'v86'] as const) {
    if (typeof from[key] !== 'string') throw new ManifestError(`state manifest field "made_from.${key}" is not a string`);
  }
  if (!Number.isInteger(from.memory_mb)) throw new ManifestError('state manifest field "made_from.memory_mb" is not an integer');
  const nic = from.nic as Record<string, unknown> | null;
  if (typeof nic !== 'object' || nic === null || (nic.type !== 'virtio' && nic.type !== 'ne2k')) {
    throw new ManifestError('state manifest field "made_from.nic" is not a NIC');
  }
  return json as SavedStateManifest;
}

/** The origin a state must have for a host of this manifest, memory and NIC. */
export function stateOriginFor(manifest: GuestManifest, memoryMb: number, nic: StateOrigin['nic']): StateOrigin {
  return {
    kernel: manifest.kernel.sha256,
    initrd: manifest.initrd.sha256,
    initrd_tools: manifest.initrd_tools.sha256,
    bios: manifest.bios.sha256,
    cmdline: manifest.cmdline,
    memory_mb: memoryMb,
    nic: nic.type === 'virtio' ? { type: 'virtio', mtu: nic.mtu ?? 1500 } : { type: 'ne2k' },
    v86: V86_VERSION,
  };
}

/** Why a state cannot stand in for a cold boot of `wanted` (undefined when it can). */
export function stateMismatch(state: SavedStateManifest, wanted: StateOrigin): string | undefined {
  const have = state.made_from;
  for (const key of ['kernel', 'initrd', 'initrd_tools', 'bios', 'cmdline', 'memory_mb', 'v86'] as const) {
    if (have[key] !== wanted[key]) return `${key} differs (state: ${String(have[key])}, host: ${String(wanted[key])})`;
  }
  const haveNic = `${have.nic.type}/${have.nic.mtu ?? ''}`;
  const wantedNic = `${wanted.nic.type}/${wanted.nic.mtu ?? ''}`;
  if (haveNic !== wantedNic) return `nic differs (state: ${haveNic}, host: ${wantedNic})`;
  return undefined;
}

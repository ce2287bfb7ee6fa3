// Messages between a Host proxy (UI thread) and the EmulatedHost it drives in a worker.
import type { BootProgress, BootResult, HostState, HostStats } from './Host';
import type { NicOptions } from './EmulatedHost';
import type { MessagePortLike } from '../network/PortEndpoint';
import type { GuestManifest } from './manifest';
import type { SavedState } from './savedState';

/**
 * What the page fetched once for all of its hosts (src/browser/sharedGuestFiles.ts). `Wasm` is
 * v86's compiled WebAssembly.Module, a type the core's lib settings do not know.
 */
export interface SharedGuestFiles<Wasm = unknown> {
  manifest: GuestManifest;
  /** Undefined when the site has no saved state (or it did not load: see stateError). */
  state: SavedState | undefined;
  /** Why the saved state did not load: the host boots cold and says so. */
  stateError?: string;
  wasm: Wasm;
}

/** UI → worker. Requests carrying `id` get exactly one Reply with the same id. */
export type HostWorkerRequest<Wasm = unknown> =
  /** The guest's other artifacts (BIOS, and for a cold boot kernel and initramfs) come from imagesUrl. */
  | { type: 'boot'; id: number; name: string; imagesUrl: string; files: SharedGuestFiles<Wasm>; memoryMb?: number; nic?: NicOptions }
  /** The host's NIC link: a MessagePort to the switch (transferred), so frames skip the UI thread. */
  | { type: 'nic'; port: MessagePortLike }
  | { type: 'stats'; id: number }
  | { type: 'saveState'; id: number }
  | { type: 'restoreState'; id: number; state: ArrayBuffer }
  | { type: 'shutdown'; id: number }
  | { type: 'console'; data: Uint8Array }
  /** The host's name, for a host that started booting before it had one. */
  | { type: 'name'; name: string }
  /** Bytes for the guest's agent; the buffer is transferred. */
  | { type: 'agent'; data: Uint8Array };

export type HostWorkerReply =
  | { type: 'reply'; id: number; ok: true; value?: BootResult | HostStats | ArrayBuffer }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'state'; state: HostState }
  | { type: 'progress'; progress: BootProgress }
  | { type: 'console'; data: Uint8Array }
  /** Bytes from the guest's agent; the buffer is transferred. */
  | { type: 'agent'; data: Uint8Array };

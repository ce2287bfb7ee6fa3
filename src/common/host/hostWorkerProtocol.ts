// Messages between a Host proxy (UI thread) and the EmulatedHost it drives in a worker.
import type { BootProgress, BootResult, HostState, HostStats } from './Host';
import type { NicOptions } from './EmulatedHost';
import type { MessagePortLike } from '../network/PortEndpoint';

/** UI → worker. Requests carrying `id` get exactly one Reply with the same id. */
export type HostWorkerRequest =
  | { type: 'boot'; id: number; name: string; imagesUrl: string; memoryMb?: number; nic?: NicOptions }
  /** The host's NIC link: a MessagePort to the switch (transferred), so frames skip the UI thread. */
  | { type: 'nic'; port: MessagePortLike }
  | { type: 'stats'; id: number }
  | { type: 'saveState'; id: number }
  | { type: 'restoreState'; id: number; state: ArrayBuffer }
  | { type: 'shutdown'; id: number }
  | { type: 'console'; data: Uint8Array }
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

import type { Disposable, Event } from '../util/Emitter';

export type HostState = 'created' | 'booting' | 'running' | 'stopped' | 'failed';

/**
 * Boot phases in order: fetching the guest images, firmware + kernel (silent, `quiet` on the
 * cmdline), the guest's /init (it printed its banner), and ready (a shell prompt on the console).
 */
/** 'restore' replaces 'kernel' and 'init' when the host starts from a saved state. */
export type BootPhase = 'fetch' | 'kernel' | 'init' | 'restore' | 'ready';

export interface BootProgress {
  phase: BootPhase;
  /** Since boot() was called. */
  elapsedMs: number;
  /** Only during 'fetch'. */
  loadedBytes?: number;
  totalBytes?: number;
}

export interface BootResult {
  /** boot() call to shell prompt (or, from a saved state, to the restored guest running), wall clock. */
  bootMs: number;
  /**
   * The guest's own /proc/uptime when its /init finished (emulated time since the kernel started);
   * for a restored host, that of the boot the state was saved from.
   */
  guestUptimeS: number;
  /** True when the host was restored from the saved state instead of booting. */
  fromState: boolean;
  /** Why a saved state that was offered was not restored (stale, or the restore failed). */
  stateProblem?: string;
}

export interface HostStats {
  /** Guest instructions executed since the emulator started. */
  instructions: number;
  /** Million guest instructions per wall-clock second since the previous stats() call. */
  mips: number;
}

/**
 * One emulated Linux host. Implemented in-process by EmulatedHost and, in the browser, by a proxy
 * to an EmulatedHost in a Web Worker; tests and the UI use only this interface.
 */
export interface Host extends Disposable {
  readonly name: string;
  readonly state: HostState;
  readonly onStateChange: Event<HostState>;
  readonly onProgress: Event<BootProgress>;
  /** Bytes the guest wrote to its console (ttyS0), in order, batched. */
  readonly onConsoleOutput: Event<Uint8Array>;
  /** Bytes the guest's agent wrote to /dev/hvc0 (virtio-console port 0), in order; AgentClient reads them. */
  readonly onAgentData: Event<Uint8Array>;

  /** Fetches the images and boots to a shell prompt. Rejects on failure or timeout. */
  boot(): Promise<BootResult>;
  /** Types into the console, as a user at its terminal would. */
  writeConsole(data: string | Uint8Array): void;
  /** Sends bytes to the guest's agent on /dev/hvc0, paced so that the guest loses none. */
  writeAgent(data: Uint8Array): void;
  stats(): Promise<HostStats>;
  /** The whole emulator state (CPU, devices, RAM); restoreState() brings a host back to it. */
  saveState(): Promise<ArrayBuffer>;
  restoreState(state: ArrayBuffer): Promise<void>;
  /** Stops the emulator and frees it; the host cannot be booted again. */
  shutdown(): Promise<void>;
}

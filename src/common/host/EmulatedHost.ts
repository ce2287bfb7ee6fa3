import { V86 } from 'v86';
import type { V86Options } from 'v86';
import { Emitter, DisposableStore } from '../util/Emitter';
import { loadGuestImages, readArtifact, type GuestImages, type GuestManifest } from './manifest';
import { stateMismatch, stateOriginFor, type SavedState } from './savedState';
import type { BootProgress, BootResult, Host, HostState, HostStats } from './Host';
import { ConsoleWatcher } from './ConsoleWatcher';
import { PacedWriter } from './PacedWriter';
import type { FrameEndpoint } from '../network/types';

/** Instantiates v86's wasm; adapters compile the module once and share it between hosts. */
export type WasmInstantiator = NonNullable<V86Options['wasm_fn']>;

export interface EmulatedHostOptions {
  name: string;
  /** Supplies manifest.json (fetch in the browser, a file under Node). */
  loadManifest: () => Promise<GuestManifest>;
  /**
   * Supplies one guest artifact by file name. A host restoring the saved state reads only the
   * BIOS; the kernel and initramfs are read only for a cold boot.
   */
  readFile: (file: string) => Promise<ArrayBuffer>;
  wasm: WasmInstantiator;
  /** Overrides the manifest's memory size. */
  memoryMb?: number;
  bootTimeoutMs?: number;
  /** The guest's eth0 (DEFAULT_NIC when left out); the MTU applies to virtio only. */
  nic?: NicOptions;
  /**
   * Supplies the saved state of a booted guest (images/state.mts), if there is one: the host
   * restores it instead of booting when it was made from the same artifacts, memory size, NIC and
   * v86, and cold-boots otherwise (saying why on the console log). The restored guest keeps the
   * saved identity and clock until host_configure and set_time give it its own.
   */
  loadState?: () => Promise<SavedState | undefined>;
  /** Where the host says why it booted cold although a state was offered (console.warn, say). */
  log?: (message: string) => void;
}

export interface NicOptions {
  type: 'virtio' | 'ne2k';
  /** virtio only; 1500 when left out. */
  mtu?: number;
}

/**
 * virtio at the largest MTU v86 honours. bench/network: virtio moves 2–3× the bytes of ne2k (which
 * crosses wasm→JS every 4 bytes); at MTU 65520 the guest handles ~40× fewer packets per byte
 * (guest-facts: 40–58 MB/s raw against 17–19 at 1500). The guest's bridge and the containers' veths
 * take the uplink's MTU (ct), so every host of a network must use the same MTU: change it here only.
 */
export const DEFAULT_NIC: Readonly<NicOptions> = { type: 'virtio', mtu: 65520 };

/** /init prints this once the host is set up, just before the console shell starts. */
const INIT_BANNER = /ctlab: host (\S+) up in ([\d.]+)s/;
/**
 * The console shell's prompt (PS1 in images/initramfs/etc/profile ends in "# " for root), maybe
 * followed by busybox's cursor-position query (ESC [6n), which only a real terminal answers.
 */
const PROMPT = /# (?:\x1b\[6n)?$/;

/**
 * The v86 internals the agent channel needs, typed only as far as it uses them. They are not in
 * v86's typings, but its npm build keeps these property names (checked in v86 0.5.462's
 * libv86.mjs). `v86` appears once the wasm module is instantiated; `virtio_console` only with the
 * `virtio_console` option. Queue 0 is the receive queue of console port 0, the guest's /dev/hvc0.
 */
interface V86Internals {
  readonly bus: { send(event: 'virtio-console0-input-bytes' | 'net0-receive', data: Uint8Array): void };
  readonly v86?: {
    cpu?: {
      devices?: { virtio_console?: { virtio?: { queues?: ReadonlyArray<VirtQueue | undefined> } } };
      /** The wasm export: 1 = MAX_PAGES, the guest pages one compiled module may span (3 by default). */
      set_jit_config?(index: number, value: number): void;
    };
  };
}

/**
 * Guest pages per wasm module v86 compiles. The browser's engine later recompiles every hot module
 * with its optimizing compiler, on background threads, at a cost that grows faster than the module:
 * with v86's 3 pages a module reached ~220 KB of wasm and took ~700 ms each, 29-43 s of CPU in half
 * a minute of migrations, taking the CPU from the emulators themselves on a 2-core machine (the
 * same work ran 5x slower in some windows than in others). One page cut that CPU ~3x, the frozen
 * time of migration workload (b) from 345 to ~185 ms and cold boot from ~3.6 to ~2.7 s; the restore
 * from the saved state takes ~100 ms more (more modules), steady throughput (fork+exec) is the same.
 */
const JIT_PAGES_PER_MODULE = 1;

interface VirtQueue {
  /** Truthy once the guest driver has set the queue up (v86 returns an address). */
  is_configured(): unknown;
  /** True while the guest has posted a buffer v86 can fill. */
  has_request(): boolean;
}

function internals(emulator: V86): V86Internals {
  return emulator as unknown as V86Internals;
}

/** A v86 emulator running the ctlab guest, in this thread. */
export class EmulatedHost implements Host {
  /** Used in messages only; a host pre-started before the cluster named it is renamed once. */
  name: string;
  private emulator: V86 | undefined;
  private currentState: HostState = 'created';
  private readonly disposables = new DisposableStore();
  private readonly stateEmitter = this.disposables.add(new Emitter<HostState>());
  private readonly progressEmitter = this.disposables.add(new Emitter<BootProgress>());
  private readonly consoleEmitter = this.disposables.add(new Emitter<Uint8Array>());
  private readonly agentEmitter = this.disposables.add(new Emitter<Uint8Array>());
  readonly onStateChange = this.stateEmitter.event;
  readonly onProgress = this.progressEmitter.event;
  readonly onConsoleOutput = this.consoleEmitter.event;
  readonly onAgentData = this.agentEmitter.event;
  private readonly nicEmitter = this.disposables.add(new Emitter<Uint8Array>());

  /**
   * The guest's eth0 as one side of a link: frames the guest transmits arrive on onFrame, frames
   * sent here are received by the guest. Attach it to a VirtualSwitch port.
   */
  readonly nic: FrameEndpoint = {
    send: (frame) => {
      if (this.emulator) internals(this.emulator).bus.send('net0-receive', frame);
    },
    onFrame: this.nicEmitter.event,
  };

  // v86 drops virtio-console input when the guest has no receive buffer posted: pace the writes.
  private readonly agentWriter = this.disposables.add(new PacedWriter({
    canAccept: () => this.agentCanReceive(),
    send: (chunk) => {
      if (this.emulator) internals(this.emulator).bus.send('virtio-console0-input-bytes', chunk);
    },
  }));

  private pendingOutput: number[] = [];
  private flushQueued = false;
  private readonly watcher = new ConsoleWatcher();
  private lastStats = { at: 0, instructions: 0 };

  constructor(private readonly options: EmulatedHostOptions) {
    this.name = options.name;
  }

  private get nicOptions(): NicOptions {
    return this.options.nic ?? DEFAULT_NIC;
  }

  get state(): HostState {
    return this.currentState;
  }

  async boot(): Promise<BootResult> {
    if (this.currentState !== 'created') throw new Error(`host ${this.name} is ${this.currentState}, cannot boot`);
    const started = performance.now();
    const progress = (p: Omit<BootProgress, 'elapsedMs'>) =>
      this.progressEmitter.fire({ ...p, elapsedMs: performance.now() - started });
    this.setState('booting');
    try {
      progress({ phase: 'fetch', loadedBytes: 0 });
      const manifestLoaded = this.options.loadManifest();
      // Both ways need the BIOS (128 KB): read it while the state loads.
      const biosLoaded = manifestLoaded.then((manifest) => readArtifact(manifest.bios, this.options.readFile));
      biosLoaded.catch(() => undefined); // awaited below; a failure is reported there
      const [manifest, state] = await Promise.all([manifestLoaded, this.loadUsableState()]);
      let stateProblem: string | undefined;
      if (state) {
        progress({ phase: 'restore' });
        const restored = await this.restoreFrom(manifest, biosLoaded, state).then(() => true, (err: unknown) => {
          stateProblem = err instanceof Error ? err.message : String(err);
          this.options.log?.(`host ${this.name}: booting, not restoring the saved state: ${stateProblem}`);
          return false;
        });
        if (restored) {
          progress({ phase: 'ready' });
          this.setState('running');
          return { bootMs: performance.now() - started, guestUptimeS: state.manifest.guest_uptime_s, fromState: true };
        }
        await this.destroyEmulator();
      }
      const read = (file: string) => (file === manifest.bios.file ? biosLoaded : this.options.readFile(file));
      const images = await loadGuestImages(manifest, read, (p) => progress({ phase: 'fetch', ...p }));
      const banner = this.watcher.waitFor(INIT_BANNER);
      this.emulator = this.createEmulator(images, true);
      progress({ phase: 'kernel' });
      const result = await this.withTimeout((async () => {
        const match = await banner;
        progress({ phase: 'init' });
        await this.watcher.waitForSeen(PROMPT);
        return { bootMs: performance.now() - started, guestUptimeS: Number(match[2]), fromState: false, stateProblem };
      })());
      progress({ phase: 'ready' });
      this.setState('running');
      return result;
    } catch (err) {
      this.setState('failed');
      await this.destroyEmulator();
      throw err;
    }
  }

  /** The saved state, when there is one and it fits this host; logs why it does not. */
  private async loadUsableState(): Promise<SavedState | undefined> {
    if (!this.options.loadState) return undefined;
    try {
      return await this.options.loadState();
    } catch (err) {
      this.options.log?.(`host ${this.name}: booting, the saved state did not load: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /** Builds the emulator stopped, restores the state into it and lets it run. */
  private async restoreFrom(manifest: GuestManifest, bios: Promise<ArrayBuffer>, state: SavedState): Promise<void> {
    const wanted = stateOriginFor(manifest, this.options.memoryMb ?? manifest.memory_mb, this.nicOptions);
    const mismatch = stateMismatch(state.manifest, wanted);
    if (mismatch) throw new Error(`the saved state is stale: ${mismatch}`);
    // No kernel or initramfs: the state's RAM holds the booted guest. The BIOS stays, as v86 maps
    // it at the top of the address space only when given one.
    const emulator = this.createEmulator({ manifest, bios: await bios }, false);
    this.emulator = emulator;
    await this.withTimeout(new Promise<void>((resolve) => emulator.add_listener('emulator-loaded', () => resolve())));
    // Bytes queued for a guest that never ran mean nothing to the restored one.
    this.agentWriter.clear();
    await emulator.restore_state(state.data);
    await emulator.run();
  }

  writeConsole(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.requireEmulator().serial_send_bytes(0, bytes);
  }

  writeAgent(data: Uint8Array): void {
    this.requireEmulator();
    this.agentWriter.write(data);
  }

  async stats(): Promise<HostStats> {
    const instructions = this.requireEmulator().get_instruction_counter();
    const now = performance.now();
    const seconds = (now - this.lastStats.at) / 1000;
    const mips = this.lastStats.at && seconds > 0 ? (instructions - this.lastStats.instructions) / seconds / 1e6 : 0;
    this.lastStats = { at: now, instructions };
    return { instructions, mips };
  }

  async saveState(): Promise<ArrayBuffer> {
    return this.requireEmulator().save_state();
  }

  async restoreState(state: ArrayBuffer): Promise<void> {
    // Bytes queued for the old guest mean nothing to the restored one.
    this.agentWriter.clear();
    await this.requireEmulator().restore_state(state);
    this.setState('running');
  }

  async shutdown(): Promise<void> {
    await this.destroyEmulator();
    if (this.currentState !== 'failed') this.setState('stopped');
  }

  dispose(): void {
    void this.shutdown();
    this.disposables.dispose();
  }

  private createEmulator(images: Pick<GuestImages, 'manifest' | 'bios'> & Partial<GuestImages>, autostart: boolean): V86 {
    const { manifest } = images;
    const emulator = new V86({
      wasm_fn: this.options.wasm,
      memory_size: (this.options.memoryMb ?? manifest.memory_mb) * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      bios: { buffer: images.bios },
      bzimage: images.kernel && { buffer: images.kernel },
      initrd: images.initrd && { buffer: images.initrd },
      cmdline: manifest.cmdline,
      autostart,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
      // /dev/hvc0 in the guest, the agent's channel (docs/agent-protocol.md). v86 reads this as it
      // reads `true`: the device without a page adapter; its typings accept only this spelling.
      virtio_console: { type: 'none' },
      // No relay_url: v86 attaches no network adapter and the frames are ours (net0-send/-receive).
      net_device: { type: this.nicOptions.type, mtu: this.nicOptions.mtu },
    } as V86Options);
    const copyFrames = this.nicOptions.type === 'ne2k';
    emulator.add_listener('net0-send', (frame: Uint8Array) => {
      // ne2k hands out a view into the card's RAM; virtio a fresh buffer of its own.
      this.nicEmitter.fire(copyFrames ? frame.slice() : frame);
    });
    // v86 reports console output one byte per event; hand it on in chunks, once per emulator slice.
    emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.pendingOutput.push(byte);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flushOutput());
      }
    });
    emulator.add_listener('virtio-console0-output-bytes', (bytes: Uint8Array) => {
      // Copied: listeners may keep or transfer it, and the array belongs to v86.
      this.agentEmitter.fire(bytes.slice());
    });
    // Before the guest runs: a cold boot starts at this event, a restore after it.
    emulator.add_listener('emulator-loaded', () => {
      internals(emulator).v86?.cpu?.set_jit_config?.(1, JIT_PAGES_PER_MODULE);
    });
    return emulator;
  }

  /** True while the guest's agent port has a receive buffer posted, so input will not be dropped. */
  private agentCanReceive(): boolean {
    if (!this.emulator) return false;
    const queue = internals(this.emulator).v86?.cpu?.devices?.virtio_console?.virtio?.queues?.[0];
    return Boolean(queue?.is_configured()) && queue!.has_request();
  }

  private flushOutput(): void {
    this.flushQueued = false;
    const chunk = Uint8Array.from(this.pendingOutput);
    this.pendingOutput = [];
    this.watcher.push(chunk);
    this.consoleEmitter.fire(chunk);
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    const ms = this.options.bootTimeoutMs ?? 60_000;
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`host ${this.name}: no shell prompt within ${ms} ms`)), ms);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private requireEmulator(): V86 {
    if (!this.emulator) throw new Error(`host ${this.name} is ${this.currentState}`);
    return this.emulator;
  }

  private async destroyEmulator(): Promise<void> {
    const emulator = this.emulator;
    this.emulator = undefined;
    this.agentWriter.clear();
    if (emulator) await emulator.destroy();
  }

  private setState(state: HostState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }
}

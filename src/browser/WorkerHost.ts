import { Emitter, DisposableStore } from '../common/util/Emitter';
import type { BootProgress, BootResult, Host, HostState, HostStats } from '../common/host/Host';
import type { HostWorkerReply, HostWorkerRequest } from '../common/host/hostWorkerProtocol';
import type { NicOptions } from '../common/host/EmulatedHost';
import type { MessagePortLike } from '../common/network/PortEndpoint';
import type { SharedGuestFiles } from './sharedGuestFiles';

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };
type RequestBody = HostWorkerRequest<WebAssembly.Module> extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

/** A Host whose emulator runs in its own Web Worker; this side only relays messages. */
export class WorkerHost implements Host {
  private readonly worker = new Worker(new URL('./hostWorker.ts', import.meta.url), { type: 'module' });
  private readonly disposables = new DisposableStore();
  private readonly stateEmitter = this.disposables.add(new Emitter<HostState>());
  private readonly progressEmitter = this.disposables.add(new Emitter<BootProgress>());
  private readonly consoleEmitter = this.disposables.add(new Emitter<Uint8Array>());
  private readonly agentEmitter = this.disposables.add(new Emitter<Uint8Array>());
  readonly onStateChange = this.stateEmitter.event;
  readonly onProgress = this.progressEmitter.event;
  readonly onConsoleOutput = this.consoleEmitter.event;
  readonly onAgentData = this.agentEmitter.event;
  private currentState: HostState = 'created';
  private pending = new Map<number, Pending>();
  private nextId = 1;
  /** A boot started by prestart() that no one has asked for yet. */
  private early: Promise<BootResult> | undefined;
  /** What the worker reported before boot(): kept for the owner, who listens only from then on. */
  private held: HostWorkerReply[] | undefined;

  constructor(
    private hostName: string,
    private readonly imagesUrl: string,
    /** The tab's manifest, saved state and compiled wasm, fetched once for all of its hosts. */
    private readonly files: Promise<SharedGuestFiles>,
    private readonly options: { memoryMb?: number; nic?: NicOptions } = {},
  ) {
    this.worker.onmessage = (event: MessageEvent<HostWorkerReply>) => this.receive(event.data);
    this.worker.onerror = (event) => this.failAll(new Error(`host ${this.hostName} worker: ${event.message}`));
  }

  get name(): string {
    return this.hostName;
  }

  /** Names a pre-started host once its owner knows the name (its messages use it from then on). */
  rename(name: string): void {
    this.hostName = name;
    this.worker.postMessage({ type: 'name', name } satisfies HostWorkerRequest);
  }

  get state(): HostState {
    return this.currentState;
  }

  /**
   * Starts booting now, before the host has an owner (or its final name): the owner's boot() call
   * gets this boot, and the events that came before it, in order.
   */
  prestart(): void {
    if (this.early) return;
    this.held = [];
    this.early = this.startBoot();
    this.early.catch(() => undefined); // reported to the owner by boot()
  }

  boot(): Promise<BootResult> {
    const early = this.early;
    if (!early) return this.startBoot();
    this.early = undefined;
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) this.receive(message);
    return early;
  }

  private async startBoot(): Promise<BootResult> {
    const files = await this.files;
    return this.request({
      type: 'boot', name: this.name, imagesUrl: this.imagesUrl, files, memoryMb: this.options.memoryMb, nic: this.options.nic,
    }) as Promise<BootResult>;
  }

  writeConsole(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.worker.postMessage({ type: 'console', data: bytes } satisfies HostWorkerRequest);
  }

  writeAgent(data: Uint8Array): void {
    // A copy of exactly these bytes, so transferring it neither detaches the caller's buffer nor
    // clones a larger one the view may sit in.
    const bytes = data.slice();
    this.worker.postMessage({ type: 'agent', data: bytes } satisfies HostWorkerRequest, [bytes.buffer]);
  }

  /** Links the host's NIC to a switch port: the other end of `port` belongs to the network worker. */
  connectNic(port: MessagePort): void {
    // A DOM MessagePort is a MessagePortLike; only its onmessage typing (with `this`) differs.
    this.worker.postMessage({ type: 'nic', port: port as unknown as MessagePortLike } satisfies HostWorkerRequest, [port]);
  }

  stats(): Promise<HostStats> {
    return this.request({ type: 'stats' }) as Promise<HostStats>;
  }

  saveState(): Promise<ArrayBuffer> {
    return this.request({ type: 'saveState' }) as Promise<ArrayBuffer>;
  }

  async restoreState(state: ArrayBuffer): Promise<void> {
    await this.request({ type: 'restoreState', state }, [state]);
  }

  async shutdown(): Promise<void> {
    try {
      await this.request({ type: 'shutdown' });
    } finally {
      this.worker.terminate();
      this.failAll(new Error(`host ${this.name} was shut down`));
    }
  }

  dispose(): void {
    this.worker.terminate();
    this.failAll(new Error(`host ${this.name} was disposed`));
    this.disposables.dispose();
  }

  private request(body: RequestBody, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  private receive(message: HostWorkerReply): void {
    if (this.held && message.type !== 'reply') {
      this.held.push(message);
      return;
    }
    switch (message.type) {
      case 'reply': {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) pending?.resolve(message.value);
        else pending?.reject(new Error(message.error));
        break;
      }
      case 'state':
        this.currentState = message.state;
        this.stateEmitter.fire(message.state);
        break;
      case 'progress':
        this.progressEmitter.fire(message.progress);
        break;
      case 'console':
        this.consoleEmitter.fire(message.data);
        break;
      case 'agent':
        this.agentEmitter.fire(message.data);
        break;
    }
  }

  private failAll(err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}

import { Emitter, DisposableStore } from '../common/util/Emitter';
import type { BootProgress, BootResult, Host, HostState, HostStats } from '../common/host/Host';
import type { HostWorkerReply, HostWorkerRequest } from '../common/host/hostWorkerProtocol';
import type { NicOptions } from '../common/host/EmulatedHost';
import type { MessagePortLike } from '../common/network/PortEndpoint';

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };
type RequestBody = HostWorkerRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

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

  constructor(
    readonly name: string,
    private readonly imagesUrl: string,
    private readonly options: { memoryMb?: number; nic?: NicOptions } = {},
  ) {
    this.worker.onmessage = (event: MessageEvent<HostWorkerReply>) => this.receive(event.data);
    this.worker.onerror = (event) => this.failAll(new Error(`host ${name} worker: ${event.message}`));
  }

  get state(): HostState {
    return this.currentState;
  }

  boot(): Promise<BootResult> {
    return this.request({ type: 'boot', name: this.name, imagesUrl: this.imagesUrl, memoryMb: this.options.memoryMb, nic: this.options.nic }) as Promise<BootResult>;
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

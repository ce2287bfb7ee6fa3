// The parent side of hostThread.ts: a host in a Node worker thread (benchmarks and tests: hosts in
// separate threads, as in the browser), with its console, its agent channel and its NIC's port.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Emitter } from '../common/util/Emitter';
import type { BootResult, Host, HostStats } from '../common/host/Host';
import type { NicOptions } from '../common/host/EmulatedHost';
import type { MessagePortLike } from '../common/network/PortEndpoint';

/** What ThreadHost offers of the Host interface: enough for ConsoleShell and AgentClient. */
export type ThreadHostLike = Pick<Host, 'name' | 'onConsoleOutput' | 'onAgentData' | 'writeConsole' | 'writeAgent' | 'boot' | 'shutdown' | 'stats'>;

/**
 * Starts a worker on a module of this source tree. Node's worker threads do not inherit the loader
 * hooks tsx installed in this thread (and refuse `--import tsx` in execArgv), so when the module is
 * TypeScript the worker first registers tsx itself, then imports it.
 */
export function startTsWorker(url: URL, options: ConstructorParameters<typeof Worker>[1] = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/** A worker_threads MessagePort in the shape PortEndpoint takes (it delivers via `on('message')`). */
export function portLike(port: MessagePort): MessagePortLike {
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer as never),
    set onmessage(handler: MessagePortLike['onmessage']) {
      port.removeAllListeners('message');
      if (handler) port.on('message', (data: unknown) => handler({ data }));
    },
    get onmessage(): MessagePortLike['onmessage'] { return null; },
    close: () => port.close(),
  };
}

export class ThreadHost implements ThreadHostLike {
  private readonly worker: Worker;
  private readonly consoleEmitter = new Emitter<Uint8Array>();
  private readonly agentEmitter = new Emitter<Uint8Array>();
  readonly onConsoleOutput = this.consoleEmitter.event;
  readonly onAgentData = this.agentEmitter.event;
  /** The other end of the host's NIC link: attach it to a switch (wrapped in a PortEndpoint). */
  readonly nicPort: MessagePort;

  constructor(readonly name: string, nic: NicOptions) {
    const channel = new MessageChannel();
    this.nicPort = channel.port2;
    this.worker = startTsWorker(new URL('./hostThread.ts', import.meta.url), {
      workerData: { name, nic, nicPort: channel.port1 },
      transferList: [channel.port1],
    });
    this.worker.on('message', (m: { type: string; data?: Uint8Array }) => {
      if (m.type === 'console') this.consoleEmitter.fire(m.data!);
      if (m.type === 'agent') this.agentEmitter.fire(m.data!);
    });
  }

  boot(): Promise<BootResult> {
    return this.request('boot', 'booted').then((m) => {
      const reply = m as { result?: BootResult; error?: string };
      if (reply.error) throw new Error(reply.error);
      return reply.result!;
    });
  }

  writeConsole(data: string | Uint8Array): void {
    this.worker.postMessage({ type: 'console', data: typeof data === 'string' ? new TextEncoder().encode(data) : data });
  }

  writeAgent(data: Uint8Array): void {
    this.worker.postMessage({ type: 'agent', data });
  }

  /** The guest's instruction counter (benchmarks: the work a migration's frozen window took). */
  stats(): Promise<HostStats> {
    return this.request('stats', 'stats').then((m) => (m as { result: HostStats }).result);
  }

  async shutdown(): Promise<void> {
    await this.request('shutdown', 'down');
    await this.worker.terminate();
  }

  private request(type: string, answer: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== answer) return;
        this.worker.off('message', onMessage);
        this.worker.off('error', reject);
        resolve(m);
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
      this.worker.postMessage({ type });
    });
  }
}

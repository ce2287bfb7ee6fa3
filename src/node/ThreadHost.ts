// The parent side of hostThread.ts: enough of a Host for ConsoleShell, plus the NIC's port.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Emitter } from '../common/util/Emitter';
import type { BootResult } from '../common/host/Host';
import type { NicOptions } from '../common/host/EmulatedHost';

export class ThreadHost {
  private readonly worker: Worker;
  private readonly consoleEmitter = new Emitter<Uint8Array>();
  readonly onConsoleOutput = this.consoleEmitter.event;
  /** The other end of the host's NIC link: attach it to a switch (wrapped in a PortEndpoint). */
  readonly nicPort: MessagePort;

  constructor(readonly name: string, nic: NicOptions) {
    const channel = new MessageChannel();
    this.nicPort = channel.port2;
    this.worker = new Worker(new URL('./hostThread.ts', import.meta.url), {
      workerData: { name, nic, nicPort: channel.port1 },
      transferList: [channel.port1],
    });
    this.worker.on('message', (m: { type: string; data?: Uint8Array }) => {
      if (m.type === 'console') this.consoleEmitter.fire(m.data!);
    });
  }

  boot(): Promise<BootResult> {
    return this.request('boot', 'booted').then((m) => (m as { result: BootResult }).result);
  }

  writeConsole(data: string | Uint8Array): void {
    this.worker.postMessage({ type: 'console', data: typeof data === 'string' ? new TextEncoder().encode(data) : data });
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
        resolve(m);
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
      this.worker.postMessage({ type });
    });
  }
}

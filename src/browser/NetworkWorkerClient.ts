import { Emitter, DisposableStore } from '../common/util/Emitter';
import type { NetworkControl } from '../common/network/LocalNetwork';
import type { MessagePortLike } from '../common/network/PortEndpoint';
import type { ClusterMember } from '../common/network/TabLink';
import { BACKPLANE_CHANNEL, type NetworkWorkerReply, type NetworkWorkerRequest } from '../common/network/networkWorkerProtocol';
import type { ClusterHost, LinkFault, PortInfo } from '../common/network/types';

type CallBody = Extract<NetworkWorkerRequest, { type: 'call' }> extends infer R
  ? R extends { id: number } ? Omit<R, 'id' | 'type'> : never : never;

/** The page's handle on the network worker, which runs the switch and the link to other tabs. */
export class NetworkWorkerClient implements NetworkControl {
  private readonly worker = new Worker(new URL('./networkWorker.ts', import.meta.url), { type: 'module' });
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  readonly onChange = this.changeEmitter.event;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private knownTabId: string | undefined;

  constructor() {
    this.worker.onmessage = (event: MessageEvent<NetworkWorkerReply>) => {
      const message = event.data;
      if (message.type === 'changed') {
        this.changeEmitter.fire();
        return;
      }
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(new Error(message.error));
    };
  }

  /** A new link for a host's NIC: keep one end for the host worker, the other goes to the switch. */
  attachHost(name: string): MessagePort {
    const channel = new MessageChannel();
    const port = channel.port1 as unknown as MessagePortLike;
    this.worker.postMessage({ type: 'attach', name, port } satisfies NetworkWorkerRequest, [channel.port1]);
    return channel.port2;
  }

  detachHost(name: string): void {
    this.worker.postMessage({ type: 'detach', name } satisfies NetworkWorkerRequest);
  }

  async tabId(): Promise<string> {
    this.knownTabId ??= (await this.call({ method: 'tabId' })) as string;
    return this.knownTabId;
  }

  ports(): Promise<PortInfo[]> {
    return this.call({ method: 'ports' }) as Promise<PortInfo[]>;
  }

  async setFault(portId: number, fault: Partial<LinkFault>): Promise<void> {
    await this.call({ method: 'setFault', portId, fault });
  }

  claimNodes(count: number): Promise<number[]> {
    return this.call({ method: 'claimNodes', count }) as Promise<number[]>;
  }

  members(): Promise<ClusterMember[]> {
    return this.call({ method: 'members' }) as Promise<ClusterMember[]>;
  }

  migrateKey(): Promise<string> {
    return this.call({ method: 'migrateKey' }) as Promise<string>;
  }

  malformedCount(): Promise<number> {
    return this.call({ method: 'malformedCount' }) as Promise<number>;
  }

  announce(hosts: ClusterHost[], containerIps: string[]): void {
    this.worker.postMessage({ type: 'announce', hosts, containerIps } satisfies NetworkWorkerRequest);
  }

  dispose(): void {
    // The other tabs should see this one gone at once, not after the 3 s heartbeat timeout. A page
    // that is unloading may not give its workers time to run, so say goodbye from here too.
    if (this.knownTabId) {
      const channel = new BroadcastChannel(BACKPLANE_CHANNEL);
      channel.postMessage({ v: 1, type: 'bye', from: this.knownTabId });
      channel.close();
    }
    this.worker.postMessage({ type: 'dispose' } satisfies NetworkWorkerRequest);
    for (const p of this.pending.values()) p.reject(new Error('the network worker was stopped'));
    this.pending.clear();
    this.disposables.dispose();
  }

  private call(body: CallBody): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'call', id, ...body } as NetworkWorkerRequest);
    });
  }
}

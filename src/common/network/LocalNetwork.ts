import { Emitter, DisposableStore, type Disposable, type Event } from '../util/Emitter';
import { TabLink, type BroadcastChannelLike, type ClusterMember, type TabLinkOptions } from './TabLink';
import { randomMigrateKey } from './migrateKey';
import { VirtualSwitch, type SwitchPort } from './VirtualSwitch';
import type { ClusterHost, FrameEndpoint, LinkFault, PortInfo } from './types';

/**
 * The network as the cluster layer sees it. LocalNetwork implements it in this thread (Node, or
 * the browser's network worker); NetworkWorkerClient proxies it from the page to that worker.
 */
export interface NetworkControl extends Disposable {
  readonly onChange: Event<void>;
  tabId(): Promise<string>;
  ports(): Promise<PortInfo[]>;
  setFault(portId: number, fault: Partial<LinkFault>): Promise<void>;
  claimNodes(count: number): Promise<number[]>;
  members(): Promise<ClusterMember[]>;
  /** The cluster's migration key, for every host's host_configure; onChange fires when it changes. */
  migrateKey(): Promise<string>;
  /** Malformed messages from other tabs that were dropped. */
  malformedCount(): Promise<number>;
  /** This tab's hosts and container IPs, as the other tabs should see them. */
  announce(hosts: ClusterHost[], containerIps: string[]): void;
}

/** This tab's switch, joined to the other tabs' switches when given a BroadcastChannel. */
export class LocalNetwork implements NetworkControl {
  readonly switch = new VirtualSwitch();
  readonly tabLink: TabLink | undefined;
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  readonly onChange = this.changeEmitter.event;
  private readonly hostPorts = new Map<string, SwitchPort>();
  /** Node numbers handed out when there is no TabLink to agree on them. */
  private readonly claimedAlone = new Set<number>();
  /** The key when there is no TabLink: this tab is the whole cluster. */
  private readonly keyAlone = randomMigrateKey();

  constructor(channel?: BroadcastChannelLike, tabOptions?: TabLinkOptions) {
    this.disposables.add(this.switch);
    this.disposables.add(this.switch.onChange(() => this.changeEmitter.fire()));
    if (channel) {
      const link = new TabLink(channel, tabOptions);
      this.tabLink = this.disposables.add(link);
      this.disposables.add(link.onMembersChanged(() => this.changeEmitter.fire()));
      this.disposables.add(link.onMigrateKeyChanged(() => this.changeEmitter.fire()));
      this.switch.attach('other tabs', link.endpoint, 'tabs');
    }
  }

  /** Plugs a host's NIC into a new switch port named after the host. */
  attachHost(name: string, nic: FrameEndpoint): void {
    this.hostPorts.get(name)?.dispose();
    this.hostPorts.set(name, this.switch.attach(name, nic, 'host'));
  }

  detachHost(name: string): void {
    this.hostPorts.get(name)?.dispose();
    this.hostPorts.delete(name);
  }

  async tabId(): Promise<string> {
    return this.tabLink?.tabId ?? 'local';
  }

  async ports(): Promise<PortInfo[]> {
    return this.switch.ports();
  }

  async setFault(portId: number, fault: Partial<LinkFault>): Promise<void> {
    this.switch.setFault(portId, fault);
  }

  async claimNodes(count: number): Promise<number[]> {
    if (this.tabLink) return this.tabLink.claimNodes(count);
    // Alone (no other tabs): the first free numbers.
    const nodes: number[] = [];
    for (let n = 1; nodes.length < count; n++) {
      if (!this.claimedAlone.has(n)) {
        this.claimedAlone.add(n);
        nodes.push(n);
      }
    }
    return nodes;
  }

  async members(): Promise<ClusterMember[]> {
    return this.tabLink?.members() ?? [];
  }

  async migrateKey(): Promise<string> {
    return this.tabLink?.migrateKey ?? this.keyAlone;
  }

  async malformedCount(): Promise<number> {
    return this.tabLink?.malformedCount ?? 0;
  }

  announce(hosts: ClusterHost[], containerIps: string[]): void {
    this.tabLink?.setHosts(hosts);
    this.tabLink?.setContainerIps(containerIps);
  }

  dispose(): void {
    for (const port of this.hostPorts.values()) port.dispose();
    this.hostPorts.clear();
    this.disposables.dispose();
  }
}

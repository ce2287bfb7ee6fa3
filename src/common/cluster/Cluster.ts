// Layer 5: what spans hosts. The hosts of this tab (each with its agent), their identities on the
// backplane, the containers on them, and container IPs allocated without collisions cluster-wide.
import { AgentClient, AgentError, hostAgentChannel } from '../agent/AgentClient';
import type { ContainerInfo, ContainerStats, CreateArgs, MigrateReport } from '../agent/protocol';
import type { BootProgress, BootResult, Host, HostState } from '../host/Host';
import { allocateContainerIp } from '../network/IpAllocator';
import type { NetworkControl } from '../network/LocalNetwork';
import { hostForNode } from '../network/TabLink';
import type { ClusterHost } from '../network/types';
import { DisposableStore, Emitter, type Disposable } from '../util/Emitter';
import { settleMigration } from './settleMigration';

/** Starts a host for an identity and plugs its NIC into the network (environment-specific). */
export type HostLauncher = (identity: ClusterHost) => Host;

/** One stats sample per container, as the agent reports every 2 s; kept for the graphs. */
export interface StatsSample extends ContainerStats {
  at: number;
}

const STATS_HISTORY = 90;

/** A host of this tab: its emulator, its agent and what it runs. */
export class ClusterNode implements Disposable {
  readonly agent: AgentClient;
  state: HostState = 'created';
  progress: BootProgress | undefined;
  boot: BootResult | undefined;
  error: string | undefined;
  /**
   * True once host_configure gave the running guest its identity (hostname, MAC, backplane
   * address): only then may containers be created or driven. Cleared when the host stops running.
   */
  configured = false;
  /** The migration key the guest was last given (host_configure's migrate_key). */
  private configuredKey: string | undefined;
  private configuring: Promise<void> | undefined;
  containers: ContainerInfo[] = [];
  readonly stats = new Map<string, StatsSample[]>();
  private readonly disposables = new DisposableStore();

  /** @param migrateKey the cluster's migration key now (it may change while the node runs) */
  constructor(readonly identity: ClusterHost, readonly host: Host, private readonly changed: () => void,
    private readonly migrateKey: () => Promise<string>) {
    this.agent = this.disposables.add(new AgentClient(hostAgentChannel(host)));
    this.disposables.add(host.onStateChange((state) => {
      this.state = state;
      if (state !== 'running') this.configured = false;
      changed();
    }));
    this.disposables.add(host.onProgress((progress) => { this.progress = progress; changed(); }));
    this.disposables.add(this.agent.onStateChange(() => void this.refresh()));
    this.disposables.add(this.agent.onStats((event) => {
      const at = Date.now();
      for (const sample of event.containers) {
        const history = this.stats.get(sample.name) ?? [];
        history.push({ ...sample, at });
        if (history.length > STATS_HISTORY) history.shift();
        this.stats.set(sample.name, history);
      }
      changed();
      // A copy frozen or thawed (a migration's arrival held until its commit, one in doubt, one
      // settled) sends no state event: the stats say so, and the list is read again.
      if (event.containers.some((s) => { const c = this.containers.find((k) => k.name === s.name); return c && c.frozen !== s.frozen; }))
        void this.refresh();
    }));
  }

  get name(): string {
    return this.identity.name;
  }

  /** Running with its identity: container actions may go ahead. */
  get ready(): boolean {
    return this.state === 'running' && this.configured;
  }

  /** Boots the host and gives it its identity; errors end up in `error`, not thrown. */
  async start(): Promise<void> {
    try {
      this.boot = await this.host.boot();
      await this.agent.ready();
      await this.configure();
      // A host restored from the saved state wakes at the time of the save; a booted one set its
      // clock from the emulated RTC, to the second: both take this machine's time.
      await this.agent.setTime();
      // The console of a restored host starts blank (the boot printed its prompt before the save):
      // an empty line makes the shell print it again, with the host's new name.
      if (this.boot.fromState) this.host.writeConsole('\n');
      this.configured = true;
      await this.refresh();
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      this.changed();
    }
  }

  /**
   * Gives the guest its identity and the cluster's migration key; again while the key changed
   * meanwhile (another tab's older key arrived), so the guest ends with the current one.
   */
  private configure(): Promise<void> {
    this.configuring ??= (async () => {
      try {
        for (;;) {
          const key = await this.migrateKey();
          if (key === this.configuredKey) return;
          await this.agent.configureHost({ hostname: this.identity.name, mac: this.identity.mac, address: this.identity.address },
            { migrateKey: key });
          this.configuredKey = key;
        }
      } finally {
        this.configuring = undefined;
      }
    })();
    return this.configuring;
  }

  /** Hands the guest the cluster's migration key `key` if it has another one. */
  async updateMigrateKey(key: string): Promise<void> {
    // Not configured yet: start() gives it the key. Being configured: that run ends with the current key.
    if (!this.configured || this.configuring || key === this.configuredKey) return;
    try {
      await this.configure();
    } catch (err) {
      this.error = `could not give the host the cluster's migration key: ${err instanceof Error ? err.message : String(err)}`;
      this.changed();
    }
  }

  /** Re-reads the container list from the agent. */
  async refresh(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      this.containers = (await this.agent.list()).sort((a, b) => a.name.localeCompare(b.name));
      for (const name of this.stats.keys()) if (!this.containers.some((c) => c.name === name)) this.stats.delete(name);
    } catch {
      // The agent is restarting or the host is going away: the next event refreshes again.
    }
    this.changed();
  }

  dispose(): void {
    this.disposables.dispose();
    void this.host.shutdown().catch(() => undefined);
    this.host.dispose();
  }
}

export class Cluster implements Disposable {
  readonly nodes: ClusterNode[] = [];
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  readonly onChange = this.changeEmitter.event;
  private remote: ClusterHost[] = [];
  private remoteIps: string[] = [];

  /** The cluster owns `network`: disposing the cluster disposes it. */
  constructor(readonly network: NetworkControl, private readonly launch: HostLauncher) {
    this.disposables.add(network);
    this.disposables.add(network.onChange(() => void this.refreshMembers()));
  }

  /** Hosts of other tabs, as their tabs announce them. */
  get remoteHosts(): readonly ClusterHost[] {
    return this.remote;
  }

  /** Claims node numbers cluster-wide, then boots that many hosts in parallel. */
  async addHosts(count: number): Promise<ClusterNode[]> {
    // Together: the claim waits out other tabs for ~0.6 s, and should not also wait for a reply.
    const [tab, numbers] = await Promise.all([this.network.tabId(), this.network.claimNodes(count)]);
    const added = numbers.map((n) => {
      const identity = hostForNode(n, tab);
      const node = new ClusterNode(identity, this.launch(identity), () => this.changed(), () => this.network.migrateKey());
      this.nodes.push(node);
      return node;
    });
    this.changed();
    await Promise.all(added.map((node) => node.start()));
    return added;
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no host named ${name} in this tab`);
    return node;
  }

  /** Every container IP in use anywhere in the cluster, as far as this tab knows. */
  usedIps(): Set<string> {
    const ips = new Set(this.remoteIps);
    for (const node of this.nodes) for (const c of node.containers) if (c.ip) ips.add(c.ip);
    return ips;
  }

  /** Creates a container on a host of this tab; without an ip, one is allocated from the host's block. */
  async createContainer(nodeName: string, args: CreateArgs): Promise<ContainerInfo> {
    const node = this.node(nodeName);
    if (!node.ready) throw new Error(`host ${nodeName} is not ready yet (${node.state === 'running' ? 'configuring its identity' : node.state})`);
    const number = Number(node.name.replace(/^node/, ''));
    const ip = args.ip ?? allocateContainerIp(number, this.usedIps());
    const info = await node.agent.create({ ...args, ip });
    await node.refresh();
    return info;
  }

  /** Every host of the cluster other than `nodeName`: this tab's, then other tabs', by name. */
  migrationTargets(nodeName: string): ClusterHost[] {
    const all = [...this.nodes.map((n) => n.identity), ...this.remote];
    return all.filter((h) => h.name !== nodeName).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  /**
   * Live-migrates running container `name` from a host of this tab to host `destName` (of this tab
   * or another), through the source agent's migrate op to the destination's backplane address.
   * Both lists follow: the source's agent reports the container destroyed, the destination's sees
   * it start; this tab's hosts are refreshed here as well, whatever the outcome.
   */
  async migrateContainer(nodeName: string, name: string, destName: string,
    options: { onProgress?: (phase: string) => void } = {}): Promise<MigrateReport> {
    const source = this.node(nodeName);
    if (!source.ready) throw new Error(`host ${nodeName} is not ready yet`);
    const dest = this.migrationTargets(nodeName).find((h) => h.name === destName);
    if (!dest) throw new Error(destName === nodeName ? `${name} is already on ${nodeName}` : `no host named ${destName} in the cluster`);
    const local = this.nodes.find((n) => n.name === destName);
    if (local && !local.ready) throw new Error(`host ${destName} is not ready yet`);
    const address = dest.address.replace(/\/\d+$/, '');
    try {
      return await source.agent.migrate(name, address, { onProgress: options.onProgress });
    } catch (err) {
      if (!(err instanceof AgentError && err.code === 'in_doubt')) throw err;
      options.onProgress?.('in doubt: settling');
      throw await settleMigration(source.agent, name, destName, address, {
        destPresent: () => this.migrationTargets(nodeName).some((h) => h.name === destName),
      });
    } finally {
      await Promise.all([source.refresh(), local?.refresh()]);
    }
  }

  dispose(): void {
    for (const node of this.nodes) node.dispose();
    this.nodes.length = 0;
    this.disposables.dispose();
  }

  private changed(): void {
    this.network.announce(this.nodes.map((n) => n.identity), [...this.localIps()]);
    this.changeEmitter.fire();
  }

  private *localIps(): Iterable<string> {
    for (const node of this.nodes) for (const c of node.containers) if (c.ip) yield c.ip;
  }

  private async refreshMembers(): Promise<void> {
    const [tab, members, key] = await Promise.all([this.network.tabId(), this.network.members(), this.network.migrateKey()]);
    const others = members.filter((m) => m.tab !== tab);
    this.remote = others.flatMap((m) => m.hosts);
    this.remoteIps = others.flatMap((m) => m.containerIps);
    // The key may have changed too (this tab adopted an older tab's).
    for (const node of this.nodes) void node.updateMigrateKey(key);
    this.changeEmitter.fire();
  }
}

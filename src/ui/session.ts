// What the panel holds beside the cluster: the container actions under way, each host's console
// log, and one change counter for React (useSyncExternalStore). No DOM: session.test.ts runs it.
import type { Cluster, ClusterNode } from '../common/cluster/Cluster';
import type { ContainerInfo, CreateArgs } from '../common/agent/protocol';
import { DisposableStore, Emitter, type Disposable } from '../common/util/Emitter';
import { ConsoleLog } from './consoleLog';
import { ContainerOps, errorMessage, type MigrationCluster, type OpsCluster } from './containerOps';
import { startPingProbe, type ProbeCluster } from './pingProbe';

/** What the session needs of a Cluster (a Cluster is one). */
export type SessionCluster = Pick<Cluster, 'nodes' | 'remoteHosts' | 'network' | 'onChange' | 'addHosts' | 'dispose'> & OpsCluster & MigrationCluster
  & ProbeCluster;

export class PanelSession implements Disposable {
  readonly ops = new ContainerOps();
  /** Set when adding this tab's hosts failed (no node numbers could be claimed, ...). */
  startError: string | undefined;
  private readonly consoles = new Map<ClusterNode['host'], ConsoleLog>();
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  private changes = 0;
  private disposed = false;

  constructor(readonly cluster: SessionCluster) {
    this.disposables.add(this.ops);
    // Console logs are attached on the change that announces a new node, which the cluster fires
    // before it boots the node's host: no console byte comes before its log listens.
    this.disposables.add(cluster.onChange(() => {
      for (const node of cluster.nodes) this.consoleOf(node);
      this.changed();
    }));
    this.disposables.add(this.ops.onChange(() => this.changed()));
  }

  /** Boots `count` hosts in this tab; a failure ends up in startError. */
  start(count: number): Promise<void> {
    return this.cluster.addHosts(count).then(
      () => undefined,
      (err: unknown) => {
        if (this.disposed) return;
        this.startError = errorMessage(err);
        this.changed();
      },
    );
  }

  /** For useSyncExternalStore: a number that changes whenever anything the panel shows may have. */
  readonly snapshot = (): number => this.changes;

  readonly subscribe = (listener: () => void): (() => void) => {
    const subscription = this.changeEmitter.event(listener);
    return () => subscription.dispose();
  };

  /** The console log of a node's host, kept since the node appeared. */
  consoleOf(node: Pick<ClusterNode, 'host'>): ConsoleLog {
    let log = this.consoles.get(node.host);
    if (!log) {
      log = new ConsoleLog(node.host);
      this.consoles.set(node.host, log);
    }
    return log;
  }

  /** Live-migrates a container, with a ping timeline when it has an IP (see ContainerOps.migrate). */
  migrate(from: string, name: string, to: string): Promise<boolean> {
    return this.ops.migrate(this.cluster, from, name, to, (request) => startPingProbe(this.cluster, request));
  }

  /** Creates and starts a container (see ContainerOps.create). */
  createContainer(nodeName: string, args: CreateArgs): Promise<ContainerInfo> {
    return this.ops.create(this.cluster, nodeName, args);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposables.dispose();
    for (const log of this.consoles.values()) log.dispose();
    this.consoles.clear();
    this.cluster.dispose();
  }

  private changed(): void {
    this.changes++;
    this.changeEmitter.fire();
  }
}

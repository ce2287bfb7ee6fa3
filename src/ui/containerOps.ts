// The panel's container actions over the cluster layer: which rows have an action under way, and
// the errors to show on them. Plain TypeScript (containerOps.test.ts drives it with fakes).
import { AgentError } from '../common/agent/AgentClient';
import type { ContainerInfo, CreateArgs, CrReport, MigrateReport, RestoreReport } from '../common/agent/protocol';
import type { ClusterHost } from '../common/network/types';
import { Emitter, type Disposable } from '../common/util/Emitter';
import { abortButton, abortedMessage, withRound, type MigrationAbort, type PrecopyRound } from './migration';
import type { MigrationWatch, WatchRequest } from './pingProbe';
import type { PingTimeline } from './pingTimeline';

export type ContainerAction = 'create' | 'start' | 'stop' | 'restart' | 'destroy' | 'checkpoint' | 'restore' | 'download' | 'migrate';
export type RowAction = 'start' | 'stop' | 'restart' | 'destroy';

/** What ContainerOps needs of a ClusterNode. */
export interface OpsNode {
  readonly name: string;
  readonly containers: readonly ContainerInfo[];
  readonly agent: {
    start(name: string): Promise<unknown>;
    stop(name: string): Promise<unknown>;
    restart(name: string): Promise<unknown>;
    destroy(name: string, options: { force?: boolean }): Promise<void>;
    checkpoint(name: string, options: { leaveRunning?: boolean; onProgress?: (phase: string) => void }): Promise<CrReport>;
    restore(name: string, imageId: string, options: { onProgress?: (phase: string) => void }): Promise<RestoreReport>;
    downloadImage(imageId: string): Promise<Uint8Array>;
    uploadImage(bytes: Uint8Array): Promise<string>;
    deleteImage(imageId: string): Promise<void>;
    /** Stops this host's migration of `name` before its commit (the migration then fails `aborted`). */
    migrateAbort?(name: string): Promise<void>;
  };
  refresh(): Promise<void>;
}

/** What ContainerOps needs of a Cluster. */
export interface OpsCluster {
  node(name: string): OpsNode;
  createContainer(nodeName: string, args: CreateArgs): Promise<ContainerInfo>;
}

/** What a migration needs of a Cluster. */
export interface MigrationCluster {
  /** Every other host a container of `nodeName` may move to (this tab's and other tabs'). */
  migrationTargets(nodeName: string): ClusterHost[];
  migrateContainer(nodeName: string, name: string, destName: string,
    options: { onProgress?: (phase: string) => void }): Promise<MigrateReport>;
}

/** A live migration from a host of this tab: under way (phase), or done (report) until dismissed. */
export interface Migration {
  name: string;
  from: string;
  to: string;
  /** Date.now() when it began. */
  since: number;
  /** The agent's latest phase ("connecting", "pre-copy 2", ...). */
  phase?: string;
  /** The pre-copy rounds so far, each with its bytes once sent. */
  rounds: readonly PrecopyRound[];
  /** Set once the container runs on `to` and `from` let go of it. */
  report?: MigrateReport;
  /** The ping from another container while it moves: the timeline, or why there is none. */
  ping?: { timeline: PingTimeline | undefined; note: string };
  /** An abort asked of the source's agent: sent, or refused (with why). */
  abort?: MigrationAbort;
}

/** Starts the ping of a migration (pingProbe.startPingProbe over the cluster); never rejects. */
export type MigrationWatcher = (request: WatchRequest) => Promise<MigrationWatch>;

export interface PendingAction {
  action: ContainerAction;
  /** Date.now() when it began. */
  since: number;
  /** The agent's latest phase of a checkpoint or restore ("freezing", "memory", ...). */
  phase?: string;
}

/** The last checkpoint or restore of a container, for its row. */
export interface CrResult {
  action: 'checkpoint' | 'restore';
  report: CrReport;
}

/** The bytes of a downloaded image and the file name to save them under. */
export interface ImageFile {
  name: string;
  bytes: Uint8Array;
}

export interface RowError {
  action: ContainerAction;
  /** The guest's message for the agent's own errors (AgentError.message), else the error's text. */
  message: string;
  /** AgentError's code ("state", "not_found", ...), when it was one. */
  code?: string;
}

/** How a row shows its error: as a failure, or (a migration its Abort stopped) as what became of it. */
export function rowErrorLine(error: RowError): { heading: string; failed: boolean } {
  if (error.action === 'migrate' && error.code === 'aborted') return { heading: 'move', failed: false };
  return { heading: `${error.action} failed:`, failed: true };
}

/** People's text for a failure: the agent's message is already meant for them. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

const key = (node: string, name: string) => `${node}\u0000${name}`;

export class ContainerOps implements Disposable {
  private readonly pending = new Map<string, PendingAction>();
  private readonly creating = new Map<string, Set<string>>();
  private readonly errors = new Map<string, RowError>();
  private readonly results = new Map<string, CrResult>();
  private readonly hostErrors = new Map<string, RowError>();
  private readonly migrations = new Map<string, Migration>();
  /** Probe containers of migrations' pings: not shown in the lists. */
  private readonly hidden = new Map<string, number>();
  private readonly changeEmitter = new Emitter<void>();
  /** An action began or ended, or an error was set or dismissed. */
  readonly onChange = this.changeEmitter.event;

  constructor(private readonly now: () => number = Date.now) {}

  /** The action under way on a container, if any. */
  pendingOf(node: string, name: string): PendingAction | undefined {
    return this.pending.get(key(node, name));
  }

  errorOf(node: string, name: string): RowError | undefined {
    return this.errors.get(key(node, name));
  }

  /** Containers being created on a node that its list may not show yet. */
  creatingOn(node: string): string[] {
    return [...(this.creating.get(node) ?? [])];
  }

  dismissError(node: string, name: string): void {
    if (this.errors.delete(key(node, name))) this.changeEmitter.fire();
  }

  /** The last checkpoint or restore of a container, while its row shows it. */
  resultOf(node: string, name: string): CrResult | undefined {
    return this.results.get(key(node, name));
  }

  /** Forgets a row's report; a checkpoint's image is deleted from its host with it. */
  dismissResult(node: OpsNode, name: string): void {
    const result = this.results.get(key(node.name, name));
    if (!result) return;
    this.results.delete(key(node.name, name));
    if (result.action === 'checkpoint') void node.agent.deleteImage(result.report.image).catch(() => undefined);
    this.changeEmitter.fire();
  }

  /** A host-wide failure (a restore from a file that made no container). */
  hostErrorOf(node: string): RowError | undefined {
    return this.hostErrors.get(node);
  }

  dismissHostError(node: string): void {
    if (this.hostErrors.delete(node)) this.changeEmitter.fire();
  }

  /** The migrations from a host, under way or done and not yet dismissed, oldest first. */
  migrationsFrom(node: string): Migration[] {
    return [...this.migrations.values()].filter((m) => m.from === node).sort((a, b) => a.since - b.since);
  }

  /** True for a container the panel runs for itself (a migration's ping probe). */
  isHidden(node: string, name: string): boolean {
    return this.hidden.has(key(node, name));
  }

  dismissMigration(node: string, name: string): void {
    const m = this.migrations.get(key(node, name));
    if (m?.report && this.migrations.delete(key(node, name))) this.changeEmitter.fire();
  }

  /**
   * Live-migrates a running container to another host of the cluster. Under way, the source host
   * shows the migration's phase; once done its figures stay there (the row moves to the
   * destination); a failure becomes the row's error, the container still running on the source.
   * With a watcher, a ping from another container runs from before the move until after it.
   */
  async migrate(cluster: MigrationCluster, nodeName: string, name: string, destName: string, watcher?: MigrationWatcher): Promise<boolean> {
    if (this.pendingOf(nodeName, name) || nodeName === destName) return false;
    const k = key(nodeName, name);
    this.errors.delete(k);
    this.migrations.set(k, { name, from: nodeName, to: destName, since: this.now(), rounds: [] });
    this.begin(nodeName, name, 'migrate');
    const update = (patch: Partial<Migration>) => {
      const m = this.migrations.get(k);
      if (m) this.migrations.set(k, { ...m, ...patch });
    };
    let watch: MigrationWatch | undefined;
    try {
      if (watcher) {
        update({ ping: { timeline: undefined, note: 'starting a ping probe…' } });
        this.changeEmitter.fire();
        watch = await watcher({ from: nodeName, name, to: destName, changed: () => this.changeEmitter.fire(), hide: (n, c) => this.hide(n, c) });
        update({ ping: { timeline: watch.timeline, note: watch.note } });
      }
      const report = await cluster.migrateContainer(nodeName, name, destName, {
        onProgress: (phase) => {
          watch?.timeline?.phase(phase, this.now());
          const m = this.migrations.get(k);
          if (m && !m.report) this.migrations.set(k, { ...m, phase, rounds: withRound(m.rounds, phase) });
          this.phase(nodeName, name, phase);
        },
      });
      watch?.timeline?.frozenFor(report.frozen_ms);
      update({ phase: undefined, report });
      return true;
    } catch (err) {
      this.migrations.delete(k);
      if (err instanceof AgentError && err.code === 'aborted')
        this.errors.set(k, { action: 'migrate', code: err.code, message: abortedMessage(nodeName) });
      else
        this.fail(nodeName, name, 'migrate', err);
      return false;
    } finally {
      // The ping goes on a little after the move, so the timeline shows it answered again.
      if (watch) void watch.finish(this.now()).finally(() => this.changeEmitter.fire());
      this.end(nodeName, name);
    }
  }

  /**
   * Asks the source's agent to stop a migration before its commit. The migration itself then fails
   * with `aborted` (see migrate); a refusal (too late: it is committing) shows on the migration.
   */
  async abortMigration(node: OpsNode, name: string): Promise<void> {
    const k = key(node.name, name);
    const m = this.migrations.get(k);
    if (!m || m.report || !abortButton(m.phase, m.abort).enabled || !node.agent.migrateAbort) return;
    this.migrations.set(k, { ...m, abort: { state: 'requested' } });
    this.changeEmitter.fire();
    try {
      await node.agent.migrateAbort(name);
    } catch (err) {
      const now = this.migrations.get(k);
      if (now && !now.report) this.migrations.set(k, { ...now, abort: { state: 'refused', message: errorMessage(err) } });
      this.changeEmitter.fire();
    }
  }

  /** Checkpoints a running container into an image on its host; the report lands on its row. */
  async checkpoint(node: OpsNode, name: string, options: { leaveRunning?: boolean } = {}): Promise<void> {
    if (this.pendingOf(node.name, name)) return;
    this.begin(node.name, name, 'checkpoint');
    this.errors.delete(key(node.name, name));
    // A host keeps few images: the row's previous one goes when a new one is made.
    const previous = this.results.get(key(node.name, name));
    this.results.delete(key(node.name, name));
    try {
      if (previous?.action === 'checkpoint') await node.agent.deleteImage(previous.report.image).catch(() => undefined);
      const report = await node.agent.checkpoint(name, { leaveRunning: options.leaveRunning, onProgress: (phase) => this.phase(node.name, name, phase) });
      this.results.set(key(node.name, name), { action: 'checkpoint', report });
    } catch (err) {
      this.fail(node.name, name, 'checkpoint', err);
    } finally {
      await node.refresh();
      this.end(node.name, name);
    }
  }

  /** The image of a container's last checkpoint as a file, `<container>.ctimg`; undefined on failure (the row's error says why). */
  async download(node: OpsNode, name: string): Promise<ImageFile | undefined> {
    const result = this.resultOf(node.name, name);
    if (!result || this.pendingOf(node.name, name)) return undefined;
    this.begin(node.name, name, 'download');
    try {
      return { name: `${name}.ctimg`, bytes: await node.agent.downloadImage(result.report.image) };
    } catch (err) {
      this.fail(node.name, name, 'download', err);
      return undefined;
    } finally {
      this.end(node.name, name);
    }
  }

  /**
   * Uploads an image file to a host and restores it as container `name` there (the uploaded copy
   * is deleted afterwards either way). A failure becomes the host's error: no row may exist.
   */
  async restoreFile(node: OpsNode, name: string, bytes: Uint8Array): Promise<boolean> {
    if (this.pendingOf(node.name, name)) return false;
    const names = this.creating.get(node.name) ?? new Set<string>();
    this.creating.set(node.name, names);
    names.add(name);
    this.hostErrors.delete(node.name);
    this.errors.delete(key(node.name, name));
    this.begin(node.name, name, 'restore');
    let image: string | undefined;
    try {
      this.phase(node.name, name, 'uploading');
      image = await node.agent.uploadImage(bytes);
      const report = await node.agent.restore(name, image, { onProgress: (phase) => this.phase(node.name, name, phase) });
      this.results.set(key(node.name, name), { action: 'restore', report });
      return true;
    } catch (err) {
      const error: RowError = { action: 'restore', message: `${name}: ${errorMessage(err)}` };
      if (err instanceof AgentError) error.code = err.code;
      this.hostErrors.set(node.name, error);
      return false;
    } finally {
      if (image) await node.agent.deleteImage(image).catch(() => undefined);
      names.delete(name);
      await node.refresh();
      this.end(node.name, name);
    }
  }

  /**
   * Runs a row's action (destroy forced when the container runs), then re-reads the node's list.
   * Never throws: a failure becomes the row's error. Ignored while the row has an action under way.
   */
  async run(node: OpsNode, name: string, action: RowAction): Promise<void> {
    if (this.pendingOf(node.name, name)) return;
    this.begin(node.name, name, action);
    try {
      switch (action) {
        case 'start': await node.agent.start(name); break;
        case 'stop': await node.agent.stop(name); break;
        case 'restart': await node.agent.restart(name); break;
        case 'destroy': {
          const running = node.containers.find((c) => c.name === name)?.state === 'running';
          await node.agent.destroy(name, { force: running });
          break;
        }
      }
    } catch (err) {
      this.fail(node.name, name, action, err);
    } finally {
      await node.refresh();
      this.end(node.name, name);
    }
  }

  /**
   * Creates a container and starts it. Resolves once it is created (the start goes on, shown on
   * its row); rejects when the create fails, with the agent's error, so the dialog can show it.
   */
  async create(cluster: OpsCluster, nodeName: string, args: CreateArgs): Promise<ContainerInfo> {
    const node = cluster.node(nodeName);
    if (this.pendingOf(nodeName, args.name)) throw new Error(`${args.name} is already being created or changed`);
    const names = this.creating.get(nodeName) ?? new Set<string>();
    this.creating.set(nodeName, names);
    names.add(args.name);
    this.errors.delete(key(nodeName, args.name));
    this.begin(nodeName, args.name, 'create');
    let info: ContainerInfo;
    try {
      info = await cluster.createContainer(nodeName, args);
    } catch (err) {
      names.delete(args.name);
      this.end(nodeName, args.name);
      throw err;
    }
    names.delete(args.name);
    this.end(nodeName, args.name, false);
    void this.run(node, args.name, 'start');
    return info;
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }

  private hide(node: string, name: string): Disposable {
    const k = key(node, name);
    this.hidden.set(k, (this.hidden.get(k) ?? 0) + 1);
    let done = false;
    return {
      dispose: () => {
        if (done) return;
        done = true;
        const left = (this.hidden.get(k) ?? 1) - 1;
        if (left > 0) this.hidden.set(k, left);
        else this.hidden.delete(k);
        this.changeEmitter.fire();
      },
    };
  }

  private begin(node: string, name: string, action: ContainerAction): void {
    this.pending.set(key(node, name), { action, since: this.now() });
    this.changeEmitter.fire();
  }

  private phase(node: string, name: string, phase: string): void {
    const pending = this.pending.get(key(node, name));
    if (!pending) return;
    this.pending.set(key(node, name), { ...pending, phase });
    this.changeEmitter.fire();
  }

  private end(node: string, name: string, fire = true): void {
    this.pending.delete(key(node, name));
    if (fire) this.changeEmitter.fire();
  }

  private fail(node: string, name: string, action: ContainerAction, err: unknown): void {
    const error: RowError = { action, message: errorMessage(err) };
    if (err instanceof AgentError) error.code = err.code;
    this.errors.set(key(node, name), error);
  }
}

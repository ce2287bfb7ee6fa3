import { describe, expect, it, vi } from 'vitest';
import { AgentError } from '../common/agent/AgentClient';
import type { MigrateReport } from '../common/agent/protocol';
import { ContainerOps, rowErrorLine, type MigrationCluster, type OpsNode } from './containerOps';
import type { MigrationWatch, WatchRequest } from './pingProbe';
import type { PingTimeline } from './pingTimeline';
import { abortButton, bytesMoved, canAbort, migrationStep, migrationSummary, parsePrecopy, roundsLine, withRound } from './migration';

const REPORT: MigrateReport = {
  name: 'web', dest: '10.0.0.2', rounds: 2, round_bytes: [1048576, 40960], final_bytes: 81920,
  pages_referenced: 250, frozen_ms: 410, confirmed_ms: 418, total_ms: 2950, processes: 3, pages: 312, fs_bytes: 0,
};

describe('migration phases', () => {
  it('read as people words and fill the bar in order', () => {
    const phases = ['connecting', 'pre-copy 1', 'pre-copy 1: 1245184 bytes', 'pre-copy 2', 'pre-copy 2: 40960 bytes', 'pre-copy 3',
      'pre-copy 3: 0 bytes', 'destination building', 'freezing', 'filesystem', 'files', 'memory',
      'restoring', 'committing', 'cleaning up'];
    const steps = phases.map(migrationStep);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.fraction).toBeGreaterThan(steps[i - 1]!.fraction);
    expect(steps.every((s) => s.fraction > 0 && s.fraction < 1)).toBe(true);
    expect(steps[3]).toMatchObject({ round: 2, label: 'pre-copy round 2: copying memory while it runs' });
    expect(steps[2]).toMatchObject({ round: 1, label: 'pre-copy round 1 sent 1.19 MiB' });
    expect(migrationStep('pre-copy 40: 5 bytes').fraction).toBeLessThan(migrationStep('freezing').fraction);
    expect(migrationStep('pre-copy 40').fraction).toBeLessThan(migrationStep('freezing').fraction);
    expect(migrationStep('committing').label).toMatch(/destination starts it/);
    expect(migrationStep('destination building').label).toMatch(/still running here/);
    expect(migrationStep('something new').label).toBe('something new');
    expect(migrationStep(undefined).label).toBe('starting');
  });

  it('read pre-copy phases both ways, and nothing else as one', () => {
    expect(parsePrecopy('pre-copy 3')).toEqual({ round: 3 });
    expect(parsePrecopy('pre-copy 3: 4096 bytes')).toEqual({ round: 3, bytes: 4096 });
    for (const other of ['pre-copy', 'pre-copy x', 'pre-copy 3:', 'pre-copy 3: bytes', 'pre-copy 3: -1 bytes', 'freezing', ' pre-copy 1']) {
      expect(parsePrecopy(other), other).toBeUndefined();
    }
  });

  it('keep each round\'s bytes as they come, for the live line', () => {
    let rounds = withRound([], 'connecting');
    expect(rounds).toEqual([]);
    for (const p of ['pre-copy 1', 'pre-copy 1: 1048576 bytes', 'pre-copy 2']) rounds = withRound(rounds, p);
    expect(rounds).toEqual([{ round: 1, bytes: 1048576 }, { round: 2 }]);
    expect(roundsLine(rounds)).toBe('round 1: 1 MiB · round 2: sending…');
    rounds = withRound(withRound(rounds, 'pre-copy 2: 40960 bytes'), 'freezing');
    expect(roundsLine(rounds)).toBe('round 1: 1 MiB · round 2: 40 KiB');
  });

  it('sum up a finished migration: downtime, total, bytes per round', () => {
    expect(bytesMoved(REPORT)).toBe(1048576 + 40960 + 81920);
    expect(migrationSummary(REPORT)).toBe(
      'downtime 410 ms, total 2.95 s, moved 1.12 MiB (2 pre-copy rounds: 1 MiB + 40 KiB; frozen round 80 KiB, 250 pages sent as references)');
  });
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('ContainerOps.migrate', () => {
  function setup() {
    const reply = deferred<MigrateReport>();
    let progress: ((phase: string) => void) | undefined;
    const cluster: MigrationCluster = {
      migrationTargets: () => [],
      migrateContainer: vi.fn(async (_n: string, _c: string, _d: string, o: { onProgress?: (p: string) => void }) => {
        progress = o.onProgress;
        return reply.promise;
      }),
    };
    return { cluster, reply, progress: (p: string) => progress!(p), ops: new ContainerOps(() => 5000) };
  }

  it('shows the phases on the source host, then the report until dismissed', async () => {
    const { cluster, reply, progress, ops } = setup();
    const done = ops.migrate(cluster, 'node1', 'web', 'node3');
    expect(cluster.migrateContainer).toHaveBeenCalledWith('node1', 'web', 'node3', expect.anything());
    expect(ops.pendingOf('node1', 'web')?.action).toBe('migrate');
    expect(await ops.migrate(cluster, 'node1', 'web', 'node2')).toBe(false); // one at a time
    progress('pre-copy 1');
    progress('pre-copy 1: 1048576 bytes');
    progress('pre-copy 2');
    expect(ops.migrationsFrom('node1')).toEqual([{ name: 'web', from: 'node1', to: 'node3', since: 5000, phase: 'pre-copy 2',
      rounds: [{ round: 1, bytes: 1048576 }, { round: 2 }] }]);
    expect(ops.pendingOf('node1', 'web')?.phase).toBe('pre-copy 2');
    reply.resolve(REPORT);
    expect(await done).toBe(true);
    expect(ops.pendingOf('node1', 'web')).toBeUndefined();
    expect(ops.migrationsFrom('node1')[0]).toMatchObject({ to: 'node3', report: REPORT, phase: undefined });
    expect(ops.migrationsFrom('node3')).toEqual([]);
    ops.dismissMigration('node1', 'web');
    expect(ops.migrationsFrom('node1')).toEqual([]);
  });

  it('leaves a failure on the row, with the guest\'s message', async () => {
    const { cluster, reply, ops } = setup();
    const done = ops.migrate(cluster, 'node1', 'web', 'node2');
    reply.reject(new AgentError('failed', 'migrate', 'the destination could not restore it: IP address already used'));
    expect(await done).toBe(false);
    expect(ops.migrationsFrom('node1')).toEqual([]);
    expect(ops.errorOf('node1', 'web')).toEqual({ action: 'migrate', code: 'failed',
      message: 'the destination could not restore it: IP address already used' });
  });

  it('runs the watcher\'s ping around the move: the timeline hears the phases, the probe is hidden, finish follows the end', async () => {
    const { cluster, reply, progress, ops } = setup();
    const timeline = { phase: vi.fn(), frozenFor: vi.fn() };
    const finish = vi.fn(async () => undefined);
    let hidden: { dispose(): void } | undefined;
    const watcher = vi.fn(async (request: WatchRequest) => {
      hidden = request.hide('node2', 'ping-probe-1');
      return { timeline: timeline as unknown as PingTimeline, note: 'ping every 100 ms', finish } satisfies MigrationWatch;
    });
    const done = ops.migrate(cluster, 'node1', 'web', 'node3', watcher);
    await vi.waitFor(() => expect(cluster.migrateContainer).toHaveBeenCalled());
    expect(watcher).toHaveBeenCalledWith(expect.objectContaining({ from: 'node1', name: 'web', to: 'node3' }));
    expect(ops.isHidden('node2', 'ping-probe-1')).toBe(true);
    expect(ops.migrationsFrom('node1')[0]!.ping).toEqual({ timeline, note: 'ping every 100 ms' });
    progress('freezing');
    expect(timeline.phase).toHaveBeenCalledWith('freezing', 5000);
    expect(finish).not.toHaveBeenCalled();
    reply.resolve(REPORT);
    expect(await done).toBe(true);
    expect(finish).toHaveBeenCalledWith(5000);
    expect(timeline.frozenFor).toHaveBeenCalledWith(REPORT.frozen_ms); // the window sized by the measured downtime
    expect(ops.migrationsFrom('node1')[0]).toMatchObject({ report: REPORT, ping: { note: 'ping every 100 ms' } });
    hidden!.dispose();
    expect(ops.isHidden('node2', 'ping-probe-1')).toBe(false);
  });

  it('finishes the ping when the move fails too', async () => {
    const { cluster, reply, ops } = setup();
    const finish = vi.fn(async () => undefined);
    const done = ops.migrate(cluster, 'node1', 'web', 'node3', async () => ({ timeline: undefined, note: 'none', finish }));
    await vi.waitFor(() => expect(cluster.migrateContainer).toHaveBeenCalled());
    reply.reject(new Error('link down'));
    expect(await done).toBe(false);
    expect(finish).toHaveBeenCalledTimes(1);
  });

  it('aborts through the source\'s agent before the commit: the row says it still runs there', async () => {
    const { cluster, reply, progress, ops } = setup();
    const migrateAbort = vi.fn(async () => { reply.reject(new AgentError('aborted', 'migrate', 'the migration was aborted')); });
    const source = { name: 'node1', agent: { migrateAbort } } as unknown as OpsNode;
    const done = ops.migrate(cluster, 'node1', 'web', 'node2');
    progress('pre-copy 2');
    await ops.abortMigration(source, 'web');
    expect(migrateAbort).toHaveBeenCalledWith('web');
    expect(await done).toBe(false);
    expect(ops.migrationsFrom('node1')).toEqual([]);
    expect(ops.errorOf('node1', 'web')).toEqual({ action: 'migrate', code: 'aborted', message: 'aborted — still running on node1' });
    // The row reads "move aborted — still running on node1", not as a failure.
    expect(rowErrorLine(ops.errorOf('node1', 'web')!)).toEqual({ heading: 'move', failed: false });
  });

  it('shows that the abort was asked for, and asks only once', async () => {
    const { cluster, reply, progress, ops } = setup();
    const answer = deferred<void>();
    const migrateAbort = vi.fn(() => answer.promise);
    const source = { name: 'node1', agent: { migrateAbort } } as unknown as OpsNode;
    const done = ops.migrate(cluster, 'node1', 'web', 'node2');
    progress('connecting');
    const asked = ops.abortMigration(source, 'web');
    expect(ops.migrationsFrom('node1')[0]!.abort).toEqual({ state: 'requested' });
    expect(abortButton('connecting', ops.migrationsFrom('node1')[0]!.abort)).toEqual({ enabled: false, label: 'Aborting…' });
    await ops.abortMigration(source, 'web');
    expect(migrateAbort).toHaveBeenCalledTimes(1);
    answer.resolve();
    await asked;
    reply.reject(new AgentError('aborted', 'migrate', 'the migration was aborted: the container runs here on'));
    expect(await done).toBe(false);
    expect(ops.errorOf('node1', 'web')?.message).toBe('aborted — still running on node1');
  });

  it('does not ask before the agent has reported the migration (it would not know it yet)', async () => {
    const { cluster, reply, ops } = setup();
    const migrateAbort = vi.fn(async () => undefined);
    const source = { name: 'node1', agent: { migrateAbort } } as unknown as OpsNode;
    const done = ops.migrate(cluster, 'node1', 'web', 'node2');
    await ops.abortMigration(source, 'web');
    expect(migrateAbort).not.toHaveBeenCalled();
    expect(ops.migrationsFrom('node1')[0]!.abort).toBeUndefined();
    reply.resolve(REPORT);
    expect(await done).toBe(true);
  });

  it('keeps other migration failures as failures', () => {
    expect(rowErrorLine({ action: 'migrate', code: 'failed', message: 'the destination could not restore it' }))
      .toEqual({ heading: 'migrate failed:', failed: true });
    expect(rowErrorLine({ action: 'stop', code: 'aborted', message: 'x' })).toEqual({ heading: 'stop failed:', failed: true });
  });

  it('does not ask once the commit is under way, and shows a refused abort', async () => {
    const { cluster, reply, progress, ops } = setup();
    const migrateAbort = vi.fn(async () => { throw new AgentError('conflict', 'migrate_abort', 'no migration of "web" to abort'); });
    const source = { name: 'node1', agent: { migrateAbort } } as unknown as OpsNode;
    const done = ops.migrate(cluster, 'node1', 'web', 'node2');
    progress('restoring');
    await ops.abortMigration(source, 'web');
    expect(ops.migrationsFrom('node1')[0]!.abort).toEqual({ state: 'refused', message: expect.stringContaining('no migration') });
    progress('committing');
    migrateAbort.mockClear();
    await ops.abortMigration(source, 'web');
    expect(migrateAbort).not.toHaveBeenCalled();
    reply.resolve(REPORT);
    expect(await done).toBe(true);
  });

  it('knows which phases an abort can still undo', () => {
    for (const phase of ['connecting', 'pre-copy 3', 'pre-copy 3: 4096 bytes', 'destination building', 'freezing', 'memory', 'restoring', 'retrying'])
      expect(canAbort(phase), phase).toBe(true);
    // Before the agent's first phase it may not have the migration yet; from the commit on, too late.
    for (const phase of [undefined, 'committing', 'stopping', 'cleaning up', 'in doubt: asking the destination', 'in doubt: settling'])
      expect(canAbort(phase), phase).toBe(false);
  });

  it('enables the Abort button only while an abort can work and none is pending', () => {
    expect(abortButton('pre-copy 2', undefined)).toEqual({ enabled: true, label: 'Abort' });
    expect(abortButton('pre-copy 2', { state: 'requested' })).toEqual({ enabled: false, label: 'Aborting…' });
    // A refused abort (it raced the commit, or the migration had just ended) may be tried again while it can work.
    expect(abortButton('restoring', { state: 'refused', message: 'no migration' })).toEqual({ enabled: true, label: 'Abort' });
    expect(abortButton('committing', undefined)).toEqual({ enabled: false, label: 'Abort' });
    expect(abortButton(undefined, undefined)).toEqual({ enabled: false, label: 'Abort' });
  });

  it('does nothing when the destination is the source', async () => {
    const { cluster, ops } = setup();
    expect(await ops.migrate(cluster, 'node1', 'web', 'node1')).toBe(false);
    expect(cluster.migrateContainer).not.toHaveBeenCalled();
  });
});

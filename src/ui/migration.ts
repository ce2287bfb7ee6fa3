// Live migration in the panel: what each phase of `ct migrate` means to people, how far along it
// is, and the figures of a finished one. Plain TypeScript (migration.test.ts).
import type { MigrateReport } from '../common/agent/protocol';
import { formatBytes } from './stats';

/** Where a migration is: a label for its phase line and a fraction for its progress bar. */
export interface MigrationStep {
  label: string;
  /** 0..1 */
  fraction: number;
  /** The pre-copy round under way, from 1. */
  round?: number;
}

const STEPS: Record<string, MigrationStep> = {
  connecting: { label: 'connecting to the destination', fraction: 0.04 },
  freezing: { label: 'frozen: saving what changed since the last round', fraction: 0.55 },
  files: { label: 'frozen: open files', fraction: 0.6 },
  memory: { label: 'frozen: memory (pages the destination holds go as references)', fraction: 0.66 },
  filesystem: { label: 'frozen: files of its upper layer', fraction: 0.72 },
  restoring: { label: 'frozen: the destination restores it', fraction: 0.8 },
  committing: { label: 'committing: the destination starts it', fraction: 0.9 },
  stopping: { label: 'ending the source copy', fraction: 0.93 },
  'cleaning up': { label: 'cleaning up on the source', fraction: 0.96 },
};

/** The agent's phase ("connecting", "pre-copy 2", "freezing", ...) as people read it. */
export function migrationStep(phase: string | undefined): MigrationStep {
  if (phase === undefined) return { label: 'starting', fraction: 0.01 };
  const round = /^pre-copy (\d+)$/.exec(phase);
  if (round) {
    const n = Number(round[1]);
    // Rounds shrink: each fills half the bar's distance to 0.5 that the one before did.
    return { label: `pre-copy round ${n}: copying memory while it runs`, fraction: 0.08 + 0.42 * (1 - 1 / 2 ** (n - 1)), round: n };
  }
  return STEPS[phase] ?? { label: phase, fraction: 0.5 };
}

/** Bytes that crossed the network for the container's memory and image. */
export function bytesMoved(report: MigrateReport): number {
  return report.round_bytes.reduce((a, b) => a + b, 0) + report.final_bytes;
}

/** One line for a finished migration: downtime, total, and the bytes of each round. */
export function migrationSummary(report: MigrateReport): string {
  const rounds = report.round_bytes.map(formatBytes).join(' + ');
  return `downtime ${report.frozen_ms} ms, total ${formatDuration(report.total_ms)}, moved ${formatBytes(bytesMoved(report))}`
    + ` (${report.rounds} pre-copy round${report.rounds === 1 ? '' : 's'}${rounds ? `: ${rounds}` : ''}; frozen round ${formatBytes(report.final_bytes)},`
    + ` ${report.pages_referenced} page${report.pages_referenced === 1 ? '' : 's'} sent as references)`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

// Live migration in the panel: what each phase of `ct migrate` means to people, how far along it
// is, and the figures of a finished one. Plain TypeScript (migration.test.ts).
import type { MigrateReport } from '../common/agent/protocol';
import { formatBytes } from './stats';

/** Where a migration is: a label for its phase line and a fraction for its progress bar. */
export interface MigrationStep {
  label: string;
  /** 0..1 */
  fraction: number;
  /** The pre-copy round under way (or just sent), from 1. */
  round?: number;
}

/** A pre-copy round as the agent reports it: started, then sent with its bytes. */
export interface PrecopyRound {
  round: number;
  /** Set once the round has been sent. */
  bytes?: number;
}

/** "pre-copy N" (round N starts) or "pre-copy N: B bytes" (round N sent B bytes); undefined for other phases. */
export function parsePrecopy(phase: string): PrecopyRound | undefined {
  const m = /^pre-copy (\d+)(?:: (\d+) bytes)?$/.exec(phase);
  if (!m) return undefined;
  const round = Number(m[1]);
  return m[2] === undefined ? { round } : { round, bytes: Number(m[2]) };
}

/** The rounds so far with this phase taken in: a round's start adds it, its bytes complete it. */
export function withRound(rounds: readonly PrecopyRound[], phase: string): readonly PrecopyRound[] {
  const p = parsePrecopy(phase);
  if (!p) return rounds;
  return [...rounds.filter((r) => r.round !== p.round), p].sort((a, b) => a.round - b.round);
}

/** One line for the rounds so far: "round 1: 1.2 MiB · round 2: 40 KiB · round 3: sending…". */
export function roundsLine(rounds: readonly PrecopyRound[]): string {
  return rounds.map((r) => `round ${r.round}: ${r.bytes === undefined ? 'sending…' : formatBytes(r.bytes)}`).join(' · ');
}

const STEPS: Record<string, MigrationStep> = {
  connecting: { label: 'connecting to the destination', fraction: 0.04 },
  // The destination builds the container (namespaces, network, overlay) during the pre-copy; the
  // freeze waits until it stands.
  'destination building': { label: 'the destination builds the container (still running here)', fraction: 0.52 },
  freezing: { label: 'frozen: saving what changed since the last round', fraction: 0.55 },
  filesystem: { label: 'frozen: files of its upper layer', fraction: 0.6 },
  files: { label: 'frozen: open files', fraction: 0.66 },
  memory: { label: 'frozen: memory (pages the destination holds go as references)', fraction: 0.72 },
  restoring: { label: 'frozen: the destination restores it', fraction: 0.8 },
  committing: { label: 'committing: the destination starts it', fraction: 0.9 },
  stopping: { label: 'ending the source copy', fraction: 0.93 },
  'cleaning up': { label: 'cleaning up on the source', fraction: 0.96 },
};

/** Phases from which an abort can no longer keep the container on its source: the commit is under way. */
const PAST_ABORT = new Set(['committing', 'stopping', 'cleaning up']);

/**
 * Whether a migration in this phase can still be aborted (its source keeps the container). Not
 * before the agent's first phase: until then it may not have the migration yet (the page may still
 * be starting the ping probe) and would refuse the abort with "no migration under way".
 */
export function canAbort(phase: string | undefined): boolean {
  return phase !== undefined && !(PAST_ABORT.has(phase) || phase.startsWith('in doubt'));
}

/** An abort asked of the source's agent: sent, or refused (with why). */
export type MigrationAbort = { state: 'requested' } | { state: 'refused'; message: string };

/** The Abort button of a migration under way: whether it can be pressed, and its text. */
export function abortButton(phase: string | undefined, abort: MigrationAbort | undefined): { enabled: boolean; label: string } {
  const requested = abort?.state === 'requested';
  return { enabled: !requested && canAbort(phase), label: requested ? 'Aborting…' : 'Abort' };
}

/** A migration its Abort stopped is not a failure: the container runs on where it was. */
export function abortedMessage(source: string): string {
  return `aborted — still running on ${source}`;
}

/** The agent's phase ("connecting", "pre-copy 2", "freezing", ...) as people read it. */
export function migrationStep(phase: string | undefined): MigrationStep {
  if (phase === undefined) return { label: 'starting', fraction: 0.01 };
  const round = parsePrecopy(phase);
  if (round) {
    const n = round.round;
    // Rounds shrink: each fills half the bar's distance to 0.5 that the one before did; a sent
    // round stands halfway to the next one's start.
    const start = (k: number) => 0.08 + 0.42 * (1 - 1 / 2 ** (k - 1));
    if (round.bytes === undefined) return { label: `pre-copy round ${n}: copying memory while it runs`, fraction: start(n), round: n };
    return { label: `pre-copy round ${n} sent ${formatBytes(round.bytes)}`, fraction: (start(n) + start(n + 1)) / 2, round: n };
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

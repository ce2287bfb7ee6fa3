// A migration that ends `in_doubt` (its COMMIT or DONE lost, and the source could not ask the
// destination) leaves the container frozen on the source. The page sees both sides: it asks again
// while the destination's host is still in the cluster, and takes the container back when that
// host is gone for good (its tab closed: its copy went with it).
import { AgentError } from '../agent/AgentClient';

export interface Resolver {
  migrateResolve(name: string, target: { dest: string } | { resume: true }): Promise<{ outcome: 'moved' | 'resumed' }>;
}

/** How a migration in doubt ended; thrown so callers that expected a report learn what happened. */
export class MigrationSettled extends Error {
  override readonly name = 'MigrationSettled';
  constructor(readonly outcome: 'moved' | 'resumed', message: string) {
    super(message);
  }
}

export interface SettleOptions {
  /** Whether the destination host is still in the cluster (this tab's or another tab's). */
  destPresent: () => boolean;
  attempts?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Settles a migration of `name` to `destName` (backplane address `dest`) that ended in doubt.
 * Resolves with the outcome, or rejects with the last error when neither side could be settled
 * (the container then stays frozen on the source: `ct migrate-resolve` remains possible).
 */
export async function settleMigration(source: Resolver, name: string, destName: string, dest: string,
  options: SettleOptions): Promise<MigrationSettled> {
  const { attempts = 10, intervalMs = 2000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = options;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const present = options.destPresent();
    try {
      const { outcome } = await source.migrateResolve(name, present ? { dest } : { resume: true });
      return new MigrationSettled(outcome, outcome === 'moved'
        ? `${name} moved to ${destName}: the link failed at the commit, and ${destName} confirmed it runs there`
        : present
          ? `${name} stays where it was: the link failed at the commit, and ${destName} never ran it`
          : `${name} stays where it was: ${destName} left the cluster during the commit`);
    } catch (err) {
      // Nothing to settle any more (someone resolved it already) is an answer too.
      if (err instanceof AgentError && (err.code === 'state' || err.code === 'not_found')) throw err;
      last = err;
    }
    await sleep(intervalMs);
  }
  throw last instanceof Error ? last : new Error(String(last));
}

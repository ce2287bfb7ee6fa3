// Benchmark samples and their summaries. Every bench reports rows of raw samples (so the suite can
// keep them in results.json); the machines are noisy, so summaries are medians with min and max.
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  if (!samples.length) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples };
}

/** What a figure counts: durations in ms, sizes in bytes, rates in MB/s (10^6 B/s), plain counts. */
export type Unit = 'ms' | 'bytes' | 'MB/s' | 'count' | 'M instructions';

/** Another row of the same run that a row is compared with (state restore against cold boot, …). */
export interface BaselineRef {
  group: string;
  name: string;
  /** How the ratio reads in the table, e.g. "cold boot". */
  label: string;
}

/** One figure of one benchmark: its samples over repeated runs, or why there are none. */
export interface Row {
  group: string;
  name: string;
  unit: Unit;
  runs: number[];
  baseline?: BaselineRef;
  note?: string;
  error?: string;
}

/** What every benchmark function takes: fewer runs and smaller sizes when quick; rows as they come. */
export interface BenchOptions {
  quick?: boolean;
  onRow?: (row: Row) => void;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Collects a benchmark's rows. A phase that throws becomes an error row and the benchmark goes on,
 * so one failure does not lose the figures measured before or after it.
 */
export class Recorder {
  readonly rows: Row[] = [];

  constructor(private readonly onRow?: (row: Row) => void) {}

  add(row: Row): void {
    this.rows.push(row);
    this.onRow?.(row);
  }

  /** Adds a row unless there are no samples (then an error row saying so). */
  samples(group: string, name: string, unit: Unit, runs: number[], extra: Pick<Row, 'baseline' | 'note'> = {}): void {
    this.add(runs.length ? { group, name, unit, runs, ...extra } : { group, name, unit, runs, error: 'no samples' });
  }

  async phase(group: string, name: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      process.stderr.write(`[bench] ${group} / ${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      this.add({ group, name, unit: 'count', runs: [], error: message(err) });
    }
  }
}

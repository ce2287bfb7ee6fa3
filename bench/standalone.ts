// A bench file run on its own (npm run bench:network, …): prints its rows as they come and, when
// the suite started it, keeps them in the file BENCH_JSON names after every row, so a crash or a
// timeout loses nothing measured before it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine } from './machine';
import { formatRowLine } from './results';
import type { BenchOptions, Row } from './stats';

/** True when `moduleUrl` is the script node was started with (not imported by the suite). */
export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && fileURLToPath(moduleUrl) === path.resolve(process.argv[1]);
}

export const quickMode = (): boolean => !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0';

export async function runStandalone(title: string, bench: (options: BenchOptions) => Promise<Row[]>): Promise<never> {
  const started = performance.now();
  const json = process.env.BENCH_JSON;
  const rows: Row[] = [];
  console.log(`ctlab ${title} — ${machineLine()}${quickMode() ? ' — BENCH_QUICK' : ''}`);
  let failed = false;
  try {
    await bench({
      quick: quickMode(),
      onRow: (row) => {
        rows.push(row);
        console.log(formatRowLine(row, rows));
        if (json) writeFileSync(json, JSON.stringify(rows, null, 1));
      },
    });
  } catch (err) {
    failed = true;
    console.error(`${title} failed: ${err instanceof Error ? err.stack : String(err)}`);
  }
  console.log(`(${title}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  // Emulators, workers and timers may still hold the event loop: the figures are out, so leave.
  process.exit(failed ? 1 : 0);
}

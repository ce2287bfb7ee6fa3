// The suite's results: what results.json holds, ratios against baselines of the same run, and the
// Markdown table (results.md). Pure, so it is unit-tested; the machine facts come from machine.ts.
import { summarize, type Row, type Unit } from './stats';

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  chromium: string;
  v86: string;
  date: string;
  commit: string;
  /** The 1-minute load average at the start, the end, and the highest and mean of samples taken during the run. */
  load: { start: number; end: number; max: number; mean: number };
}

/**
 * The suite keeps up to two cores busy itself (two emulators in the network and migration benches),
 * so a load average above the cores by more than one means other processes competed for the CPU.
 */
export const competedForCpu = (m: Machine): boolean => m.load.max > m.cores + 1;

/** One benchmark as the suite ran it: its rows, even when it failed part-way. */
export interface BenchRun {
  bench: string;
  command: string;
  seconds: number;
  error?: string;
  rows: Row[];
}

export interface SuiteResults {
  machine: Machine;
  quick: boolean;
  seconds: number;
  benches: BenchRun[];
}

/** median(row) / median(its baseline); undefined without a baseline or samples on either side. */
export function ratio(row: Row, rows: readonly Row[]): number | undefined {
  const ref = row.baseline;
  if (!ref || !row.runs.length || row.error) return undefined;
  const base = rows.find((r) => r.group === ref.group && r.name === ref.name);
  if (!base || !base.runs.length || base.error) return undefined;
  const denominator = summarize(base.runs).median;
  return denominator === 0 ? undefined : summarize(row.runs).median / denominator;
}

/** "0.068× cold boot (1/14.6)", "0.72× total", "2.31× ne2k": the inverse where it reads better. */
export function formatRatio(value: number, label: string): string {
  const digits = value < 0.1 ? 3 : 2;
  return value > 0.5 || value === 0 ? `${value.toFixed(2)}× ${label}` : `${value.toFixed(digits)}× ${label} (1/${(1 / value).toFixed(1)})`;
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'ms':
      return Math.abs(value) >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(Math.abs(value) < 10 && !Number.isInteger(value) ? 1 : 0)} ms`;
    case 'bytes':
      if (value < 1024) return `${value.toFixed(0)} B`;
      return value < 1 << 20 ? `${(value / 1024).toFixed(0)} KiB` : `${(value / (1 << 20)).toFixed(1)} MiB`;
    case 'MB/s':
      return `${value.toFixed(1)} MB/s`;
    case 'count':
      return Number.isInteger(value) ? String(value) : value.toFixed(1);
    case 'M instructions':
      return `${value.toFixed(2)} M instructions`;
  }
}

/** The figures of one row: median, "min – max", n; or the error. */
export function describeRow(row: Row): { median: string; range: string; n: string } {
  if (row.error || !row.runs.length) return { median: `failed: ${row.error ?? 'no samples'}`, range: '', n: '0' };
  const s = summarize(row.runs);
  const range = s.samples.length > 1 ? `${formatValue(s.min, row.unit)} – ${formatValue(s.max, row.unit)}` : '';
  return { median: formatValue(s.median, row.unit), range, n: String(s.samples.length) };
}

/** A row as one line of text, for a bench run on its own. */
export function formatRowLine(row: Row, rows: readonly Row[]): string {
  const { median, range, n } = describeRow(row);
  const r = ratio(row, rows);
  const label = `${row.group} / ${row.name}`;
  return `${label.padEnd(64)} ${median}${range ? `  (${range}, n=${n})` : ''}${r === undefined ? '' : `  ${formatRatio(r, row.baseline!.label)}`}${row.note ? `  [${row.note}]` : ''}`;
}

// Table cells: a pipe or a line break inside one would end the cell or the table.
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** Rows of one group together, groups in the order they first appear, rows in theirs. */
export function byGroup(rows: readonly Row[]): Row[] {
  const groups = [...new Set(rows.map((r) => r.group))];
  return groups.flatMap((g) => rows.filter((r) => r.group === g));
}

export function benchTable(rows: readonly Row[]): string {
  const lines = ['| group | figure | median | min – max | n | vs baseline (same run) |', '|---|---|---|---|---|---|'];
  let group: string | undefined;
  for (const row of byGroup(rows)) {
    const { median, range, n } = describeRow(row);
    const r = ratio(row, rows);
    const name = row.note ? `${row.name} (${row.note})` : row.name;
    lines.push(`| ${cell(row.group === group ? '' : row.group)} | ${cell(name)} | ${cell(median)} | ${range} | ${n} | ${r === undefined ? '' : cell(formatRatio(r, row.baseline!.label))} |`);
    group = row.group;
  }
  return lines.join('\n');
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export function renderMarkdown(results: SuiteResults): string {
  const m = results.machine;
  const out = [
    '# ctlab benchmark results',
    '',
    `\`npm run bench\`${results.quick ? ' (BENCH_QUICK=1: fewer runs, smaller sizes)' : ''}, ${m.date}, commit \`${m.commit}\`; ` +
      `the suite took ${(results.seconds / 60).toFixed(1)} min. Medians with min – max over repeated runs; ` +
      'ratios compare medians with a baseline measured in the same run. Raw samples: results.json.',
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${cell(m.cpu)} × ${m.cores} |`,
    `| memory | ${gib(m.memoryBytes)} |`,
    `| OS | ${cell(m.os)} |`,
    `| Node | ${m.node} |`,
    `| Chromium | ${cell(m.chromium)} |`,
    `| v86 | ${m.v86} |`,
    `| load average (1 min) | ${m.load.start.toFixed(2)} at the start, ${m.load.end.toFixed(2)} at the end, ` +
      `${m.load.max.toFixed(2)} at most (mean ${m.load.mean.toFixed(2)}) |`,
    '',
  ];
  if (competedForCpu(m)) {
    out.push(`> The load average reached ${m.load.max.toFixed(1)} on ${m.cores} cores, more than this suite makes on its own: ` +
      'other processes competed for the CPU during this run, so the figures are noisy and pessimistic.', '');
  }
  for (const bench of results.benches) {
    out.push(`## ${bench.bench}`, '', `\`${bench.command}\`, ${bench.seconds.toFixed(0)} s` +
      (bench.error ? ` — **failed**: ${cell(bench.error)}` : ''), '');
    if (bench.rows.length) out.push(benchTable(bench.rows), '');
  }
  return out.join('\n');
}

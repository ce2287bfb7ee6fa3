import { describe, expect, it } from 'vitest';
import { benchTable, byGroup, describeRow, formatRatio, formatValue, ratio, renderMarkdown, type SuiteResults } from './results';
import { Recorder, summarize, type Row } from './stats';

const cold: Row = { group: 'boot', name: 'cold', unit: 'ms', runs: [3000, 3200, 2900] };
const state: Row = { group: 'boot', name: 'state', unit: 'ms', runs: [200, 220, 250, 210], baseline: { group: 'boot', name: 'cold', label: 'cold boot' } };

describe('summarize', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(summarize([5, 1, 3])).toMatchObject({ median: 3, min: 1, max: 5 });
    expect(summarize([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4 });
  });

  it('refuses an empty list rather than report undefined', () => {
    expect(() => summarize([])).toThrow(/no samples/);
  });
});

describe('ratio', () => {
  it('divides the medians of a row and its baseline', () => {
    expect(ratio(state, [cold, state])).toBeCloseTo(215 / 3000);
  });

  it('is undefined without a baseline, when the baseline is missing, failed or zero', () => {
    expect(ratio(cold, [cold, state])).toBeUndefined();
    expect(ratio(state, [state])).toBeUndefined();
    expect(ratio(state, [{ ...cold, runs: [], error: 'boom' }, state])).toBeUndefined();
    expect(ratio(state, [{ ...cold, runs: [0] }, state])).toBeUndefined();
  });

  it('formats a ratio below 1 with its inverse', () => {
    expect(formatRatio(215 / 3000, 'cold boot')).toBe('0.072× cold boot (1/14.0)');
    expect(formatRatio(0.5, 'total')).toBe('0.50× total (1/2.0)');
    expect(formatRatio(0.72, 'total')).toBe('0.72× total');
    expect(formatRatio(2.345, 'ne2k')).toBe('2.35× ne2k');
  });
});

describe('formatValue', () => {
  it('picks a readable unit', () => {
    expect(formatValue(5.25, 'ms')).toBe('5.3 ms');
    expect(formatValue(0, 'ms')).toBe('0 ms');
    expect(formatValue(618, 'ms')).toBe('618 ms');
    expect(formatValue(2310, 'ms')).toBe('2.31 s');
    expect(formatValue(512, 'bytes')).toBe('512 B');
    expect(formatValue(37 * 1024, 'bytes')).toBe('37 KiB');
    expect(formatValue(3.5 * 1024 * 1024, 'bytes')).toBe('3.5 MiB');
    expect(formatValue(10.46, 'MB/s')).toBe('10.5 MB/s');
    expect(formatValue(7.456, 'M instructions')).toBe('7.46 M instructions');
    expect(formatValue(3, 'count')).toBe('3');
    expect(formatValue(2.5, 'count')).toBe('2.5');
  });

  it('leaves out the range for a single sample and shows an error instead of figures', () => {
    expect(describeRow({ ...cold, runs: [3000] })).toEqual({ median: '3.00 s', range: '', n: '1' });
    expect(describeRow({ ...cold, runs: [], error: 'no chromium' }).median).toBe('failed: no chromium');
  });
});

describe('benchTable', () => {
  it('keeps a group together, names it once, escapes pipes and shows the ratio', () => {
    const rows: Row[] = [
      cold,
      { group: 'ckpt c: producer | consumer', name: 'frozen', unit: 'ms', runs: [65] },
      state,
    ];
    expect(byGroup(rows).map((r) => r.name)).toEqual(['cold', 'state', 'frozen']);
    const lines = benchTable(rows).split('\n');
    expect(lines[2]).toBe('| boot | cold | 3.00 s | 2.90 s – 3.20 s | 3 |  |');
    expect(lines[3]).toBe('|  | state | 215 ms | 200 ms – 250 ms | 4 | 0.072× cold boot (1/14.0) |');
    expect(lines[4]).toContain('| ckpt c: producer \\| consumer | frozen |');
  });
});

describe('renderMarkdown', () => {
  const results = (loadMax: number): SuiteResults => ({
    machine: { cpu: 'AMD EPYC', cores: 2, memoryBytes: 8 * 2 ** 30, os: 'Linux', node: 'v20.19.0', chromium: 'Chromium 140',
      v86: '0.5.462', date: '2026-01-01T00:00:00.000Z', commit: 'abc123', load: { start: 0.5, end: 1, max: loadMax, mean: 1 } },
    quick: false,
    seconds: 600,
    benches: [{ bench: 'boot', command: 'npm run bench:boot', seconds: 60, rows: [cold, state] },
      { bench: 'page', command: 'npm run bench:page', seconds: 1, error: 'exited with code 1', rows: [] }],
  });

  it('names the machine, marks a failed bench and warns when other processes competed for the CPU', () => {
    const md = renderMarkdown(results(4.2));
    expect(md).toContain('| CPU | AMD EPYC × 2 |');
    expect(md).toContain('10.0 min');
    expect(md).toContain('**failed**: exited with code 1');
    expect(md).toContain('4.20 at most (mean 1.00)');
    expect(md).toMatch(/reached 4.2 on 2 cores.*competed/);
    // The suite's own two emulators make a load of about 2.
    expect(renderMarkdown(results(2.9))).not.toMatch(/competed/);
  });
});

describe('Recorder', () => {
  it('turns a failing phase into an error row and goes on', async () => {
    const seen: Row[] = [];
    const rec = new Recorder((row) => seen.push(row));
    await rec.phase('g', 'first', async () => { throw new Error('boom'); });
    await rec.phase('g', 'second', async () => rec.samples('g', 'x', 'ms', [1]));
    rec.samples('g', 'empty', 'ms', []);
    expect(seen.map((r) => [r.name, r.error])).toEqual([['first', 'boom'], ['x', undefined], ['empty', 'no samples']]);
    expect(rec.rows).toEqual(seen);
  });
});

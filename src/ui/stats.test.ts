import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../common/cluster/Cluster';
import { containerFigures, formatBytes, formatLimit, formatPercent, formatUsec } from './stats';

function sample(at: number, usageUsec: number, memory = 1 << 20, patch: Partial<{ oom: number; refused: number; throttled: number; pids: number }> = {}): StatsSample {
  return {
    at,
    name: 'web',
    memory: { current: memory, max: 32 << 20, peak: 2 << 20, oom_kills: patch.oom ?? 0 },
    pids: { current: patch.pids ?? 2, max: 64, refused: patch.refused ?? 0 },
    cpu: { usage_usec: usageUsec, user_usec: 0, system_usec: 0, nr_periods: 10, nr_throttled: patch.throttled ?? 0, throttled_usec: 0 },
    frozen: false,
  };
}

describe('container figures', () => {
  it('are undefined without samples', () => {
    expect(containerFigures(undefined, null)).toBeUndefined();
    expect(containerFigures([], 0.5)).toBeUndefined();
  });

  it('turn cumulative CPU time into % of one CPU per interval', () => {
    // 1 s of CPU in 2 s is 50%; 0.2 s in 2 s is 10%.
    const figures = containerFigures([sample(0, 0), sample(2000, 1_000_000), sample(4000, 1_200_000)], 0.5)!;
    expect(figures.cpuPercent).toEqual([50, 10]);
    expect(figures.cpuQuotaPercent).toBe(50);
  });

  it('skip an interval where the counters went back (a restart)', () => {
    const figures = containerFigures([sample(0, 5_000_000), sample(2000, 100_000), sample(4000, 300_000)], null)!;
    expect(figures.cpuPercent).toEqual([10]);
    expect(figures.cpuQuotaPercent).toBeNull();
  });

  it('take the limits and the counters people care about from the latest sample', () => {
    const figures = containerFigures([sample(0, 0, 1 << 20), sample(2000, 0, 3 << 20, { oom: 2, refused: 5, throttled: 7, pids: 9 })], null)!;
    expect(figures.memory).toEqual([1 << 20, 3 << 20]);
    expect(figures).toMatchObject({ memoryMax: 32 << 20, memoryPeak: 2 << 20, oomKills: 2, pidsMax: 64, refusedForks: 5, throttledPeriods: 7 });
    expect(figures.pids).toEqual([2, 9]);
  });
});

describe('formatting', () => {
  it('writes sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(32 << 20)).toBe('32 MiB');
    expect(formatBytes(250_000)).toBe('244 KiB');
    expect(formatBytes(2 ** 40)).toBe('1 TiB');
  });

  it('writes limits, and "no limit" when there is none', () => {
    expect(formatLimit('memory', 32 << 20)).toBe('32 MiB');
    expect(formatLimit('pids', 64)).toBe('64');
    expect(formatLimit('cpus', 0.5)).toBe('0.5 CPU');
    expect(formatLimit('cpus', null)).toBe('no limit');
  });

  it('writes percentages and durations', () => {
    expect(formatPercent(4.84)).toBe('4.8%');
    expect(formatPercent(50)).toBe('50%');
    expect(formatUsec(25_100)).toBe('25.1 ms');
    expect(formatUsec(1_500_000)).toBe('1.5 s');
    expect(formatUsec(12)).toBe('12 µs');
  });
});

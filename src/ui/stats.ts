// What the graphs and figures of a container show, derived from the cluster's stats history
// (ClusterNode.stats: one sample per container every 2 s). No DOM: stats.test.ts runs under Node.
import type { StatsSample } from '../common/cluster/Cluster';

export interface ContainerFigures {
  /** memory.current per sample, bytes. */
  memory: number[];
  /** memory.max, bytes; null when unlimited. */
  memoryMax: number | null;
  memoryPeak: number;
  oomKills: number;
  /** CPU use per interval between samples, in % of one CPU (100 = one CPU busy). */
  cpuPercent: number[];
  /** The CPU limit in % of one CPU; null when unlimited. */
  cpuQuotaPercent: number | null;
  /** Processes (tasks) per sample. */
  pids: number[];
  pidsMax: number | null;
  /** Forks refused by the pids limit, since the container started. */
  refusedForks: number;
  /** Periods in which the CPU limit throttled the container, and for how long in all. */
  throttledPeriods: number;
  throttledUsec: number;
}

/**
 * Figures for one container from its samples (oldest first). `cpus` is the container's CPU
 * limit from its info (the stats do not carry it). Undefined when there are no samples yet.
 */
export function containerFigures(samples: readonly StatsSample[] | undefined, cpus: number | null): ContainerFigures | undefined {
  const last = samples?.[samples.length - 1];
  if (!samples || !last) return undefined;
  const cpuPercent: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const usec = b.cpu.usage_usec - a.cpu.usage_usec;
    const ms = b.at - a.at;
    // A restart resets the counters; a zero interval has no rate.
    if (ms > 0 && usec >= 0) cpuPercent.push((usec / (ms * 1000)) * 100);
  }
  return {
    memory: samples.map((s) => s.memory.current),
    memoryMax: last.memory.max,
    memoryPeak: last.memory.peak,
    oomKills: last.memory.oom_kills,
    cpuPercent,
    cpuQuotaPercent: cpus === null ? null : cpus * 100,
    pids: samples.map((s) => s.pids.current),
    pidsMax: last.pids.max,
    refusedForks: last.pids.refused,
    throttledPeriods: last.cpu.nr_throttled,
    throttledUsec: last.cpu.throttled_usec,
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 33554432 → "32 MiB", 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || Number.isInteger(value) || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${UNITS[unit]}`;
}

/** A limit as people read it: "32 MiB", "64", "0.5 CPU"; "no limit" when unlimited. */
export function formatLimit(kind: 'memory' | 'pids' | 'cpus', limit: number | null): string {
  if (limit === null) return 'no limit';
  if (kind === 'memory') return formatBytes(limit);
  if (kind === 'cpus') return `${Number(limit.toFixed(2))} CPU`;
  return String(limit);
}

/** 12.345 → "12.3%". */
export function formatPercent(percent: number): string {
  return `${percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

/** 1.5e6 µs → "1.5 s", 2500 µs → "2.5 ms". */
export function formatUsec(usec: number): string {
  if (usec >= 1e6) return `${Number((usec / 1e6).toFixed(1))} s`;
  if (usec >= 1e3) return `${Number((usec / 1e3).toFixed(1))} ms`;
  return `${usec} µs`;
}

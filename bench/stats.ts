// Summaries for benchmark samples: the machines are noisy, so report medians with min and max.
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples };
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function formatSummary(label: string, s: Summary, unit = seconds): string {
  return `${label.padEnd(44)} median ${unit(s.median)}  (min ${unit(s.min)}, max ${unit(s.max)}, n=${s.samples.length})`;
}

// The machine a benchmark ran on, for results.json and the header of results.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Machine } from './results';

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function v86Version(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('v86/package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commit(): string {
  const sha = run('git', ['rev-parse', '--short=12', 'HEAD']) ?? 'unknown';
  // Uncommitted changes to what is measured (not the results files this run writes) make the sha inexact.
  const dirty = run('git', ['status', '--porcelain', '--', '.', ':!bench/results.json', ':!bench/results.md']);
  return dirty ? `${sha} + uncommitted changes` : sha;
}

/** `load` is the load at this moment; the suite updates it as it runs. */
export function describeMachine(): Machine {
  const load = os.loadavg()[0]!;
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    chromium: run('/usr/bin/chromium', ['--version']) ?? 'not installed',
    v86: v86Version(),
    date: new Date().toISOString(),
    commit: commit(),
    load: { start: load, end: load, max: load, mean: load },
  };
}

/** One line for a bench run on its own. */
export function machineLine(): string {
  const m = describeMachine();
  return `${m.cpu} × ${m.cores}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, node ${m.node}, v86 ${m.v86}, ` +
    `load ${m.load.start.toFixed(2)}, commit ${m.commit}`;
}

// The benchmark suite: runs every bench file in a child process of its own (a crash, a hang or a
// leaked emulator in one cannot take the others' figures with it), collects the rows each one keeps
// in its BENCH_JSON file, and writes bench/results.json and bench/results.md after every bench.
// Run: npm run bench   (BENCH_QUICK=1 for fewer runs and smaller sizes; BENCH_SUITE_ONLY=boot,network
// for some benches; BENCH_TIMEOUT_S=n per bench, default 1500; `npm run bench -- --render` only rewrites
// results.md from results.json)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './machine';
import { renderMarkdown, type BenchRun, type SuiteResults } from './results';
import { quickMode } from './standalone';
import type { Row } from './stats';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1500) * 1000;

interface BenchSpec {
  bench: string;
  file: string;
  script: string;
  /** Defaults for the suite (a variable already set in the environment wins). */
  env?: Record<string, string>;
}

const BENCHES: BenchSpec[] = [
  { bench: 'boot: cold, from the saved state, page load', file: 'boot.ts', script: 'bench:boot' },
  { bench: 'page: UI thread while two hosts run', file: 'page.ts', script: 'bench:page' },
  // Density on its own runs for 7 minutes; in the suite it gets less, and says what stopped it.
  { bench: 'containers: lifecycle and density', file: 'containers.ts', script: 'bench:containers', env: { BENCH_DENSITY_BUDGET_S: '150' } },
  // 8 MiB per transfer, not 16: six setups × two paths × four transfers dominate the suite otherwise.
  { bench: 'network: TCP and ping between two hosts', file: 'network.ts', script: 'bench:network', env: { BENCH_MIB: '8' } },
  { bench: 'checkpoint/restore', file: 'checkpoint.ts', script: 'bench:checkpoint' },
  { bench: 'live migration', file: 'migrate.ts', script: 'bench:migrate' },
];

/** Runs one bench file; resolves with its rows and, when it did not end well, why. */
function runBench(spec: BenchSpec, jsonFile: string): Promise<{ rows: Row[]; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX_CLI, path.join(BENCH_DIR, spec.file)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...spec.env, ...process.env, BENCH_JSON: jsonFile },
    });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, TIMEOUT_MS);
    const finish = (error?: string) => {
      clearTimeout(timer);
      let rows: Row[] = [];
      try {
        rows = JSON.parse(readFileSync(jsonFile, 'utf8')) as Row[];
      } catch {
        // No row written before it ended.
      }
      resolve({ rows, error });
    };
    child.on('error', (err) => finish(`could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (timedOut) finish(`killed after the ${TIMEOUT_MS / 1000} s timeout`);
      else if (code !== 0) finish(signal ? `killed by ${signal}` : `exited with code ${code} (its output has the stack)`);
      else finish();
    });
  });
}

const RESULTS_JSON = path.join(BENCH_DIR, 'results.json');
const RESULTS_MD = path.join(BENCH_DIR, 'results.md');

if (process.argv.includes('--render')) {
  // Only rewrites results.md from results.json, after the table's layout changed.
  writeFileSync(RESULTS_MD, renderMarkdown(JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as SuiteResults));
  process.exit(0);
}

const only = process.env.BENCH_SUITE_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const specs = BENCHES.filter((b) => !only || only.some((o) => b.file.startsWith(o)));
const results: SuiteResults = { machine: describeMachine(), quick: quickMode(), seconds: 0, benches: [] };
const started = performance.now();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ctlab-bench-'));

// The load average, every 15 s: whether other processes competed for the CPU during the run.
const loads = [results.machine.load.start];
const sampler = setInterval(() => loads.push(os.loadavg()[0]!), 15_000);

function save(): void {
  results.seconds = (performance.now() - started) / 1000;
  loads.push(os.loadavg()[0]!);
  results.machine.load = { ...results.machine.load, end: loads.at(-1)!, max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / loads.length };
  writeFileSync(RESULTS_JSON, JSON.stringify(results, null, 1) + '\n');
  writeFileSync(RESULTS_MD, renderMarkdown(results));
}

console.log(`ctlab benchmark suite: ${specs.map((s) => s.file).join(', ')}${results.quick ? ' (quick)' : ''}`);
for (const [i, spec] of specs.entries()) {
  console.log(`\n=== [${i + 1}/${specs.length}] ${spec.bench} (npm run ${spec.script}) ===`);
  const benchStarted = performance.now();
  const { rows, error } = await runBench(spec, path.join(tmp, `${i}.json`));
  const run: BenchRun = { bench: spec.bench, command: `npm run ${spec.script}`, seconds: (performance.now() - benchStarted) / 1000, rows };
  if (error) run.error = error;
  results.benches.push(run);
  save();
}
clearInterval(sampler);
rmSync(tmp, { recursive: true, force: true });
const failed = results.benches.filter((b) => b.error || b.rows.some((r) => r.error));
console.log(`\nsuite: ${(results.seconds / 60).toFixed(1)} min; ${failed.length ? `failures in: ${failed.map((b) => b.bench).join('; ')}; ` : ''}` +
  `results in bench/results.json and bench/results.md`);

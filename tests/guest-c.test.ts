// The guest's C code (JSON, base64, ...) tested on the build machine: images/tools/test/run.sh
// builds every *_test.c there with ASan and UBSan and runs it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('guest C tests', () => {
  it('run.sh builds and passes every test binary', { timeout: 120_000 }, () => {
    const run = spawnSync('bash', ['images/tools/test/run.sh'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);

    // One "== name" header and one summary line per test binary, each with checks that ran.
    const binaries = [...run.stdout.matchAll(/^== (\S+)/gm)].map((m) => m[1]);
    const summaries = [...run.stdout.matchAll(/^(\d+) passed, (\d+) failed$/gm)];
    expect(binaries.length).toBeGreaterThan(0);
    expect(summaries).toHaveLength(binaries.length);
    for (const [, passed, failed] of summaries) {
      expect(Number(passed)).toBeGreaterThan(0);
      expect(Number(failed)).toBe(0);
    }
  });
});

describe('ct rtnetlink module', () => {
  // Needs root for network namespaces (CI runs as root); the script skips itself otherwise.
  it('builds a bridge, a veth pair across namespaces, addresses and routes', { timeout: 120_000 }, () => {
    const run = spawnSync('bash', ['images/tools/test/netlink_check.sh'], { cwd: ROOT, encoding: 'utf8' });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    if (/skipped/.test(output)) return;
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(run.stdout);
    expect(summary, output).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(20);
    expect(Number(summary![2])).toBe(0);
  });
});

// The e2e tests drive Debian's Chromium (playwright-core cannot download a browser here).
// Installs the `chromium` package when it is missing; needs root, as on CI.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log('ensure-chromium: installing Debian package chromium');
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    run('apt-get', ['update', '-q']);
  } catch {
    // One stale mirror index fails `update` without stopping the install below from working.
  }
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium']);
}
console.log(`ensure-chromium: ${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim()}`);

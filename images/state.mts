// `npm run build:state`: boots the guest in public/images/ under Node until its agent answers and
// the host is idle, saves the emulator state, compresses it with zstd (v86 decompresses `.zst`
// states itself) and writes public/images/state.bin.zst with state.json, the record of what it was
// made from. Hosts restore it instead of booting while that record matches their artifacts
// (src/common/host/savedState.ts). Rebuild it after every `npm run build:images`.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient, hostAgentChannel } from '../src/common/agent/AgentClient';
import { DEFAULT_NIC } from '../src/common/host/EmulatedHost';
import { stateOriginFor, type SavedStateManifest } from '../src/common/host/savedState';
import { createNodeHost, IMAGES_DIR, readManifest } from '../src/node/nodeHost';

const STATE_FILE = 'state.bin.zst';
/** Time the booted guest gets to finish what /init left running before the save. */
const SETTLE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const manifest = await readManifest();
const host = createNodeHost('ctlab', { loadState: undefined });
const boot = await host.boot();
const agent = new AgentClient(hostAgentChannel(host));
await agent.ready();
await sleep(SETTLE_MS);
await agent.ping();
const raw = new Uint8Array(await host.saveState());
agent.dispose();
await host.shutdown();
console.log(`state: booted in ${(boot.bootMs / 1000).toFixed(2)} s, saved ${(raw.length / 1e6).toFixed(1)} MB`);

const work = mkdtempSync(join(tmpdir(), 'ctlab-state-'));
try {
  writeFileSync(join(work, 'state.bin'), raw);
  const started = performance.now();
  execFileSync('zstd', ['-q', '-f', '-19', join(work, 'state.bin'), '-o', join(IMAGES_DIR, STATE_FILE)]);
  console.log(`state: zstd -19 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const data = readFileSync(join(IMAGES_DIR, STATE_FILE));
const record: SavedStateManifest = {
  format: 1,
  file: STATE_FILE,
  sha256: createHash('sha256').update(data).digest('hex'),
  size: data.length,
  raw_size: raw.length,
  guest_uptime_s: boot.guestUptimeS,
  made_from: stateOriginFor(manifest, manifest.memory_mb, DEFAULT_NIC),
};
writeFileSync(join(IMAGES_DIR, 'state.json'), JSON.stringify(record, null, 2) + '\n');

// The state must bring a working agent back: restore it once, as every host will.
const check = createNodeHost('check');
const restored = await check.boot();
const checkAgent = new AgentClient(hostAgentChannel(check));
await checkAgent.ping({ timeoutMs: 10_000 });
checkAgent.dispose();
await check.shutdown();
if (!restored.fromState) throw new Error(`state: the new state was not restored: ${restored.stateProblem ?? 'no reason given'}`);
console.log(`state: ${STATE_FILE} ${(data.length / 1e6).toFixed(2)} MB (raw ${(raw.length / 1e6).toFixed(1)} MB); ` +
  `restored and answered in ${(restored.bootMs / 1000).toFixed(2)} s`);
process.exit(0);

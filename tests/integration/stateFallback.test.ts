// Which guest files a host reads, and the cold-boot fallback: a restore reads only the BIOS; a
// saved state that does not fit (made from other artifacts) or does not restore is not used, and
// the host boots cold, reading the kernel and initramfs it skipped, and says why.
import { describe, expect, it } from 'vitest';
import { AgentClient, hostAgentChannel } from '../../src/common/agent/AgentClient';
import type { SavedState } from '../../src/common/host/savedState';
import { createNodeHost, readImageFile, readManifest, readSavedState } from '../../src/node/nodeHost';

/** A host offered `state`, recording the guest files it reads and what it logs. */
async function start(name: string, state: SavedState) {
  const files: string[] = [];
  const logs: string[] = [];
  const host = createNodeHost(name, {
    loadState: async () => state,
    readFile: (file) => {
      files.push(file);
      return readImageFile(file);
    },
    log: (message) => logs.push(message),
  });
  try {
    const result = await host.boot();
    const agent = new AgentClient(hostAgentChannel(host));
    await agent.ping({ timeoutMs: 30_000 });
    agent.dispose();
    return { result, files: files.sort(), logs };
  } finally {
    await host.shutdown();
  }
}

async function savedState(): Promise<SavedState> {
  const state = await readSavedState();
  if (!state) throw new Error('public/images/state.json is missing: npm run build:state');
  return state;
}

describe('a host offered the saved state', () => {
  it('restores it reading only the BIOS of the guest files', async () => {
    const { result, files, logs } = await start('fits', await savedState());
    expect(result.fromState).toBe(true);
    expect(files).toEqual([(await readManifest()).bios.file]);
    expect(logs).toEqual([]);
  });

  it('boots cold from all the guest files when the state was made from another kernel, and says why', async () => {
    const state = await savedState();
    const stale = { ...state, manifest: { ...state.manifest, made_from: { ...state.manifest.made_from, kernel: '0'.repeat(64) } } };
    const { result, files, logs } = await start('stale', stale);
    expect(result.fromState).toBe(false);
    expect(result.stateProblem).toMatch(/^the saved state is stale: kernel differs/);
    const manifest = await readManifest();
    expect(files).toEqual([manifest.bios, manifest.kernel, manifest.initrd, manifest.initrd_tools].map((a) => a.file).sort());
    expect(logs).toEqual([`host stale: booting, not restoring the saved state: ${result.stateProblem}`]);
  });

  it('boots cold when the state does not restore', async () => {
    const state = await savedState();
    const garbage = new Uint8Array(state.data.byteLength).fill(0x5a).buffer;
    const { result, logs } = await start('broken', { ...state, data: garbage });
    expect(result.fromState).toBe(false);
    expect(result.stateProblem).toBeTruthy();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('booting, not restoring the saved state');
  });
});

// The committed guest artifacts are exactly what public/images/manifest.json describes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_NIC } from '../src/common/host/EmulatedHost';
import { stateMismatch, stateOriginFor, V86_VERSION } from '../src/common/host/savedState';
import { IMAGES_DIR, readManifest, readSavedState } from '../src/node/nodeHost';

describe('committed guest images', async () => {
  const manifest = await readManifest();
  const artifacts = { kernel: manifest.kernel, initrd: manifest.initrd, initrd_tools: manifest.initrd_tools, bios: manifest.bios };

  it.each(Object.entries(artifacts))('%s matches its sha256 and size', (_, ref) => {
    const data = readFileSync(IMAGES_DIR + ref.file);
    expect(data.length).toBe(ref.size);
    expect(createHash('sha256').update(data).digest('hex')).toBe(ref.sha256);
  });

  it('names the Debian package versions it was built from', () => {
    for (const pkg of ['linux-source-6.1', 'busybox-static:i386', 'seabios']) {
      expect(manifest.sources[pkg]).toMatch(/^\S+$/);
    }
    expect(manifest.memory_mb).toBeGreaterThan(64);
  });
});

describe('the committed saved state', async () => {
  const manifest = await readManifest();
  const state = await readSavedState();

  it('exists, and matches its sha256 and size', () => {
    expect(state, 'no public/images/state.json: npm run build:state').toBeDefined();
    const data = readFileSync(IMAGES_DIR + state!.manifest.file);
    expect(data.length).toBe(state!.manifest.size);
    expect(createHash('sha256').update(data).digest('hex')).toBe(state!.manifest.sha256);
  });

  it('was made from the committed artifacts by this v86 (else: npm run build:state)', () => {
    const v86 = JSON.parse(readFileSync(new URL('../node_modules/v86/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(V86_VERSION).toBe(v86.version);
    expect(stateMismatch(state!.manifest, stateOriginFor(manifest, manifest.memory_mb, DEFAULT_NIC))).toBeUndefined();
  });
});

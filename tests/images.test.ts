// The committed guest artifacts are exactly what public/images/manifest.json describes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGES_DIR, readManifest } from '../src/node/nodeHost';

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

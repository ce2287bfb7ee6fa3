import { describe, expect, it } from 'vitest';
import { loadGuestImages, ManifestError, parseManifest, type GuestManifest } from './manifest';

const artifact = (file: string, size: number) => ({ file, sha256: 'a'.repeat(64), size });
const valid: GuestManifest = {
  format: 1, arch: 'i386', kernel_release: '6.1', cmdline: 'console=ttyS0', memory_mb: 128, sources: {},
  kernel: artifact('bzImage', 3), initrd: artifact('base.cpio', 2), initrd_tools: artifact('ctlab.cpio', 1),
  bios: artifact('seabios.bin', 4),
};

describe('parseManifest', () => {
  it('accepts a well-formed manifest', () => {
    expect(parseManifest(structuredClone(valid)).kernel.file).toBe('bzImage');
  });

  it.each([
    ['not an object', null, /not an object/],
    ['wrong format', { ...valid, format: 2 }, /format 2/],
    ['wrong arch', { ...valid, arch: 'x86_64' }, /arch x86_64/],
    ['missing kernel', { ...valid, kernel: undefined }, /"kernel"/],
    ['path in a file name', { ...valid, bios: { ...valid.bios, file: '../etc/passwd' } }, /"bios"/],
    ['bad checksum', { ...valid, initrd: { ...valid.initrd, sha256: 'xyz' } }, /"initrd"/],
    ['too little memory', { ...valid, memory_mb: 64 }, /memory_mb/],
  ])('rejects %s', (_, input, message) => {
    expect(() => parseManifest(input)).toThrow(ManifestError);
    expect(() => parseManifest(input)).toThrow(message);
  });
});

describe('loadGuestImages', () => {
  const files: Record<string, number[]> = {
    'bzImage': [1, 2, 3], 'base.cpio': [4, 5], 'ctlab.cpio': [6], 'seabios.bin': [7, 8, 9, 10],
  };
  const read = async (file: string) => new Uint8Array(files[file]!).buffer;

  it('joins the initramfs archives in order and reports progress to the total', async () => {
    const progress: number[] = [];
    const images = await loadGuestImages(valid, read, (p) => progress.push(p.loadedBytes / p.totalBytes));
    expect([...new Uint8Array(images.initrd)]).toEqual([4, 5, 6]);
    expect(progress.at(-1)).toBe(1);
  });

  it('refuses a file whose size differs from the manifest', async () => {
    const short = async (file: string) => (file === 'bzImage' ? new Uint8Array(2).buffer : read(file));
    await expect(loadGuestImages(valid, short)).rejects.toThrow(/bzImage: 2 bytes, manifest says 3/);
  });
});

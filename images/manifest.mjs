// Writes public/images/manifest.json: what the host runtime boots, with checksums and the
// Debian package versions the artifacts were built from.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [out, work] = process.argv.slice(2);
const artifact = (file) => {
  const data = readFileSync(join(out, file));
  return { file, sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
};
const debVersion = (pkg) =>
  execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
// CTLAB_KEEP_KERNEL=1 (build.sh): the kernel is the one the manifest already describes.
const kept = process.env.CTLAB_KEEP_KERNEL === '1'
  ? JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) : undefined;
const kernelRelease = kept?.kernel_release ?? readFileSync(
  join(work, 'linux-source-6.1/include/config/kernel.release'), 'utf8').trim();

const manifest = {
  format: 1,
  arch: 'i386',
  kernel: artifact('bzImage'),
  kernel_release: kernelRelease,
  // The kernel unpacks the archives in order as one initramfs: base first, then ctlab's files.
  initrd: artifact('base.cpio'),
  initrd_tools: artifact('ctlab.cpio'),
  bios: artifact('seabios.bin'),
  cmdline: 'console=ttyS0 quiet tsc=reliable',
  memory_mb: 128,
  sources: Object.fromEntries(
    ['linux-source-6.1', 'busybox-static:i386', 'seabios', 'gcc-12']
      .map((pkg) => [pkg, pkg === 'linux-source-6.1' && kept ? kept.sources[pkg] : debVersion(pkg)])),
};
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`manifest: kernel ${manifest.kernel.size} B, initrd ${manifest.initrd.size} + ${manifest.initrd_tools.size} B`);

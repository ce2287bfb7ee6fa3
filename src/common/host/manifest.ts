/** public/images/manifest.json: the guest build the hosts boot (written by images/manifest.mjs). */
export interface ArtifactRef {
  file: string;
  sha256: string;
  size: number;
}

export interface GuestManifest {
  format: 1;
  arch: 'i386';
  kernel: ArtifactRef;
  kernel_release: string;
  /** Base initramfs archive (busybox); `initrd_tools` is appended to it at boot. */
  initrd: ArtifactRef;
  initrd_tools: ArtifactRef;
  bios: ArtifactRef;
  cmdline: string;
  memory_mb: number;
  sources: Record<string, string>;
}

/** The artifacts of a manifest, fetched and size-checked. */
export interface GuestImages {
  manifest: GuestManifest;
  bios: ArrayBuffer;
  kernel: ArrayBuffer;
  /** Both initramfs archives joined, as the kernel reads them. */
  initrd: ArrayBuffer;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const isArtifact = (v: unknown): v is ArtifactRef =>
  typeof v === 'object' && v !== null &&
  typeof (v as ArtifactRef).file === 'string' && /^[\w.-]+$/.test((v as ArtifactRef).file) &&
  typeof (v as ArtifactRef).sha256 === 'string' && /^[0-9a-f]{64}$/.test((v as ArtifactRef).sha256) &&
  Number.isSafeInteger((v as ArtifactRef).size) && (v as ArtifactRef).size > 0;

/** Checks the shape of a parsed manifest; throws ManifestError naming the first bad field. */
export function parseManifest(json: unknown): GuestManifest {
  if (typeof json !== 'object' || json === null) throw new ManifestError('manifest is not an object');
  const m = json as Record<string, unknown>;
  if (m.format !== 1) throw new ManifestError(`unsupported manifest format ${String(m.format)}`);
  if (m.arch !== 'i386') throw new ManifestError(`unsupported guest arch ${String(m.arch)}`);
  for (const key of ['kernel', 'initrd', 'initrd_tools', 'bios'] as const) {
    if (!isArtifact(m[key])) throw new ManifestError(`manifest field "${key}" is not an artifact`);
  }
  if (typeof m.cmdline !== 'string') throw new ManifestError('manifest field "cmdline" is not a string');
  if (!Number.isInteger(m.memory_mb) || (m.memory_mb as number) <= 64) {
    // v86 places the initrd at 64 MiB, so a guest needs more than that.
    throw new ManifestError('manifest field "memory_mb" must be an integer above 64');
  }
  return json as GuestManifest;
}

export interface FetchProgress {
  loadedBytes: number;
  totalBytes: number;
}

/** Reads one artifact and checks its size against the manifest. */
export async function readArtifact(ref: ArtifactRef, read: (file: string) => Promise<ArrayBuffer>): Promise<ArrayBuffer> {
  const data = await read(ref.file);
  if (data.byteLength !== ref.size) throw new ManifestError(`${ref.file}: ${data.byteLength} bytes, manifest says ${ref.size}`);
  return data;
}

/**
 * Fetches every artifact of a manifest through `read` (fetch in the browser, fs under Node) and
 * checks each size against the manifest, so a stale or truncated file fails here, not mid-boot.
 */
export async function loadGuestImages(
  manifest: GuestManifest,
  read: (file: string) => Promise<ArrayBuffer>,
  onProgress?: (p: FetchProgress) => void,
): Promise<GuestImages> {
  const refs = [manifest.bios, manifest.kernel, manifest.initrd, manifest.initrd_tools];
  const totalBytes = refs.reduce((sum, r) => sum + r.size, 0);
  let loadedBytes = 0;
  const [bios, kernel, base, tools] = await Promise.all(refs.map(async (ref) => {
    const data = await readArtifact(ref, read);
    loadedBytes += data.byteLength;
    onProgress?.({ loadedBytes, totalBytes });
    return data;
  })) as [ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  const initrd = new Uint8Array(base.byteLength + tools.byteLength);
  initrd.set(new Uint8Array(base), 0);
  initrd.set(new Uint8Array(tools), base.byteLength);
  return { manifest, bios, kernel, initrd: initrd.buffer };
}

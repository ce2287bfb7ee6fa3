// Runs hosts in this Node process (tests, benchmarks): images from public/images, v86's wasm from
// node_modules, both read once and shared by every host.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EmulatedHost, type EmulatedHostOptions, type WasmInstantiator } from '../common/host/EmulatedHost';
import { loadGuestImages, parseManifest, ManifestError, type GuestImages, type GuestManifest } from '../common/host/manifest';
import { parseStateManifest, type SavedState } from '../common/host/savedState';

export const IMAGES_DIR = fileURLToPath(new URL('../../public/images/', import.meta.url));

let manifestPromise: Promise<GuestManifest> | undefined;
let imagesPromise: Promise<GuestImages> | undefined;
let wasmModule: Promise<WebAssembly.Module> | undefined;
let statePromise: Promise<SavedState | undefined> | undefined;

/** public/images/state.json and its state file, read once; undefined when there is no state. */
export function readSavedState(): Promise<SavedState | undefined> {
  statePromise ??= (async () => {
    let text: string;
    try {
      text = await readFile(IMAGES_DIR + 'state.json', 'utf8');
    } catch {
      return undefined;
    }
    const manifest = parseStateManifest(JSON.parse(text));
    const data = await readFile(IMAGES_DIR + manifest.file);
    if (data.byteLength !== manifest.size) {
      throw new ManifestError(`${manifest.file}: ${data.byteLength} bytes, state.json says ${manifest.size}`);
    }
    return { manifest, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer };
  })();
  return statePromise;
}

/** CTLAB_COLD_BOOT=1 in the environment makes Node hosts boot even when a saved state fits. */
export const coldBootForced = (): boolean => process.env.CTLAB_COLD_BOOT === '1';

export function readManifest(): Promise<GuestManifest> {
  manifestPromise ??= readFile(IMAGES_DIR + 'manifest.json', 'utf8').then((text) => parseManifest(JSON.parse(text)));
  return manifestPromise;
}

async function readImages(): Promise<GuestImages> {
  imagesPromise ??= readManifest().then((manifest) =>
    loadGuestImages(manifest, async (file) => {
      const data = await readFile(IMAGES_DIR + file);
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    }));
  return imagesPromise;
}

const instantiateWasm: WasmInstantiator = async (imports) => {
  wasmModule ??= readFile(createRequire(import.meta.url).resolve('v86/build/v86.wasm'))
    .then((bytes) => WebAssembly.compile(bytes));
  const instance = await WebAssembly.instantiate(await wasmModule, imports);
  return instance.exports;
};

/**
 * A host in this thread. It starts from the saved state when that fits (pass `loadState:
 * undefined` to always boot cold).
 */
export function createNodeHost(name: string, options: Partial<EmulatedHostOptions> = {}): EmulatedHost {
  return new EmulatedHost({
    name,
    loadImages: async (onProgress) => {
      const images = await readImages();
      const total = images.kernel.byteLength + images.initrd.byteLength + images.bios.byteLength;
      onProgress({ loadedBytes: total, totalBytes: total });
      return images;
    },
    wasm: instantiateWasm,
    loadState: coldBootForced() ? undefined : readSavedState,
    log: (message) => console.warn(message),
    ...options,
  });
}

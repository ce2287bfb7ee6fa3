// Runs hosts in this Node process (tests, benchmarks): images from public/images, v86's wasm from
// node_modules, both read once and shared by every host.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EmulatedHost, type EmulatedHostOptions, type WasmInstantiator } from '../common/host/EmulatedHost';
import { parseManifest, ManifestError, type GuestManifest } from '../common/host/manifest';
import { parseStateManifest, type SavedState } from '../common/host/savedState';

export const IMAGES_DIR = fileURLToPath(new URL('../../public/images/', import.meta.url));

let manifestPromise: Promise<GuestManifest> | undefined;
const files = new Map<string, Promise<ArrayBuffer>>();
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

/** A guest artifact, read once and shared by every host (v86 copies what it loads). */
export function readImageFile(file: string): Promise<ArrayBuffer> {
  let read = files.get(file);
  if (!read) {
    read = readFile(IMAGES_DIR + file).then((data) => data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    files.set(file, read);
  }
  return read;
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
    loadManifest: readManifest,
    readFile: readImageFile,
    wasm: instantiateWasm,
    loadState: coldBootForced() ? undefined : readSavedState,
    log: (message) => console.warn(message),
    ...options,
  });
}

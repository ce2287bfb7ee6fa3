// What every host of the tab starts from, fetched by the page once for all of them: manifest.json,
// the saved state and v86's compiled wasm. Each worker fetching (and compiling) its own copy cost
// the two cores twice the work while the hosts were starting.
import wasmUrl from 'v86/build/v86.wasm?url';
import { parseManifest } from '../common/host/manifest';
import { parseStateManifest, type SavedState } from '../common/host/savedState';
import type { SharedGuestFiles as Files } from '../common/host/hostWorkerProtocol';

/** The compiled module is structured-cloned to each worker, which only instantiates it. */
export type SharedGuestFiles = Files<WebAssembly.Module>;

export async function fetchBuffer(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** The site's saved state (state.json and its file), or undefined when the site has none. */
async function fetchState(imagesUrl: string): Promise<SavedState | undefined> {
  const response = await fetch(imagesUrl + 'state.json');
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`state.json: HTTP ${response.status}`);
  const manifest = parseStateManifest(await response.json());
  const data = await fetchBuffer(imagesUrl + manifest.file);
  if (data.byteLength !== manifest.size) throw new Error(`${manifest.file}: ${data.byteLength} bytes, state.json says ${manifest.size}`);
  return { manifest, data };
}

/** Fetches all three at once; rejects only when the manifest or the wasm cannot be had. */
export async function fetchSharedGuestFiles(imagesUrl: string): Promise<SharedGuestFiles> {
  const state = fetchState(imagesUrl).then(
    (loaded) => ({ state: loaded }),
    (err: unknown) => ({ state: undefined, stateError: err instanceof Error ? err.message : String(err) }),
  );
  const [manifest, wasm, saved] = await Promise.all([
    fetch(imagesUrl + 'manifest.json').then(async (response) => {
      if (!response.ok) throw new Error(`manifest.json: HTTP ${response.status}`);
      return parseManifest(await response.json());
    }),
    WebAssembly.compileStreaming(fetch(wasmUrl)),
    state,
  ]);
  return { manifest, wasm, ...saved };
}

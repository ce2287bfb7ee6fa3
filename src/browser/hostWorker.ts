/// <reference lib="webworker" />
// Web Worker entry: one emulated host per worker, so the page stays responsive while it runs.
import wasmUrl from 'v86/build/v86.wasm?url';
import { EmulatedHost, type NicOptions } from '../common/host/EmulatedHost';
import { PortEndpoint } from '../common/network/PortEndpoint';
import { loadGuestImages, parseManifest } from '../common/host/manifest';
import { parseStateManifest, type SavedState } from '../common/host/savedState';
import type { HostWorkerReply, HostWorkerRequest } from '../common/host/hostWorkerProtocol';

declare const self: DedicatedWorkerGlobalScope;

let host: EmulatedHost | undefined;
let nicLink: PortEndpoint | undefined;
const wasmModule = WebAssembly.compileStreaming(fetch(wasmUrl));

const post = (message: HostWorkerReply, transfer: Transferable[] = []) => self.postMessage(message, transfer);

async function fetchBuffer(url: string): Promise<ArrayBuffer> {
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

/** Joins the host's NIC and the switch's port once both exist (the port may come first). */
function wireNic(): void {
  if (!host || !nicLink) return;
  const nic = host.nic;
  const link = nicLink;
  nic.onFrame((frame) => link.send(frame));
  link.onFrame((frame) => nic.send(frame));
}

function createHost(name: string, imagesUrl: string, memoryMb?: number, nic?: NicOptions): EmulatedHost {
  const created = new EmulatedHost({
    name,
    memoryMb,
    nic,
    loadImages: async (onProgress) => {
      const manifest = parseManifest(await (await fetch(imagesUrl + 'manifest.json')).json());
      return loadGuestImages(manifest, (file) => fetchBuffer(imagesUrl + file), onProgress);
    },
    wasm: async (imports) => (await WebAssembly.instantiate(await wasmModule, imports)).exports,
    loadState: () => fetchState(imagesUrl),
    log: (message) => console.warn(message),
  });
  created.onStateChange((state) => post({ type: 'state', state }));
  created.onProgress((progress) => post({ type: 'progress', progress }));
  created.onConsoleOutput((data) => post({ type: 'console', data }, [data.buffer as ArrayBuffer]));
  // EmulatedHost fires a fresh copy per chunk, so its whole buffer can be handed over.
  created.onAgentData((data) => post({ type: 'agent', data }, [data.buffer as ArrayBuffer]));
  return created;
}

async function handle(request: Exclude<HostWorkerRequest, { type: 'console' | 'agent' | 'nic' }>): Promise<unknown> {
  if (request.type === 'boot') {
    if (host) throw new Error('this worker already runs a host');
    host = createHost(request.name, request.imagesUrl, request.memoryMb, request.nic);
    wireNic();
    return host.boot();
  }
  if (!host) throw new Error('no host booted in this worker');
  switch (request.type) {
    case 'stats': return host.stats();
    case 'saveState': return host.saveState();
    case 'restoreState': return host.restoreState(request.state);
    case 'shutdown': return host.shutdown();
  }
}

self.onmessage = (event: MessageEvent<HostWorkerRequest>) => {
  const request = event.data;
  if (request.type === 'console') {
    host?.writeConsole(request.data);
    return;
  }
  if (request.type === 'nic') {
    nicLink?.dispose();
    nicLink = new PortEndpoint(request.port);
    wireNic();
    return;
  }
  if (request.type === 'agent') {
    try {
      host?.writeAgent(request.data);
    } catch {
      // No emulator (not booted yet, or shut down): the bytes reach no one. Throwing here would
      // surface as a worker error and fail every pending request.
    }
    return;
  }
  handle(request).then(
    (value) => post({ type: 'reply', id: request.id, ok: true, value: value as never },
      value instanceof ArrayBuffer ? [value] : []),
    (err: unknown) => post({ type: 'reply', id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
};

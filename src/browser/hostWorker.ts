/// <reference lib="webworker" />
// Web Worker entry: one emulated host per worker, so the page stays responsive while it runs.
import { EmulatedHost, type NicOptions } from '../common/host/EmulatedHost';
import { PortEndpoint } from '../common/network/PortEndpoint';
import type { HostWorkerReply, HostWorkerRequest } from '../common/host/hostWorkerProtocol';
import { fetchBuffer, type SharedGuestFiles } from './sharedGuestFiles';

declare const self: DedicatedWorkerGlobalScope;

let host: EmulatedHost | undefined;
let nicLink: PortEndpoint | undefined;

const post = (message: HostWorkerReply, transfer: Transferable[] = []) => self.postMessage(message, transfer);

/** Joins the host's NIC and the switch's port once both exist (the port may come first). */
function wireNic(): void {
  if (!host || !nicLink) return;
  const nic = host.nic;
  const link = nicLink;
  nic.onFrame((frame) => link.send(frame));
  link.onFrame((frame) => nic.send(frame));
}

function createHost(name: string, imagesUrl: string, files: SharedGuestFiles, memoryMb?: number, nic?: NicOptions): EmulatedHost {
  const created = new EmulatedHost({
    name,
    memoryMb,
    nic,
    loadManifest: async () => files.manifest,
    // The BIOS, and for a cold boot the kernel and initramfs: fetched here, only when needed.
    readFile: (file) => fetchBuffer(imagesUrl + file),
    wasm: async (imports) => (await WebAssembly.instantiate(files.wasm, imports)).exports,
    loadState: async () => {
      if (files.stateError) throw new Error(files.stateError);
      return files.state;
    },
    log: (message) => console.warn(message),
  });
  created.onStateChange((state) => post({ type: 'state', state }));
  created.onProgress((progress) => post({ type: 'progress', progress }));
  created.onConsoleOutput((data) => post({ type: 'console', data }, [data.buffer as ArrayBuffer]));
  // EmulatedHost fires a fresh copy per chunk, so its whole buffer can be handed over.
  created.onAgentData((data) => post({ type: 'agent', data }, [data.buffer as ArrayBuffer]));
  return created;
}

async function handle(request: Exclude<HostWorkerRequest<WebAssembly.Module>, { type: 'console' | 'agent' | 'nic' | 'name' }>): Promise<unknown> {
  if (request.type === 'boot') {
    if (host) throw new Error('this worker already runs a host');
    host = createHost(request.name, request.imagesUrl, request.files, request.memoryMb, request.nic);
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

self.onmessage = (event: MessageEvent<HostWorkerRequest<WebAssembly.Module>>) => {
  const request = event.data;
  if (request.type === 'console') {
    host?.writeConsole(request.data);
    return;
  }
  if (request.type === 'name') {
    if (host) host.name = request.name;
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

/// <reference lib="webworker" />
// The network worker: this tab's switch, and its link to the other tabs (BroadcastChannel). Host
// workers send frames here over MessagePorts, so frames never pass through the page's UI thread.
import { LocalNetwork } from '../common/network/LocalNetwork';
import { PortEndpoint } from '../common/network/PortEndpoint';
import type { NetworkWorkerReply, NetworkWorkerRequest } from '../common/network/networkWorkerProtocol';

declare const self: DedicatedWorkerGlobalScope;

const network = new LocalNetwork(new BroadcastChannel('ctlab-backplane'));
const links = new Map<string, PortEndpoint>();
const post = (message: NetworkWorkerReply) => self.postMessage(message);
network.onChange(() => post({ type: 'changed' }));

async function call(request: Extract<NetworkWorkerRequest, { type: 'call' }>): Promise<unknown> {
  switch (request.method) {
    case 'tabId': return network.tabId();
    case 'ports': return network.ports();
    case 'members': return network.members();
    case 'malformedCount': return network.malformedCount();
    case 'claimNodes': return network.claimNodes(request.count);
    case 'setFault': return network.setFault(request.portId, request.fault);
  }
}

self.onmessage = (event: MessageEvent<NetworkWorkerRequest>) => {
  const request = event.data;
  switch (request.type) {
    case 'attach': {
      links.get(request.name)?.dispose();
      const link = new PortEndpoint(request.port);
      links.set(request.name, link);
      network.attachHost(request.name, link);
      return;
    }
    case 'detach':
      network.detachHost(request.name);
      links.get(request.name)?.dispose();
      links.delete(request.name);
      return;
    case 'announce':
      network.announce(request.hosts, request.containerIps);
      return;
    case 'call':
      call(request).then(
        (value) => post({ type: 'reply', id: request.id, ok: true, value: value as never }),
        (err: unknown) => post({ type: 'reply', id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  }
};

// A closing tab says goodbye, so the others see it gone at once rather than after 3 s.
self.addEventListener('close', () => network.dispose());

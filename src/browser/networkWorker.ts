/// <reference lib="webworker" />
// The network worker: this tab's switch, and its link to the other tabs (BroadcastChannel). Host
// workers send frames here over MessagePorts, so frames never pass through the page's UI thread.
import { LocalNetwork } from '../common/network/LocalNetwork';
import { PortEndpoint } from '../common/network/PortEndpoint';
import { BACKPLANE_CHANNEL, type NetworkWorkerReply, type NetworkWorkerRequest } from '../common/network/networkWorkerProtocol';

declare const self: DedicatedWorkerGlobalScope;

const network = new LocalNetwork(new BroadcastChannel(BACKPLANE_CHANNEL));
const links = new Map<string, PortEndpoint>();
const post = (message: NetworkWorkerReply) => self.postMessage(message);
network.onChange(() => post({ type: 'changed' }));

async function call(request: Extract<NetworkWorkerRequest, { type: 'call' }>): Promise<unknown> {
  switch (request.method) {
    case 'tabId': return network.tabId();
    case 'ports': return network.ports();
    case 'members': return network.members();
    case 'malformedCount': return network.malformedCount();
    case 'migrateKey': return network.migrateKey();
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
    case 'dispose':
      network.dispose(); // TabLink sends its bye: the other tabs see this one gone at once
      self.close();
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

// A host in a Node worker thread (benchmarks: hosts in separate threads, as in the browser).
// The parent sends {boot, name, nic} and console input; the NIC goes over a MessagePort.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { PortEndpoint, type MessagePortLike } from '../common/network/PortEndpoint';
import { createNodeHost } from './nodeHost';

const { name, nic, nicPort } = workerData as { name: string; nic: { type: 'virtio' | 'ne2k'; mtu?: number }; nicPort: MessagePort };
const host = createNodeHost(name, { nic });
// worker_threads ports deliver through `on('message')`; adapt them to the MessagePortLike shape.
const portLike: MessagePortLike = {
  postMessage: (m, t) => nicPort.postMessage(m, t as never),
  set onmessage(handler) {
    nicPort.removeAllListeners('message');
    const deliver = handler;
    if (deliver) nicPort.on('message', (data: unknown) => deliver({ data }));
  },
  get onmessage(): MessagePortLike['onmessage'] { return null; },
  close: () => nicPort.close(),
};
const link = new PortEndpoint(portLike);
host.nic.onFrame((frame) => link.send(frame));
link.onFrame((frame) => host.nic.send(frame));
host.onConsoleOutput((data) => parentPort!.postMessage({ type: 'console', data }));
parentPort!.on('message', async (message: { type: string; data?: Uint8Array }) => {
  if (message.type === 'console') host.writeConsole(message.data!);
  if (message.type === 'boot') parentPort!.postMessage({ type: 'booted', result: await host.boot() });
  if (message.type === 'shutdown') {
    await host.shutdown();
    parentPort!.postMessage({ type: 'down' });
  }
});

// A host in a Node worker thread (see ThreadHost). The parent sends boot/shutdown, console input and
// agent bytes; console output and agent bytes come back; the NIC's frames go over their own port.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { NicOptions } from '../common/host/EmulatedHost';
import { PortEndpoint } from '../common/network/PortEndpoint';
import { createNodeHost } from './nodeHost';
import { portLike } from './ThreadHost';

const { name, nic, nicPort } = workerData as { name: string; nic: NicOptions; nicPort: MessagePort };
const host = createNodeHost(name, { nic });
const link = new PortEndpoint(portLike(nicPort));
host.nic.onFrame((frame) => link.send(frame));
link.onFrame((frame) => host.nic.send(frame));
host.onConsoleOutput((data) => parentPort!.postMessage({ type: 'console', data }));
host.onAgentData((data) => parentPort!.postMessage({ type: 'agent', data }, [data.buffer as ArrayBuffer]));
parentPort!.on('message', async (message: { type: string; data?: Uint8Array }) => {
  try {
    if (message.type === 'console') host.writeConsole(message.data!);
    if (message.type === 'agent') host.writeAgent(message.data!);
  } catch {
    // No emulator (not booted yet, or shut down): the bytes reach no one.
  }
  if (message.type === 'boot') {
    try {
      parentPort!.postMessage({ type: 'booted', result: await host.boot() });
    } catch (err) {
      parentPort!.postMessage({ type: 'booted', error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (message.type === 'stats') parentPort!.postMessage({ type: 'stats', result: await host.stats() });
  if (message.type === 'shutdown') {
    await host.shutdown();
    link.dispose();
    parentPort!.postMessage({ type: 'down' });
  }
});

// The page's cluster: hosts in Web Workers, the switch in a network worker, joined by MessagePorts.
import { Cluster } from '../common/cluster/Cluster';
import { NetworkWorkerClient } from './NetworkWorkerClient';
import { WorkerHost } from './WorkerHost';

export function createBrowserCluster(imagesUrl: string): Cluster {
  const network = new NetworkWorkerClient();
  const cluster = new Cluster(network, (identity) => {
    const host = new WorkerHost(identity.name, imagesUrl, { nic: { type: 'virtio' } });
    host.connectNic(network.attachHost(identity.name));
    return host;
  });
  return cluster;
}

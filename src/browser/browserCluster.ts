// The page's cluster: hosts in Web Workers, the switch in a network worker, joined by MessagePorts.
import { Cluster } from '../common/cluster/Cluster';
import { NetworkWorkerClient } from './NetworkWorkerClient';
import { WorkerHost } from './WorkerHost';

export function createBrowserCluster(imagesUrl: string): Cluster {
  const network = new NetworkWorkerClient();
  const cluster = new Cluster(network, (identity) => {
    // The NIC is EmulatedHost's DEFAULT_NIC (not imported here: it would pull v86 into the page).
    const host = new WorkerHost(identity.name, imagesUrl);
    host.connectNic(network.attachHost(identity.name));
    return host;
  });
  return cluster;
}

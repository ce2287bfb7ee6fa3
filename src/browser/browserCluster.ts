// The page's cluster: hosts in Web Workers, the switch in a network worker, joined by MessagePorts.
import { Cluster } from '../common/cluster/Cluster';
import { NetworkWorkerClient } from './NetworkWorkerClient';
import { fetchSharedGuestFiles } from './sharedGuestFiles';
import { WorkerHost } from './WorkerHost';

/**
 * A cluster whose first `prestart` hosts start booting at once, before the tabs have agreed on
 * their node numbers (claimNodes waits ~0.6 s for other tabs to object): restoring the saved state
 * takes longer than that, so the claim no longer delays the hosts. A restored host has no identity
 * of its own until host_configure, so starting it unnamed changes nothing the guest sees.
 */
class BrowserCluster extends Cluster {
  private readonly spares: WorkerHost[];

  constructor(imagesUrl: string, prestart: number) {
    const network = new NetworkWorkerClient();
    const files = fetchSharedGuestFiles(imagesUrl);
    const spares = Array.from({ length: prestart }, (_, i) => {
      const host = new WorkerHost(`tab-host-${i + 1}`, imagesUrl, files);
      host.prestart();
      return host;
    });
    super(network, (identity) => {
      // The NIC is EmulatedHost's DEFAULT_NIC (not imported here: it would pull v86 into the page).
      const spare = spares.shift();
      spare?.rename(identity.name);
      const host = spare ?? new WorkerHost(identity.name, imagesUrl, files);
      host.connectNic(network.attachHost(identity.name));
      return host;
    });
    this.spares = spares;
  }

  override dispose(): void {
    // Spares the cluster never took (adding hosts failed) are still running emulators.
    for (const host of this.spares.splice(0)) host.dispose();
    super.dispose();
  }
}

export function createBrowserCluster(imagesUrl: string, prestart = 0): Cluster {
  return new BrowserCluster(imagesUrl, prestart);
}

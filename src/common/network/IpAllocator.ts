// Cluster-wide container IP allocation.
//
// Node N owns the block 10.0.N.1 .. 10.0.N.254 (in the backplane's 10.0.0.0/16; 10.0.0.N itself is
// the host's own address, and node numbers start at 1, so the blocks never meet the hosts'). Only
// the tab that holds node N allocates from N's block, and node numbers are unique across tabs (see
// TabLink.claimNodes), so two tabs allocating at the same moment for different nodes can never
// pick the same address: there is nothing to agree on and no race. `inUse` (every container IP
// the cluster reports: TabLink.members() plus this tab's own hosts) still guards against addresses
// of N's block that were set by hand or that survive from a container migrated in from elsewhere.
import { isNodeNumber } from './addresses';

export const FIRST_HOST_OCTET = 1;
export const LAST_HOST_OCTET = 254;

/** "10.0.3.7/16" → "10.0.3.7"; anything without a prefix is taken as it is. */
function addressPart(ip: string): string {
  const slash = ip.indexOf('/');
  return slash === -1 ? ip : ip.slice(0, slash);
}

/**
 * The lowest `10.0.${node}.${k}/16` (k in 1..254) whose address is not in `inUse` (entries with or
 * without a prefix length; the prefix does not matter, the address does). Throws when node's
 * block is full.
 */
export function allocateContainerIp(node: number, inUse: Iterable<string>): string {
  if (!isNodeNumber(node)) throw new RangeError(`node number ${node} is not an integer in 1..250`);
  const used = new Set<string>();
  for (const ip of inUse) used.add(addressPart(ip));
  for (let k = FIRST_HOST_OCTET; k <= LAST_HOST_OCTET; k++) {
    const address = `10.0.${node}.${k}`;
    if (!used.has(address)) return `${address}/16`;
  }
  throw new Error(
    `no free container IP on node${node}: all ${LAST_HOST_OCTET - FIRST_HOST_OCTET + 1} addresses ` +
      `10.0.${node}.${FIRST_HOST_OCTET}-${LAST_HOST_OCTET} are in use`,
  );
}

/**
 * allocateContainerIp plus memory of what it handed out: an address stays taken from allocate()
 * until release(), so two containers created back to back on one node get different addresses
 * even before the first one shows up in the cluster's lists.
 */
export class IpAllocator {
  private readonly handedOut = new Set<string>();

  allocate(node: number, inUse: Iterable<string>): string {
    const ip = allocateContainerIp(node, [...inUse, ...this.handedOut]);
    this.handedOut.add(ip);
    return ip;
  }

  /** The container using `ip` is gone (or its address now shows in `inUse`). */
  release(ip: string): void {
    this.handedOut.delete(ip);
    // Released under another prefix spelling: compare addresses.
    const address = addressPart(ip);
    for (const held of this.handedOut) if (addressPart(held) === address) this.handedOut.delete(held);
  }
}

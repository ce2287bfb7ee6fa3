// Messages between the page (NetworkWorkerClient) and the network worker (LocalNetwork).
import type { MessagePortLike } from './PortEndpoint';

/** The BroadcastChannel that joins the tabs of one ctlab page (same origin). */
export const BACKPLANE_CHANNEL = 'ctlab-backplane';
import type { ClusterMember } from './TabLink';
import type { ClusterHost, LinkFault, PortInfo } from './types';

export type NetworkWorkerRequest =
  /** A port whose other end is a host worker's NIC (transferred): attached as switch port `name`. */
  | { type: 'attach'; name: string; port: MessagePortLike }
  | { type: 'detach'; name: string }
  /** The page is going away: say goodbye to the other tabs, then stop. */
  | { type: 'dispose' }
  | { type: 'announce'; hosts: ClusterHost[]; containerIps: string[] }
  | { type: 'call'; id: number; method: 'tabId' | 'ports' | 'members' | 'malformedCount' | 'migrateKey' }
  | { type: 'call'; id: number; method: 'claimNodes'; count: number }
  | { type: 'call'; id: number; method: 'setFault'; portId: number; fault: Partial<LinkFault> };

export type NetworkWorkerReply =
  | { type: 'reply'; id: number; ok: true; value: string | number | number[] | PortInfo[] | ClusterMember[] | undefined }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'changed' };

// The virtual network's shared vocabulary: links that carry Ethernet frames, switch ports and
// their counters and faults, and the cluster's members. Implemented in VirtualSwitch.ts and
// TabLink.ts; the UI reads only these types.
import type { Event } from '../util/Emitter';

/** "02:43:0a:00:01:05": six lower-case hex pairs. */
export type MacAddress = string;

/** One side of a link: frames sent here reach the other side, whose frames arrive on onFrame. */
export interface FrameEndpoint {
  send(frame: Uint8Array): void;
  readonly onFrame: Event<Uint8Array>;
}

export type PortKind = 'host' | 'tabs';

export interface PortCounters {
  rxFrames: number;  // frames the switch received on this port
  rxBytes: number;
  txFrames: number;  // frames the switch sent out of this port
  txBytes: number;
  dropped: number;   // lost to a fault (link down or loss) or a full queue
}

/** Faults injected on a port's link, in both directions. */
export interface LinkFault {
  down: boolean;
  /** 0..100: the chance that each frame is lost. */
  lossPercent: number;
  /** Extra one-way delay added to every frame, in ms. */
  latencyMs: number;
}

export interface PortInfo {
  id: number;
  name: string;
  kind: PortKind;
  counters: PortCounters;
  fault: LinkFault;
  /** MACs the switch has learned behind this port. */
  macs: MacAddress[];
}

/** A host anywhere in the cluster (this tab or another), as the members agree on it. */
export interface ClusterHost {
  name: string;        // "node1", unique cluster-wide
  tab: string;         // the owning tab's id
  mac: MacAddress;     // its eth0 on the backplane
  address: string;     // "10.0.0.1/16", its backplane address
}

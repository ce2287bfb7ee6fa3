// Names and addresses on the cluster backplane, all derived from a host's node number, and the
// strict string checks the network uses on anything that crosses a tab boundary.
import type { ClusterHost, MacAddress } from './types';

/** Node numbers run 1..250: the last octet of the backplane address, and the third of containers'. */
export const MIN_NODE = 1;
export const MAX_NODE = 250;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function isNodeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_NODE && value <= MAX_NODE;
}

function checkNode(node: number): void {
  if (!isNodeNumber(node)) throw new RangeError(`node number ${node} is not an integer in ${MIN_NODE}..${MAX_NODE}`);
}

/** "node7" */
export function nodeName(node: number): string {
  checkNode(node);
  return `node${node}`;
}

/** "10.0.0.7/16": the host's eth0 on the backplane. */
export function nodeAddress(node: number): string {
  checkNode(node);
  return `10.0.0.${node}/16`;
}

/** "02:43:0a:00:00:07": locally administered, unicast; the last four bytes spell 10.0.0.N. */
export function nodeMac(node: number): MacAddress {
  checkNode(node);
  return `02:43:0a:00:00:${HEX[node]!}`;
}

/** The node number in "node7", or undefined for anything else ("node07", "node0", "node251"). */
export function parseNodeName(name: string): number | undefined {
  const match = /^node([1-9][0-9]{0,2})$/.exec(name);
  if (!match) return undefined;
  const node = Number(match[1]);
  return isNodeNumber(node) ? node : undefined;
}

/** The ClusterHost a tab announces for node N. */
export function hostForNode(node: number, tab: string): ClusterHost {
  return { name: nodeName(node), tab, mac: nodeMac(node), address: nodeAddress(node) };
}

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const IPV4_CIDR_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}/(?:3[0-2]|[12]?[0-9])$`);

/** Six lower-case hex pairs separated by colons (the form MacAddress promises). */
export function isMacAddress(value: unknown): value is MacAddress {
  return typeof value === 'string' && value.length === 17 && MAC_RE.test(value);
}

/** Dotted quad without leading zeros: "10.0.3.1". */
export function isIpv4(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 15 && IPV4_RE.test(value);
}

/** Dotted quad and prefix length 0..32: "10.0.3.1/16". */
export function isIpv4Cidr(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 18 && IPV4_CIDR_RE.test(value);
}

// Whether an address the config gives for one host (a neighbor, a NAT
// address, a firewall endpoint, a VIP or a backend) can be one: not of a
// special-purpose block (wire/address.ts specialAddressReason) and not the
// network or broadcast address of one of the router's connected subnets.
// The callers add what is particular to them (the router's own address).
import { ipv4Mask, ipv4ToString, specialAddressReason, subnetEdge } from '../wire/address.js';

/** What the checks need of a port. */
export interface AddressCheckPort {
  name: string;
  address: number;
  prefixLen: number;
}

/** Why `a` cannot be one host's address on this router's network ("is ..."), or undefined when it can. */
export function hostAddressProblem(a: number, ports: readonly AddressCheckPort[]): string | undefined {
  const special = specialAddressReason(a);
  if (special !== undefined) return `is ${special}`;
  for (const p of ports) {
    const edge = subnetEdge(a, p.address, p.prefixLen);
    if (edge !== undefined) return `is the ${edge} address of port "${p.name}"'s subnet ${ipv4ToString(p.address & ipv4Mask(p.prefixLen))}/${p.prefixLen}`;
  }
  return undefined;
}

/** The port whose own address `a` is, if any. */
export function portWithAddress<P extends AddressCheckPort>(a: number, ports: readonly P[]): P | undefined {
  return ports.find((p) => p.address === a >>> 0);
}

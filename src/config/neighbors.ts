// The checks of `neighbors:` entries that need the rest of the config: an
// entry names one host (address-check.ts), not the router itself, once, by
// a station's MAC that is not one of the router's own, and is reachable on
// the port it is put on. load.ts resolves each entry's port and asks here.
import { ipv4Mask, ipv4ToString, macGroupReason, macToString, parseMacAddress } from '../wire/address.js';
import { hostAddressProblem, portWithAddress } from './address-check.js';
import type { RouteSpec } from './routes.js';

interface NeighborPort {
  name: string;
  address: number;
  prefixLen: number;
  mac: Uint8Array;
}

function onSubnet(a: number, p: NeighborPort): boolean {
  return ((a ^ p.address) & ipv4Mask(p.prefixLen)) === 0;
}

export class NeighborChecks {
  /** Address -> the entry (index) that gave it first, and its MAC text. */
  private readonly seen = new Map<number, { index: number; mac: string }>();

  constructor(
    private readonly ports: readonly NeighborPort[],
    private readonly routes: readonly RouteSpec[],
  ) {}

  /**
   * The problems of neighbors[i] (`n` as written, `address` parsed, `port`
   * the index it resolved to or -1), each "neighbors[i].FIELD: ...". Empty
   * when the entry is good as far as these checks go.
   */
  problems(i: number, n: { address: string; mac: string; dev?: string }, address: number, port: number): string[] {
    const field = `neighbors[${i}]`;
    const out: string[] = [];
    const hostProblem = hostAddressProblem(address, this.ports);
    const own = portWithAddress(address, this.ports);
    if (hostProblem !== undefined) out.push(`${field}.address: ${n.address} ${hostProblem}`);
    else if (own !== undefined) out.push(`${field}.address: ${n.address} is port "${own.name}"'s own address`);
    const mac = parseMacAddress(n.mac);
    const macText = macToString(mac, 0);
    const group = macGroupReason(mac);
    const ownMac = this.ports.find((p) => macToString(p.mac, 0) === macText);
    if (group !== undefined) out.push(`${field}.mac: ${n.mac} is ${group}; a neighbor has a station's unicast MAC`);
    else if (ownMac !== undefined) out.push(`${field}.mac: ${n.mac} is port "${ownMac.name}"'s own MAC`);
    const first = this.seen.get(address);
    if (first !== undefined) {
      out.push(`${field}.address: ${n.address} is already neighbors[${first.index}]${first.mac === macText ? '' : ` (with MAC ${first.mac})`}`);
    } else this.seen.set(address, { index: i, mac: macText });
    if (port >= 0 && n.dev !== undefined && hostProblem === undefined && own === undefined) {
      const dev = this.ports[port];
      const other = this.ports.find((p) => p !== dev && onSubnet(address, p));
      if (other !== undefined && !this.routedTo(address, n.dev, other.prefixLen)) {
        out.push(
          `${field}.dev: ${n.address} is on port "${other.name}"'s subnet ${ipv4ToString(other.address & ipv4Mask(other.prefixLen))}/${other.prefixLen}, and no route sends it out "${n.dev}": the entry would never be used (leave out dev, or name "${other.name}")`,
        );
      }
    }
    return out;
  }

  /**
   * Whether a route more specific than the connected subnet (of `longerThan`
   * bits) sends `a` straight out port `dev` (no gateway): then the static
   * entry is what the router uses for it, as with a route `... dev PORT` to
   * any address off the connected subnets.
   */
  private routedTo(a: number, dev: string, longerThan: number): boolean {
    return this.routes.some((r) => r.type === 'unicast' && r.len > longerThan && ((a ^ r.prefix) & ipv4Mask(r.len)) === 0 && r.nexthops.some((h) => h.port === dev && h.gateway === 0));
  }
}

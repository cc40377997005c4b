// Which NAT rule a new flow gets: DNAT rules by where the packet came in
// (before routing), SNAT and masquerade rules by where it leaves (after
// routing), netfilter's order. Rules are compiled into flat typed arrays once,
// so matching a new flow reads numbers, not objects.
//
// Source translation: the SNAT rules first, in config order (they name the
// traffic they take), then the masquerade rule of the egress port. Rule ids
// number the masquerade rules first, then the SNAT rules: the pool order of
// nat-tables.ts, so a rule's pools are `firstPool[rule] .. + poolCount[rule]`.
import type { NatConfig } from './nat-config.js';
import { AddressSet } from './address-set.js';

/** No rule. */
export const NO_RULE = -1;

const LINK_LOCAL_NET = 0xa9fe0000 | 0; // 169.254.0.0/16
const LINK_LOCAL_MASK = 0xffff0000 | 0;

export const Filtering = { ENDPOINT_INDEPENDENT: 0, ADDRESS_DEPENDENT: 1, ADDRESS_AND_PORT_DEPENDENT: 2 } as const;

export class NatRules {
  /** Source-translation rules (masquerade, then SNAT). */
  readonly count: number;
  readonly outPort: Int32Array;
  readonly firstPool: Int32Array;
  readonly poolCount: Int32Array;
  readonly filtering: number;
  private readonly masqCount: number;
  private readonly srcNet: Int32Array;
  private readonly srcMask: Int32Array;
  private readonly dstNet: Int32Array;
  private readonly dstMask: Int32Array;
  private readonly proto: Int32Array;
  private readonly masqByPort: Int32Array;
  private readonly nonMasq: { net: number; mask: number }[][];
  private readonly masqLinkLocal: boolean[];
  /** Masquerade rules only load-balanced flows use (nat-config.ts lbOnly). */
  private readonly masqLbOnly: boolean[];
  // DNAT
  readonly dnatCount: number;
  private readonly dnatInPort: Int32Array;
  private readonly dnatProto: Int32Array;
  private readonly dnatDst: Int32Array;
  private readonly dnatLo: Int32Array;
  private readonly dnatHi: Int32Array;
  readonly dnatTo: Int32Array;
  readonly dnatToPort: Int32Array;
  /** Addresses of SNAT pools (not a port's own address): traffic to one with no binding is dropped, never routed back out. */
  private readonly poolOnly: AddressSet;
  private readonly external: AddressSet;

  constructor(nat: NatConfig, portCount: number, portAddress: ArrayLike<number>) {
    const m = nat.masquerade.length;
    this.masqCount = m;
    this.count = m + nat.snat.length;
    const n = this.count;
    this.outPort = new Int32Array(n);
    this.firstPool = new Int32Array(n);
    this.poolCount = new Int32Array(n);
    this.srcNet = new Int32Array(n);
    this.srcMask = new Int32Array(n);
    this.dstNet = new Int32Array(n);
    this.dstMask = new Int32Array(n);
    this.proto = new Int32Array(n);
    this.masqByPort = new Int32Array(portCount).fill(NO_RULE);
    this.nonMasq = nat.masquerade.map((r) => r.nonMasquerade.map((x) => ({ net: x.net | 0, mask: x.mask | 0 })));
    this.masqLinkLocal = nat.masquerade.map((r) => r.masqLinkLocal);
    this.masqLbOnly = nat.masquerade.map((r) => r.lbOnly === true);
    let pool = 0;
    nat.masquerade.forEach((r, i) => {
      this.outPort[i] = r.outPort;
      this.firstPool[i] = pool;
      this.poolCount[i] = 1;
      pool += 1;
      this.masqByPort[r.outPort] = i;
    });
    nat.snat.forEach((r, j) => {
      const i = m + j;
      this.outPort[i] = r.outPort;
      this.firstPool[i] = pool;
      this.poolCount[i] = r.addresses.length;
      pool += r.addresses.length;
      this.srcNet[i] = r.src?.net ?? 0;
      this.srcMask[i] = r.src?.mask ?? 0;
      this.dstNet[i] = r.dst?.net ?? 0;
      this.dstMask[i] = r.dst?.mask ?? 0;
      this.proto[i] = r.proto;
    });
    this.filtering =
      nat.filtering === 'endpoint-independent' ? Filtering.ENDPOINT_INDEPENDENT : nat.filtering === 'address-dependent' ? Filtering.ADDRESS_DEPENDENT : Filtering.ADDRESS_AND_PORT_DEPENDENT;
    const d = nat.dnat.length;
    this.dnatCount = d;
    this.dnatInPort = Int32Array.from(nat.dnat, (r) => r.inPort);
    this.dnatProto = Int32Array.from(nat.dnat, (r) => r.proto);
    this.dnatDst = Int32Array.from(nat.dnat, (r) => r.dst | 0);
    this.dnatLo = Int32Array.from(nat.dnat, (r) => r.dports.lo);
    this.dnatHi = Int32Array.from(nat.dnat, (r) => r.dports.hi);
    this.dnatTo = Int32Array.from(nat.dnat, (r) => r.to | 0);
    this.dnatToPort = Int32Array.from(nat.dnat, (r) => r.toPort);
    this.external = new AddressSet([...nat.masquerade.filter((r) => r.lbOnly !== true).map((r) => portAddress[r.outPort] | 0), ...nat.snat.flatMap((r) => r.addresses.map((a) => a | 0))]);
    const own = new Set(Array.from(portAddress, (a) => a | 0));
    this.poolOnly = new AddressSet(nat.snat.flatMap((r) => r.addresses.map((a) => a | 0)).filter((a) => !own.has(a)));
  }

  /** The source-translation rule for a new flow leaving by `txPort`, or NO_RULE. */
  sourceRule(txPort: number, src: number, dst: number, proto: number): number {
    for (let i = this.masqCount; i < this.count; i++) {
      if (this.outPort[i] !== txPort) continue;
      if ((src & this.srcMask[i]) !== this.srcNet[i] || (dst & this.dstMask[i]) !== this.dstNet[i]) continue;
      if (this.proto[i] !== 0 && this.proto[i] !== proto) continue;
      return i;
    }
    const i = txPort < this.masqByPort.length ? this.masqByPort[txPort] : NO_RULE;
    if (i === NO_RULE || this.masqLbOnly[i]) return NO_RULE;
    if (!this.masqLinkLocal[i] && (dst & LINK_LOCAL_MASK) === LINK_LOCAL_NET) return NO_RULE;
    for (const x of this.nonMasq[i]) if ((dst & x.mask) === x.net) return NO_RULE;
    return i;
  }

  /**
   * The masquerade rule of the egress port for a load-balanced flow of a VIP
   * with `snat: true`: the port's address, whatever the destination.
   */
  lbSourceRule(txPort: number): number {
    return txPort < this.masqByPort.length ? this.masqByPort[txPort] : NO_RULE;
  }

  /** The DNAT rule for a packet arriving on `rxPort`, or NO_RULE. */
  dnatRule(rxPort: number, proto: number, dst: number, dport: number): number {
    for (let i = 0; i < this.dnatCount; i++) {
      if (this.dnatInPort[i] === rxPort && this.dnatProto[i] === proto && this.dnatDst[i] === dst && dport >= this.dnatLo[i] && dport <= this.dnatHi[i]) return i;
    }
    return NO_RULE;
  }

  /** A port some source rule translates traffic out of (where outside traffic comes in). */
  isOutside(port: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.outPort[i] === port && !(i < this.masqCount && this.masqLbOnly[i])) return true;
    return false;
  }

  /** An address flows are translated to (a masqueraded port's, or in an SNAT pool). */
  isExternal(addr: number): boolean {
    return this.external.has(addr);
  }

  /** An SNAT pool address that is not a port's own (nothing but NAT answers there). */
  isPoolOnly(addr: number): boolean {
    return this.poolOnly.size !== 0 && this.poolOnly.has(addr);
  }
}

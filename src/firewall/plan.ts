// The firewall as the classifier sees it: VPC firewall rules and Kubernetes
// NetworkPolicy objects, both compiled (config/firewall.ts) into one flat
// list of rules over addresses, protocol and destination port, in four
// sections. A first packet is judged by every section; it passes only if
// none of them denies it:
//
//   VPC_EGRESS       VPC rules of direction egress (their targets resolved to source addresses)
//   POLICY_EGRESS    NetworkPolicy egress of the source endpoint
//   VPC_INGRESS      VPC rules of direction ingress (targets resolved to destination addresses)
//   POLICY_INGRESS   NetworkPolicy ingress of the destination endpoint
//
// Within a section the first rule that matches decides, in the order of
// (priority ascending, deny and reject before allow, then list order); a
// section where nothing matches allows. So VPC implied rules are ordinary
// rules at priority 65535, and a NetworkPolicy selection is its allow rules
// at priority 0 plus an isolation deny at priority 1 for the selected
// endpoints. Labels, selectors and named ports are resolved to addresses and
// numbers at compile time: the classifier sees numbers only.
//
// Packets are judged where netfilter's FORWARD filter judges them: after
// DNAT (the destination is the inside one) and before SNAT.

/** The sections, in the order a packet is judged (the first that denies names the deciding rule). */
export const Section = { VPC_EGRESS: 0, POLICY_EGRESS: 1, VPC_INGRESS: 2, POLICY_INGRESS: 3, COUNT: 4 } as const;

/** What a rule does with a packet it matches. REJECT drops and answers ICMP unreachable code 13. */
export const Action = { ALLOW: 0, DENY: 1, REJECT: 2 } as const;

/** Action values in words, by value (listings, hit counters, the trace). */
export const ACTION_NAMES = ['allow', 'deny', 'reject'] as const;

/** An IPv4 prefix: addr is a uint32 with no bits below len. */
export interface Cidr {
  addr: number;
  len: number;
}

/** Addresses in some include and in no except (an ipBlock with `except`; a list of endpoint /32s). */
export interface AddressMatch {
  include: Cidr[];
  except: Cidr[];
}

/**
 * A protocol and destination port range. proto -1: any protocol (lo, hi
 * ignored). Ports apply to TCP (6), UDP (17) and SCTP (132) only; for any
 * other protocol a PortMatch matches the protocol whatever lo and hi say.
 */
export interface PortMatch {
  proto: number;
  lo: number;
  hi: number;
}

export interface ClassifierRule {
  section: number;
  priority: number;
  action: number;
  src: AddressMatch;
  dst: AddressMatch;
  /** Empty: every protocol and port. Otherwise the packet must match one of them. */
  ports: PortMatch[];
  /** Which user-facing rule or policy this came from: an index into FirewallPlan.origins. */
  origin: number;
}

/** A rule as the user sees it in listings, counters and the trace. */
export interface RuleOrigin {
  kind: 'vpc' | 'implied' | 'policy' | 'isolation';
  /** VPC rule name; "implied-deny-ingress"; "namespace/policy" for NetworkPolicy. */
  name: string;
  direction: 'ingress' | 'egress';
  /** VPC priority 0-65535; NetworkPolicy allows are 0, isolation 1. */
  priority: number;
  action: number;
}

export interface FirewallPlan {
  rules: ClassifierRule[];
  origins: RuleOrigin[];
  /** The endpoints' addresses: only traffic from or to one of them is judged and tracked. */
  endpoints: number[];
}

/** Protocols whose destination port a PortMatch constrains. */
export function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132;
}

export function cidrContains(c: Cidr, addr: number): boolean {
  return c.len === 0 || (addr >>> (32 - c.len)) === (c.addr >>> (32 - c.len));
}

export function addressMatches(m: AddressMatch, addr: number): boolean {
  let inside = false;
  for (const c of m.include) if (cidrContains(c, addr)) inside = true;
  if (!inside) return false;
  for (const c of m.except) if (cidrContains(c, addr)) return false;
  return true;
}

export function portsMatch(ports: readonly PortMatch[], proto: number, dport: number): boolean {
  if (ports.length === 0) return true;
  for (const p of ports) {
    if (p.proto === -1) return true;
    if (p.proto !== proto) continue;
    if (!hasPorts(proto) || (dport >= p.lo && dport <= p.hi)) return true;
  }
  return false;
}

export function ruleMatches(r: ClassifierRule, src: number, dst: number, proto: number, dport: number): boolean {
  return portsMatch(r.ports, proto, dport) && addressMatches(r.src, src >>> 0) && addressMatches(r.dst, dst >>> 0);
}

/** Sorts rules into the order the first match is taken in: section, priority, deny/reject before allow, list order. */
export function ruleOrder(rules: readonly ClassifierRule[]): number[] {
  const order = rules.map((_, i) => i);
  order.sort((a, b) => {
    const x = rules[a];
    const y = rules[b];
    return x.section - y.section || x.priority - y.priority || (x.action === Action.ALLOW ? 1 : 0) - (y.action === Action.ALLOW ? 1 : 0) || a - b;
  });
  return order;
}

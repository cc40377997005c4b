// What an explain answers: plain data (addresses as dotted text), the same
// for the offline command, the live Dataplane.explain() and the control
// API, so each can print it as text (format.ts) or hand it on as JSON.

/** One verdict a node gave the packet (or what it became: an ICMP error, a fragment). */
export interface ExplainStep {
  /** The node: "ip4-lookup". */
  node: string;
  /** next: sent on to `to`; out: handed to port `to`; drop: dropped for `reason`; icmp-error: dropped for `reason`, an ICMP error follows; consumed: taken by the node (queued for ARP, held, cut in fragments). */
  verdict: 'next' | 'out' | 'drop' | 'icmp-error' | 'consumed';
  /** The next node, or the port for `out`. */
  to?: string;
  /** The counter of a drop: "ip4-lookup/no-route". */
  reason?: string;
  /** The step is about the router's answer the packet became (an ICMP error, an echo reply, a TCP reset), not the packet itself. */
  answer: boolean;
  /** The trace's line for this verdict ("ip4-lookup -> ip4-rewrite: route 198.51.100.0/24 dev wan"). */
  text: string;
}

export interface ExplainRoute {
  /** The destination that was looked up (after DNAT; a direct-return backend). */
  destination: string;
  /** The route in iproute2's words: "198.51.100.0/24 via 198.51.100.254 dev wan", "unreachable". */
  route: string;
  /** The next hop the packet goes to: the gateway, or the destination itself on a connected subnet (absent: not forwarded, e.g. no route). */
  nextHop?: string;
  /** The port it leaves by (absent: not forwarded). */
  port?: string;
}

import type { SectionVerdict } from '../firewall/describe-plan.js';

export interface ExplainRule {
  name: string;
  /** vpc, implied, policy, isolation. */
  kind: string;
  direction: string;
  priority: number;
  action: string;
}

export interface ExplainFirewall {
  /** allow, deny, reject; `not-judged` when neither address is an endpoint, `flow` when the packet belongs to a flow already judged. */
  decision: 'allow' | 'deny' | 'reject' | 'not-judged' | 'flow';
  /** The rule that denied or rejected, or each section's rule that allowed. */
  rules: ExplainRule[];
  text: string;
  /**
   * The packet as the firewall judged it (allow, deny, reject): "192.0.2.10:40000 -> 198.51.100.11:80 tcp".
   * Its destination is where the flow goes: the inside host of a port forward, a load-balanced flow's
   * backend (a direct-return packet itself still carries the VIP).
   */
  judged?: string;
  /** A load-balanced packet's backend, which it was judged as going to (in every mode: a direct-return packet itself still carries the VIP). */
  backend?: string;
  /** Each of the four sections as `dataplane firewall --judge` shows it (empty when not judged, or part of a flow). */
  sections: SectionVerdict<ExplainRule>[];
}

export interface ExplainNat {
  /** The tuple as it arrived and as it leaves: "192.0.2.10:40000 -> 203.0.113.10:80 tcp". */
  before: string;
  after: string;
  /** What was translated. */
  source?: { from: string; to: string };
  destination?: { from: string; to: string };
  /** The rule: "masquerade[0] (wan)", "snat[1]", "dnat[0]", "load balancer web". */
  rule?: string;
  /** A new flow (and binding) would be created; false: an existing flow's translation. */
  newFlow: boolean;
}

export interface ExplainLb {
  vip: string;
  vipAddress: string;
  mode: string;
  /** The backend chosen (absent: none is active). */
  backend?: string;
  /** none (nat mode), mac (dsr-l2: the backend's MAC), ipip, gue. */
  encapsulation: 'none' | 'mac' | 'ipip' | 'gue';
  /** The outer header of a tunnel: "198.51.100.1 > 198.51.100.11 ipip". */
  outer?: string;
  /** A new flow pinned to the backend; false: an existing flow's backend. */
  newFlow: boolean;
}

export interface ExplainIcmp {
  type: number;
  code: number;
  /** "ICMP time exceeded in transit". */
  text: string;
  /** Sent to this address by this port; absent when it would not be sent (`notSent` says why). */
  to?: string;
  port?: string;
  notSent?: string;
}

export interface ExplainDrop {
  node: string;
  /** The counter: "ip4-lookup/no-route". */
  reason: string;
  description: string;
}

export interface ExplainResult {
  /** The spec written out whole, defaults included. */
  spec: string;
  /**
   * What became of the packet: forwarded (left by a port), local (the
   * router answered or took it), arp (waits for the next hop's MAC: it
   * leaves once ARP answers, or becomes ICMP host unreachable), held (a
   * fragment kept until its first fragment comes), dropped.
   */
  outcome: 'forwarded' | 'local' | 'arp' | 'held' | 'dropped';
  steps: ExplainStep[];
  route?: ExplainRoute;
  firewall?: ExplainFirewall;
  nat?: ExplainNat;
  lb?: ExplainLb;
  icmp?: ExplainIcmp;
  /** The neighbor it waits for (outcome arp). */
  arp?: { target: string; port: string };
  drop?: ExplainDrop;
  /** Every frame the router would send because of it, one line each (tcpdump-like), by port. */
  sent: { port: string; frame: string }[];
  /** The counters the packet would move (packets), by name. */
  counters: Record<string, number>;
}

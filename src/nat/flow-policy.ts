// What connection tracking needs of a stateful filter (the firewall,
// src/firewall/firewall.ts, implements it): the generation of the rules in
// force, which nat-output stamps on each new flow, and a judgement of a flow
// stamped with an older one, which ct-input asks for on the flow's next
// packet. An interface here so that connection tracking does not depend on
// the firewall (the firewall sits on top of it).
export interface FlowPolicy {
  /** The generation of the rules in force (1 at start). */
  readonly generation: number;
  /** A generation newer than the first is in force: flows stamped with an older one are judged again. */
  readonly recheck: boolean;
  /**
   * Whether a flow's first packet would pass the rules in force, judged as
   * the firewall judges it: after DNAT, before SNAT. Addresses as int32.
   */
  allows(src: number, dst: number, proto: number, dport: number): boolean;
}

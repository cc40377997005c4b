// What connection tracking asks of the load balancer: which VIP a packet is
// for, which backend a new flow gets, and what a pinned backend's flows do.
// src/lb/load-balancer.ts implements it; ct-input and nat-output see only
// this, so src/nat does not depend on src/lb (as with flow-policy.ts and the
// firewall).
export interface FlowBalancer {
  /** Some VIP tunnels its packets (lb-encap is in the graph). */
  readonly encapsulates: boolean;
  /** The VIP a packet to dst:dport is for (dport -1: a later fragment, any port), or -1. */
  vipFor(dst: number, proto: number, dport: number): number;
  /** VIP v translates the destination to its backend (NAT mode) rather than returning directly. */
  translates(v: number): boolean;
  /** The backend for a new flow of VIP v, or -1 when it has none. */
  pick(v: number, src: number, dst: number, ports: number, proto: number, fragment: boolean, nowMs: number): number;
  /** A direct-return flow's backend, still good for it (another when it is down or removed), or -1. */
  pinned(b: number, src: number, dst: number, ports: number, proto: number, nowMs: number): number;
  isDsr(b: number): boolean;
  /** Backend b's VIP translates the client's source too. */
  snat(b: number): boolean;
  address(b: number): number;
  countPacket(b: number, bytes: number): void;
  flowStarted(b: number, flowId: number): void;
  /** A pinned flow moved from backend `from` (down or removed) to `to`: counted as ended there, started here. */
  flowMoved(from: number, to: number): void;
}

// How long an idle flow is kept, by protocol and state, in two profiles:
//
//   rfc        the minimums the NAT RFCs require: RFC 4787 REQ-5 (a UDP
//              mapping lasts at least 2 minutes), RFC 5382 REQ-5 (an
//              established TCP connection at least 2 hours 4 minutes, a
//              partially open or closing one at least 4 minutes) and RFC 5508
//              REQ-2 (an ICMP query mapping at least 60 seconds).
//   cloud-nat  Google Cloud NAT's documented defaults: UDP 30 s, ICMP 30 s,
//              TCP established 1200 s, TCP transitory 30 s, TCP TIME_WAIT
//              120 s.
//
// A flow's state is one small number covering every protocol (FlowState):
// the TCP states of tcp-state.ts, then UDP and ICMP and other protocols; the
// table is indexed by it, so the sweeper's lookup is one array read.
import { TcpState } from './tcp-state.js';

export const FlowState = {
  ...Object.fromEntries(Object.entries(TcpState).filter(([k]) => k !== 'COUNT' && k !== 'IGNORE' && k !== 'INVALID').map(([k, v]) => [`TCP_${k}`, v])),
  /** UDP that has seen only one direction. */
  UDP_UNREPLIED: 16,
  /** UDP that has seen both directions. */
  UDP_REPLIED: 17,
  /** An ICMP query (echo, timestamp, ...) and its replies. */
  ICMP: 18,
  /** Any other protocol, tracked by addresses only. */
  OTHER: 19,
  /** A NAT binding (or filter permission) some flow holds: never expires while held (src/nat/refs.ts). */
  HELD: 20,
  /** A NAT binding no flow holds any more: expires after the profile's binding timeout. */
  UNHELD: 21,
  /** Where a datagram's later fragments find the flow its first fragment belongs to. */
  FRAGMENT: 22,
  /**
   * A load-balanced TCP flow by direct server return: only the client's
   * side passes (the backend answers directly), so no TCP state machine;
   * kept as long as an established connection.
   */
  LB_TCP: 23,
  /** A direct-return TCP flow whose client sent FIN or RST: kept as long as a closing connection. */
  LB_TCP_CLOSING: 24,
  /** A load-balanced UDP flow by direct server return. */
  LB_UDP: 25,
  /** A client's session affinity to a backend (ClientIP): the idle limit is the VIP's, checked at use; this is the longest. */
  LB_AFFINITY: 26,
  /**
   * No longer produced, nor HELD_DYING below: a control-plane deletion is
   * a request the owner's sweep carries out (FlowTable.requestEnd), not a
   * state written from another thread. Kept, with no timeout, so that
   * state numbers stay as they were and an entry in it still ends at its
   * owner's next sweep.
   */
  DYING: 27,
  /** See DYING. */
  HELD_DYING: 28,
  COUNT: 29,
} as const;

/** A state's name as the control plane shows and filters it: FlowState's key in lower case, TCP states without "tcp_" (established, syn_sent, udp_replied, held, dying). */
export function flowStateName(state: number): string {
  return STATE_NAMES[state] ?? `state ${state}`;
}

/** The state a name from flowStateName stands for, or -1. */
export function flowStateByName(name: string): number {
  return STATE_NAMES.indexOf(name.toLowerCase());
}

const STATE_NAMES: string[] = [];
for (const [k, v] of Object.entries(FlowState)) if (k !== 'COUNT') STATE_NAMES[v] = k.toLowerCase().replace(/^tcp_/, '');

export type TimeoutProfile = 'rfc' | 'cloud-nat';

const S = 1000;
const MIN = 60 * S;

/** Per-profile durations (ms) of the classes of state. */
// binding: how long a NAT binding outlives the last flow that used it (a
// flow itself lasts its own timeout after its last packet, so the binding
// already lived at least that long after the last packet). fragment: how long
// later fragments of a datagram find its first fragment's flow (RFC 791's
// reassembly timer, as Linux's ipfrag_time).
const PROFILES: Record<TimeoutProfile, { tcpEstablished: number; tcpTransitory: number; tcpTimeWait: number; tcpClose: number; udp: number; icmp: number; other: number; binding: number; fragment: number }> = {
  rfc: { tcpEstablished: 124 * MIN, tcpTransitory: 4 * MIN, tcpTimeWait: 4 * MIN, tcpClose: 10 * S, udp: 2 * MIN, icmp: 60 * S, other: 2 * MIN, binding: 30 * S, fragment: 30 * S },
  'cloud-nat': { tcpEstablished: 1200 * S, tcpTransitory: 30 * S, tcpTimeWait: 120 * S, tcpClose: 10 * S, udp: 30 * S, icmp: 30 * S, other: 30 * S, binding: 30 * S, fragment: 30 * S },
};

/** Idle timeout in ms by FlowState, for a profile. */
export function timeoutTable(profile: TimeoutProfile): Float64Array {
  const p = PROFILES[profile];
  const t = new Float64Array(FlowState.COUNT).fill(p.other);
  for (const s of [TcpState.NONE, TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.SYN_SENT2, TcpState.FIN_WAIT, TcpState.CLOSE_WAIT, TcpState.LAST_ACK]) t[s] = p.tcpTransitory;
  t[TcpState.ESTABLISHED] = p.tcpEstablished;
  t[TcpState.TIME_WAIT] = p.tcpTimeWait;
  t[TcpState.CLOSE] = p.tcpClose;
  t[FlowState.UDP_UNREPLIED] = p.udp;
  t[FlowState.UDP_REPLIED] = p.udp;
  t[FlowState.ICMP] = p.icmp;
  t[FlowState.OTHER] = p.other;
  t[FlowState.HELD] = 2 ** 31 - 1;
  t[FlowState.UNHELD] = p.binding;
  t[FlowState.FRAGMENT] = p.fragment;
  t[FlowState.LB_TCP] = p.tcpEstablished;
  t[FlowState.LB_TCP_CLOSING] = p.tcpTransitory;
  t[FlowState.LB_UDP] = p.udp;
  t[FlowState.LB_AFFINITY] = 3 * 60 * MIN; // Kubernetes' default 10800 s; nat-tables raises it to the longest VIP's
  t[FlowState.DYING] = 0;
  t[FlowState.HELD_DYING] = 2 ** 31 - 1;
  return t;
}

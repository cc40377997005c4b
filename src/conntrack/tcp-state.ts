// The TCP state machine of connection tracking, in the manner of Linux's
// nf_conntrack (net/netfilter/nf_conntrack_proto_tcp.c): the tracker sits in
// the middle, sees both directions, and moves a connection through the
// states below by the kind of segment (SYN, SYN-ACK, FIN, ACK, RST) and its
// direction. It does not track sequence windows (nf_conntrack's "liberal"
// mode): a router in the middle of a container network forwards what the
// ends accept.
//
// Simultaneous open (both ends send SYN) goes through SYN_SENT2. A segment
// the table calls IGNORE is let through without changing the state (a
// retransmitted SYN-ACK, an ACK while the handshake is half seen); INVALID
// is a segment that cannot belong to the connection in its state (a SYN-ACK
// from the side that sent the SYN): the caller drops and counts it.

export const TcpState = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  /** Both ends sent a SYN (simultaneous open), the second from the reply side. */
  SYN_SENT2: 9,
  COUNT: 10,
  /** Not a state: the segment leaves the state as it is. */
  IGNORE: 254,
  /** Not a state: the segment does not fit the connection. */
  INVALID: 255,
} as const;

export const TCP_STATE_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'] as const;

/** The kinds of segment the table tells apart, by their flags. */
export const Segment = { SYN: 0, SYN_ACK: 1, FIN: 2, ACK: 3, RST: 4, NONE: 5, COUNT: 6 } as const;

/** A segment's kind: RST first, then SYN (with or without ACK), FIN, ACK, else none of them. */
export function segmentKind(tcpFlags: number): number {
  if ((tcpFlags & 0x04) !== 0) return Segment.RST;
  if ((tcpFlags & 0x02) !== 0) return (tcpFlags & 0x10) !== 0 ? Segment.SYN_ACK : Segment.SYN;
  if ((tcpFlags & 0x01) !== 0) return Segment.FIN;
  if ((tcpFlags & 0x10) !== 0) return Segment.ACK;
  return Segment.NONE;
}

const { SYN_SENT: SS, SYN_RECV: SR, ESTABLISHED: ES, FIN_WAIT: FW, CLOSE_WAIT: CW, LAST_ACK: LA, TIME_WAIT: TW, CLOSE: CL, SYN_SENT2: S2, IGNORE: IG, INVALID: IV } = TcpState;

// Rows: segment kinds; columns: the current state (NO SS SR ES FW CW LA TW CL S2).
const ORIGINAL: readonly (readonly number[])[] = [
  /* SYN     */ [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2], // a new SYN after TIME_WAIT/CLOSE reopens
  /* SYN_ACK */ [IV, IV, IG, IG, IG, IG, IG, IG, IG, SR], // only the answer to a simultaneous open
  /* FIN     */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
  /* ACK     */ [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV], // NONE + ACK: picked up mid-connection
  /* RST     */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
  /* NONE    */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];
const REPLY: readonly (readonly number[])[] = [
  /* SYN     */ [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2], // SYN back to a SYN: simultaneous open
  /* SYN_ACK */ [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
  /* FIN     */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
  /* ACK     */ [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
  /* RST     */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
  /* NONE    */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

/** The table flattened: [dir][segment][state] -> next state (or IGNORE/INVALID). */
const TABLE = new Uint8Array(2 * Segment.COUNT * TcpState.COUNT);
[ORIGINAL, REPLY].forEach((rows, dir) => rows.forEach((row, seg) => row.forEach((next, state) => (TABLE[(dir * Segment.COUNT + seg) * TcpState.COUNT + state] = next))));

/**
 * The state after a segment of kind `segment` in direction `reply` (false:
 * the direction that opened the connection) when the connection is in
 * `state`: a TcpState, TcpState.IGNORE or TcpState.INVALID.
 */
export function tcpTransition(state: number, segment: number, reply: boolean): number {
  return TABLE[((reply ? 1 : 0) * Segment.COUNT + segment) * TcpState.COUNT + state];
}

/** Can a segment of this kind open a connection (be the first one the tracker sees)? A SYN, or (picking up a connection already running) an ACK. */
export function opensConnection(segment: number): boolean {
  return segment === Segment.SYN || segment === Segment.ACK;
}

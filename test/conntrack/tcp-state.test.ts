// The conntrack TCP state machine against the connections it must follow:
// an ordinary open and close (either side closing first), simultaneous open,
// a reset at any point, segments that do not fit, and the timeouts of the
// two profiles (the RFC minimums and Cloud NAT's defaults).
import { describe, expect, it } from 'vitest';
import { FlowState, timeoutTable } from '../../src/conntrack/timeouts.js';
import { Segment, segmentKind, TcpState, TCP_STATE_NAMES, tcpTransition } from '../../src/conntrack/tcp-state.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';

type Dir = 'o' | 'r';
/** Runs segments ([direction, flags]) from NONE and returns the state names after each (IGNORE keeps the state). */
function walk(steps: [Dir, number][]): string[] {
  let state: number = TcpState.NONE;
  return steps.map(([dir, flags]) => {
    const next = tcpTransition(state, segmentKind(flags), dir === 'r');
    if (next === TcpState.INVALID) return 'INVALID';
    if (next !== TcpState.IGNORE) state = next;
    return TCP_STATE_NAMES[state];
  });
}

describe('TCP conntrack states', () => {
  it('classifies segments by flags, RST first, then SYN, FIN, ACK', () => {
    expect(segmentKind(TCP_SYN)).toBe(Segment.SYN);
    expect(segmentKind(TCP_SYN | TCP_ACK)).toBe(Segment.SYN_ACK);
    expect(segmentKind(TCP_FIN | TCP_ACK)).toBe(Segment.FIN);
    expect(segmentKind(TCP_ACK | TCP_PSH)).toBe(Segment.ACK);
    expect(segmentKind(TCP_RST | TCP_ACK)).toBe(Segment.RST);
    expect(segmentKind(TCP_SYN | TCP_RST)).toBe(Segment.RST);
    expect(segmentKind(0)).toBe(Segment.NONE);
  });

  it('follows a handshake, data and a close started by the client', () => {
    expect(
      walk([
        ['o', TCP_SYN],
        ['r', TCP_SYN | TCP_ACK],
        ['o', TCP_ACK],
        ['o', TCP_ACK | TCP_PSH],
        ['r', TCP_ACK],
        ['o', TCP_FIN | TCP_ACK],
        ['r', TCP_ACK],
        ['r', TCP_FIN | TCP_ACK],
        ['o', TCP_ACK],
      ]),
    ).toEqual(['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT']);
  });

  it('follows a close started by the server', () => {
    expect(walk([['o', TCP_SYN], ['r', TCP_SYN | TCP_ACK], ['o', TCP_ACK], ['r', TCP_FIN | TCP_ACK], ['o', TCP_ACK], ['o', TCP_FIN | TCP_ACK], ['r', TCP_ACK]])).toEqual([
      'SYN_SENT',
      'SYN_RECV',
      'ESTABLISHED',
      'FIN_WAIT',
      'CLOSE_WAIT',
      'LAST_ACK',
      'TIME_WAIT',
    ]);
  });

  it('follows a simultaneous open through SYN_SENT2', () => {
    expect(walk([['o', TCP_SYN], ['r', TCP_SYN], ['o', TCP_SYN | TCP_ACK], ['r', TCP_SYN | TCP_ACK], ['o', TCP_ACK]])).toEqual([
      'SYN_SENT',
      'SYN_SENT2',
      'SYN_RECV',
      'SYN_RECV',
      'ESTABLISHED',
    ]);
  });

  it('closes on a reset from either side, at any point of the connection', () => {
    const opens: [Dir, number][] = [['o', TCP_SYN], ['r', TCP_SYN | TCP_ACK], ['o', TCP_ACK]];
    for (let k = 1; k <= opens.length; k++) {
      for (const dir of ['o', 'r'] as Dir[]) expect(walk([...opens.slice(0, k), [dir, TCP_RST]]).at(-1)).toBe('CLOSE');
    }
  });

  it('refuses segments that cannot belong to the connection, and ignores retransmissions', () => {
    expect(walk([['o', TCP_SYN], ['o', TCP_SYN | TCP_ACK]])).toEqual(['SYN_SENT', 'INVALID']); // a SYN-ACK from the side that sent the SYN
    expect(walk([['r', TCP_SYN | TCP_ACK]])).toEqual(['INVALID']); // a reply to nothing
    expect(walk([['o', TCP_SYN], ['o', TCP_FIN]])).toEqual(['SYN_SENT', 'INVALID']);
    expect(walk([['o', 0]])).toEqual(['INVALID']); // no flags at all
    expect(walk([['o', TCP_SYN], ['r', TCP_SYN | TCP_ACK], ['r', TCP_SYN | TCP_ACK]])).toEqual(['SYN_SENT', 'SYN_RECV', 'SYN_RECV']); // retransmitted SYN-ACK
    expect(walk([['o', TCP_SYN], ['r', TCP_SYN | TCP_ACK], ['o', TCP_ACK], ['o', TCP_SYN]])).toEqual(['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'ESTABLISHED']); // stray SYN ignored
  });

  it('picks up a connection already running from an ACK, and reopens after TIME_WAIT', () => {
    expect(walk([['o', TCP_ACK], ['r', TCP_ACK]])).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    expect(walk([['o', TCP_SYN], ['r', TCP_SYN | TCP_ACK], ['o', TCP_ACK], ['o', TCP_FIN], ['r', TCP_FIN], ['o', TCP_ACK], ['o', TCP_SYN]]).at(-1)).toBe('SYN_SENT');
  });
});

describe('timeout profiles', () => {
  it('rfc: the minimums of RFC 4787 REQ-5, RFC 5382 REQ-5 and RFC 5508 REQ-2', () => {
    const t = timeoutTable('rfc');
    expect(t[TcpState.ESTABLISHED]).toBe((2 * 60 + 4) * 60_000);
    for (const s of [TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.FIN_WAIT, TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.TIME_WAIT]) expect(t[s]).toBe(4 * 60_000);
    expect(t[FlowState.UDP_UNREPLIED]).toBe(2 * 60_000);
    expect(t[FlowState.UDP_REPLIED]).toBe(2 * 60_000);
    expect(t[FlowState.ICMP]).toBe(60_000);
  });

  it('cloud-nat: the documented defaults', () => {
    const t = timeoutTable('cloud-nat');
    expect([t[TcpState.ESTABLISHED], t[TcpState.SYN_SENT], t[TcpState.TIME_WAIT], t[FlowState.UDP_REPLIED], t[FlowState.ICMP]]).toEqual([1_200_000, 30_000, 120_000, 30_000, 30_000]);
  });
});

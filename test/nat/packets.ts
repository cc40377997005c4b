// Reading what came out of the NAT: the tuple of a frame, and whether every
// checksum in it (IPv4 header, TCP/UDP with the pseudo-header, ICMP, and the
// IPv4 header and L4 checksum an ICMP error quotes) verifies. The reading is
// the conformance report's (src/conformance/packet.ts); this adds the
// assertions the NAT tests share.
import { expect } from 'vitest';
import { reassemble as reassembleFrames, tupleOf as readTuple, type Tuple } from '../../src/conformance/packet.js';

export type { Tuple };

/** The tuple of the IPv4 datagram at b[o..end) (an Ethernet frame: o = 14); the test fails when there is none. */
export function tupleOf(b: Uint8Array, o = 14, end = b.length): Tuple {
  const t = readTuple(b, o, end);
  if (t === undefined) throw new Error(`no IPv4 datagram at offset ${o} of a ${b.length}-byte frame`);
  return t;
}

/** "192.0.2.10:40000 > 198.51.100.10:53/17" for assertions that read well. */
export function flat(t: Tuple): string {
  return `${t.src}:${t.sport} > ${t.dst}:${t.dport}/${t.proto}`;
}

/** The Ethernet frame of the datagram the fragments (Ethernet frames, any order) make up, for tupleOf. */
export const reassemble = reassembleFrames;

/** The one frame a step sent: it must leave by `port`, every checksum sound. Its tuple. */
export function only(r: { out: readonly { port: string; bytes: Uint8Array }[] }, port: string): Tuple {
  expect(r.out.map((o) => o.port)).toEqual([port]);
  const t = tupleOf(r.out[0].bytes);
  expect(t.checksumsOk, `checksums of ${flat(t)}`).toBe(true);
  return t;
}

// Property tests: decoding never throws, whatever the bytes, and the readable
// decoder agrees with the fast classifier on every verdict.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLASSIFY_NOT_IPV4, CLASSIFY_SLOTS, classifyFrame, SLOT_ETHERTYPE } from '../../src/decode/classify.js';
import { decodeFrame } from '../../src/decode/frame.js';
import { formatFrame } from '../../src/decode/format.js';
import { wireDropName } from '../../src/wire/drop-reason.js';
import { bytes, ethernet, icmpMessage, ipv4Packet, nullHeader, sll, sll2, tcpSegment, udpDatagram } from './packets.js';

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 127, 228, 229, 276];
const out = new Int32Array(CLASSIFY_SLOTS);

function seeds(): Uint8Array[] {
  const quoted = ipv4Packet({ proto: 17, payload: udpDatagram() });
  const l3 = [
    ipv4Packet({ proto: 17, payload: udpDatagram({ payload: bytes(20, 3) }) }),
    ipv4Packet({ proto: 6, options: [1, 1, 1, 0], payload: tcpSegment({ options: [2, 4, 5, 0xb4], payload: bytes(9, 2) }) }),
    ipv4Packet({ proto: 1, payload: icmpMessage({ type: 8, payload: bytes(16) }) }),
    ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 4, rest: 1400, payload: quoted }) }),
    ipv4Packet({ proto: 17, mf: true, payload: udpDatagram({ len: 2000 }) }),
  ];
  return l3.flatMap((p) => [ethernet(0x0800, p), ethernet(0x0800, p, [[0x8100, 7]]), sll(0x0800, p), sll2(0x0800, p), nullHeader(2, true, p), p]);
}

const SEEDS = seeds();
const SEED_LINK = [1, 1, 113, 276, 0, 101];

function decodeAll(b: Uint8Array, caplen: number, len: number, lt: number): void {
  const s = decodeFrame(b, 0, caplen, len, lt, 1, 0, 0);
  JSON.stringify(s);
  formatFrame(s);
}

describe('decode never throws', () => {
  it('on random bytes, any link type, any lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...LINK_TYPES), fc.nat(300), fc.nat(300), (b, lt, caplen, len) => {
        classifyFrame(b, 0, caplen, lt, out);
        decodeAll(b, caplen, len, lt);
      }),
      { numRuns: 5000 },
    );
  });

  it('on valid frames with random byte changes, truncated anywhere', () => {
    fc.assert(
      fc.property(
        fc.nat(SEEDS.length - 1),
        fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.nat(200),
        (i, edits, cut) => {
          const b = SEEDS[i].slice();
          for (const [at, x] of edits) if (at < b.length) b[at] ^= x;
          const lt = SEED_LINK[i % SEED_LINK.length];
          const caplen = Math.min(cut, b.length);
          classifyFrame(b, 0, caplen, lt, out);
          decodeAll(b, caplen, b.length, lt);
          decodeAll(b, caplen, caplen, lt);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('valid frames are OK', () => {
  it('any protocol, payload length (odd or even), options and link: OK from both decoders', () => {
    const payloadArb = fc.uint8Array({ maxLength: 300 });
    fc.assert(
      fc.property(
        fc.constantFrom(1, 6, 17),
        payloadArb,
        fc.nat(4),
        fc.nat(SEED_LINK.length - 1),
        (proto, payload, nops, linkIdx) => {
          const l4 =
            proto === 6 ? tcpSegment({ payload }) : proto === 17 ? udpDatagram({ payload }) : icmpMessage({ type: 8, payload });
          const ip = ipv4Packet({ proto, payload: l4, options: nops > 0 ? [...Array<number>(nops * 4 - 1).fill(1), 0] : [] });
          const lt = SEED_LINK[linkIdx];
          const frame = lt === 1 ? ethernet(0x0800, ip) : lt === 113 ? sll(0x0800, ip) : lt === 276 ? sll2(0x0800, ip) : lt === 0 ? nullHeader(2, true, ip) : ip;
          expect(classifyFrame(frame, 0, frame.length, lt, out)).toBe(0);
          const s = decodeFrame(frame, 0, frame.length, frame.length, lt, 1, 0, 0);
          expect(s.malformed).toBeUndefined();
          expect(s.ip?.csumOk).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('decodeFrame and classifyFrame agree', () => {
  it('for a frame captured in full, malformed is the name of the classifier verdict', () => {
    fc.assert(
      fc.property(
        fc.nat(SEEDS.length - 1),
        fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
        fc.nat(200),
        (i, edits, cut) => {
          const b = SEEDS[i].slice(0, Math.max(0, SEEDS[i].length - (cut % 40)));
          for (const [at, x] of edits) if (at < b.length) b[at] ^= x;
          const lt = SEED_LINK[i % SEED_LINK.length];
          const r = classifyFrame(b, 0, b.length, lt, out);
          const s = decodeFrame(b, 0, b.length, b.length, lt, 1, 0, 0);
          if (r === CLASSIFY_NOT_IPV4) {
            // ARP has its own verdicts; nothing else non-IPv4 is judged.
            if (out[SLOT_ETHERTYPE] !== 0x0806) expect(s.malformed).toBeUndefined();
            expect(s.ip).toBeUndefined();
          } else {
            expect(s.malformed).toBe(r === 0 ? undefined : wireDropName(r));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});

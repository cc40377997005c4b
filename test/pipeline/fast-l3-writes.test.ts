// ip4-fast's plain-routing writes at their edges, against the full graph:
// the TTL and checksum update done as 16-bit words (checksums whose update
// carries, wraps or would give 0xffff), TTL 2 (the smallest it takes) and 255,
// and sources the own-address filter must catch whatever port they belong
// to (another port's address, another subnet's broadcast) or let through
// (an address sharing an own address's low bits). Every frame out must be
// the full graph's byte for byte, and the usual ones taken.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { udpFrame, type IpOpts } from './build.js';
import { BASE_CONFIG } from './harness.js';

const LAN = 0;

class Subject {
  readonly batch = new Batch({ rxCapacity: 64, generatedCapacity: 64 });
  readonly router: Router;

  constructor(fastPath: boolean) {
    const config = parseConfig(BASE_CONFIG, 'test.yaml', '.');
    const { fib, nexthops } = compileFib(config);
    this.router = new Router(config, fib, nexthops, { clock: new ManualClock(1000), batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame, fastPath });
  }

  /** The frames out ("port hex", in time order) and how many ip4-fast took. */
  run(frames: readonly Uint8Array[]): { out: string[]; taken: number } {
    const b = this.batch;
    b.reset();
    frames.forEach((f, i) => b.pushFrame(f, 0, f.length, LAN, 1, i));
    const before = this.router.fast?.taken ?? 0;
    this.router.process(b);
    const g = this.router.graph;
    const slots = Array.from(g.output.subarray(0, g.outputCount)).sort((x, y) => b.tsNsec[x] - b.tsNsec[y]);
    return { out: slots.map((s) => `${b.txPort[s]} ${Buffer.from(b.bytes(s)).toString('hex')}`), taken: (this.router.fast?.taken ?? 0) - before };
  }
}

/**
 * A UDP frame whose IPv4 header checksum is `checksum`: raising the IP ID by d
 * lowers the checksum by d (ones' complement), so d is the difference from
 * the checksum with ID 0 (0 and 0xffff are the same difference: both tried).
 */
function withChecksum(checksum: number, ip: IpOpts): Uint8Array {
  const c0 = udpFrame({ ...ip, id: 0 }, 1000, 53);
  let d = ((c0[24] << 8) | c0[25]) + (~checksum & 0xffff);
  d = (d & 0xffff) + (d >>> 16);
  for (const id of [d, d ^ 0xffff]) {
    const f = udpFrame({ ...ip, id }, 1000, 53);
    if (((f[24] << 8) | f[25]) === checksum) return f;
  }
  throw new Error(`no IP ID gives checksum ${checksum.toString(16)}`);
}

describe('ip4-fast plain routing: the 16-bit TTL and checksum update and the own-address filter, as the full graph', () => {
  const fast = new Subject(true);
  const full = new Subject(false);

  it('updates the TTL and header checksum as the full graph does, at every carry and wrap', () => {
    const frames: Uint8Array[] = [];
    // The update adds 0x0100 to the checksum: these carry out of the high byte, into it, land on 0xffff or wrap.
    for (const c of [0x0000, 0x00ff, 0x0100, 0xfe00, 0xfeff, 0xff00, 0xff01, 0xfffe, 0x7fff, 0x80ff]) {
      for (const ttl of [2, 64, 255]) frames.push(withChecksum(c, { src: '192.0.2.10', dst: '192.0.2.200', ttl }));
    }
    const a = fast.run(frames);
    const b = full.run(frames);
    expect(a.taken).toBe(frames.length);
    expect(a.out).toEqual(b.out);
    // And the result is a valid header: its ones' complement sum is 0xffff.
    for (const line of a.out) {
      const bytes = Buffer.from(line.split(' ')[1], 'hex');
      let sum = 0;
      for (let k = 14; k < 34; k += 2) sum += (bytes[k] << 8) | bytes[k + 1];
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      expect(sum).toBe(0xffff);
    }
  });

  it("leaves any port's address and the receiving subnet's broadcast as source to the full graph, takes look-alikes", () => {
    const from = (src: string) => udpFrame({ src, dst: '192.0.2.200' }, 1000, 53);
    // Own: lan's, wan's, dmz's address; lan's broadcast. Look-alikes share the low ten bits (the filter's index) with
    // one of them, in that order; dmz's broadcast is in the filter too, but only the receiving subnet's is refused.
    const own = ['192.0.2.1', '198.51.100.1', '203.0.113.1', '192.0.2.127'].map(from);
    const alike = ['198.18.6.1', '198.18.4.1', '198.18.5.1', '198.18.2.127', '203.0.113.63'].map(from);
    const frames = [...own, ...alike];
    const a = fast.run(frames);
    const b = full.run(frames);
    expect(a.out).toEqual(b.out);
    expect(a.taken).toBe(alike.length);
    expect(a.out).toHaveLength(alike.length);
  });
});

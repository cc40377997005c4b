// The split of flows between a parallel replay's shards (shard-key.ts): both
// directions of a flow on one shard, what is not IPv4 on shard 0 (which
// capture-input.ts hands to shard 1 when the main thread routes no flows),
// and the main thread's share of the flows as asked: none by default, else
// mainShare eighths of a pool shard's.
import { describe, expect, it } from 'vitest';
import { POOL_SHARE, shardOf } from '../../src/replay/shard-key.js';
import { arpFrame, tcpFrame } from '../pipeline/build.js';

const A = '02:aa:00:00:00:01';
const B = '02:00:00:00:00:01';

/** 600 flows between distinct address pairs, each as [request, reply]. */
function flows(): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < 600; i++) {
    const client = `192.0.2.${1 + (i % 200)}`;
    const server = `198.51.100.${1 + Math.floor(i / 200)}`;
    out.push([tcpFrame({ src: client, dst: server, srcMac: A, dstMac: B }, 40000 + i, 80, 0x02), tcpFrame({ src: server, dst: client, srcMac: B, dstMac: A }, 80, 40000 + i, 0x12)]);
  }
  return out;
}

function split(shards: number, mainShare: number): number[] {
  const counts = new Array<number>(shards).fill(0);
  for (const [req, rep] of flows()) {
    const s = shardOf(req, 0, req.length, shards, mainShare);
    expect(shardOf(rep, 0, rep.length, shards, mainShare), 'the reply on its request\'s shard').toBe(s);
    counts[s]++;
  }
  return counts;
}

describe('shard key', () => {
  it('the main thread routes no flow by default share 0, and still takes what is not IPv4', () => {
    const counts = split(2, 0);
    expect(counts).toEqual([0, 600]);
    const arp = arpFrame(1, A, '192.0.2.10', '00:00:00:00:00:00', '192.0.2.1');
    expect(shardOf(arp, 0, arp.length, 2, 0)).toBe(0);
    const three = split(3, 0);
    expect(three[0]).toBe(0);
    for (const c of three.slice(1)) expect(c).toBeGreaterThan(240); // about 300 each
  });

  it('a main share of mainShare eighths of a pool shard\'s', () => {
    for (const [shards, mainShare] of [[2, POOL_SHARE], [2, POOL_SHARE / 2], [3, POOL_SHARE / 2], [4, 2 * POOL_SHARE]]) {
      const counts = split(shards, mainShare);
      const expected = (600 * mainShare) / (mainShare + POOL_SHARE * (shards - 1));
      expect(Math.abs(counts[0] - expected), `${shards} shards, main share ${mainShare}: ${counts.join('/')}`).toBeLessThan(0.25 * expected);
      const pool = counts.slice(1);
      for (const c of pool) expect(Math.abs(c - (600 - counts[0]) / pool.length)).toBeLessThan(0.25 * ((600 - counts[0]) / pool.length));
    }
  });
});

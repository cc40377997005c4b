// A FlowIndex over a plain key store (8 words per flow: original key, reply
// key), so index tests choose flow ids and keys themselves.
import { FlowIndex } from '../../src/flow/flow-index.js';

export type Key = readonly [number, number, number, number];

export const STORE_SHIFT = 3;

export class IndexHarness {
  readonly index: FlowIndex;
  readonly store: Int32Array;

  constructor(buckets: number, flows: number, seed = 0x5eed) {
    this.store = new Int32Array(new SharedArrayBuffer(flows * 32));
    this.index = new FlowIndex(FlowIndex.create(buckets, seed), this.store, STORE_SHIFT);
  }

  /** Writes the flow's keys to its record and inserts both (only one when they are equal). */
  insert(id: number, orig: Key, reply: Key): number {
    this.store.set(orig, id << STORE_SHIFT);
    this.store.set(reply, (id << STORE_SHIFT) + 4);
    return this.index.insertPair(orig[0], orig[1], orig[2], orig[3], reply[0], reply[1], reply[2], reply[3], id);
  }

  /** A flow with one key (original = reply): one index entry. */
  insertOne(id: number, key: Key): number {
    return this.insert(id, key, key);
  }

  lookup(k: Key): number {
    return this.index.lookup(k[0], k[1], k[2], k[3]);
  }

  remove(k: Key, value = -1): number {
    return this.index.remove(k[0], k[1], k[2], k[3], value);
  }

  /** Primary bucket of a key (low bits of its hash). */
  primary(k: Key): number {
    return this.index.hash(k[0], k[1], k[2], k[3]) & (this.index.bucketCount - 1);
  }

  /**
   * `n` distinct keys whose primary bucket is `bucket`, found by trying
   * ports in turn (deterministic for a seed).
   */
  keysInBucket(bucket: number, n: number, from = 0): Key[] {
    const out: Key[] = [];
    for (let p = from; out.length < n; p++) {
      const k: Key = [0xc0000201 | 0, 0xcb007105 | 0, p, 17];
      if (this.primary(k) === bucket) out.push(k);
    }
    return out;
  }
}

/** Distinct UDP keys 192.0.2.x:port -> 203.0.113.5:53 and their replies. */
export function udpKey(i: number): Key {
  return [(0xc0000200 | (i & 0xff)) | 0, 0xcb007105 | 0, ((1024 + (i >>> 8)) << 16) | 53, 17];
}

export function reverse(k: Key): Key {
  return [k[1], k[0], (k[2] >>> 16) | (k[2] << 16), k[3]];
}

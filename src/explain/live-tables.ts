// Copies of a running dataplane's shared tables for a live explain: the
// flow table (flows, NAT bindings, permits), the NAT port allocators and the
// load balancer's registry, Maglev tables and counters. The explain router
// reads and writes these copies only, so it sees every flow and binding the
// workers have made but changes none of them.
//
// The copy is taken while workers write; it is not a consistent snapshot
// of the whole table, only of each word. The one thing that matters for
// the copy's own use is the flow index's bucket locks: a bucket a worker
// held locked at the moment of the copy would stay locked in it forever
// (nobody is there to unlock it), and the explain router's insert would
// spin on it. So every bucket of the copy is unlocked (its seqlock version
// made even, as the worker's unlock would), which may leave that bucket
// half-written: at worst explain misses or misreads the one flow being
// inserted at that instant.
import { FlowIndex } from '../flow/flow-index.js';
import type { LbBuffers } from '../lb/lb-tables.js';
import type { NatBuffers } from '../nat/nat-tables.js';

function copyBuffer(b: SharedArrayBuffer): SharedArrayBuffer {
  const c = new SharedArrayBuffer(b.byteLength);
  new Uint8Array(c).set(new Uint8Array(b));
  return c;
}

/** Makes every bucket's version word even (unlocked) in a copied flow index. */
function unlockIndex(index: SharedArrayBuffer): void {
  // A view only to read the layout (buckets, words per bucket); the keys are not needed for that.
  const view = new FlowIndex(index, new Int32Array(0), 0);
  const words = view.buckets;
  const per = words.length / view.bucketCount;
  for (let i = 0; i < words.length; i += per) if ((words[i] & 1) !== 0) words[i] = (words[i] + 1) | 0;
}

/** A private copy of the NAT state (flow table and port allocators), unlocked. */
export function copyNatBuffers(b: NatBuffers): NatBuffers {
  const index = copyBuffer(b.flows.index);
  unlockIndex(index);
  return {
    flows: { meta: copyBuffer(b.flows.meta), records: copyBuffer(b.flows.records), links: copyBuffer(b.flows.links), index },
    ports: b.ports.map(copyBuffer),
  };
}

/** A private copy of the load balancer's tables (what the workers read, and the counters they write). */
export function copyLbBuffers(b: LbBuffers): LbBuffers {
  return { meta: copyBuffer(b.meta), tables: b.tables.map(copyBuffer), counters: b.counters.map(copyBuffer) };
}

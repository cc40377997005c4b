// Control-side check of a FlowIndex: walks every bucket and verifies the
// invariants the lock-free readers rely on. For tests and flow dumps of a
// quiescent index (it allocates; not for the packet path).
import { FlowIndex, SLOTS } from './flow-index.js';

export interface IndexAudit {
  entries: number;
  /** Entries living in their secondary bucket. */
  inSecondary: number;
  /** Buckets some of whose keys live in their secondary (a miss there reads two buckets). */
  overflowBuckets: number;
  buckets: number;
  moves: number;
  /** Human-readable invariant violations; empty when the index is sound. */
  problems: string[];
}

/** Word offsets inside a bucket (see flow-index.ts). */
const BUCKET_WORDS = 16;
const OVF = 1;
const SIG = 2;
const VAL = SIG + SLOTS;

/**
 * Each signature is its key's hash, each key sits in its primary or
 * secondary bucket, overflow counts match, no key and no value appears
 * twice, no bucket is left locked.
 */
export function auditIndex(index: FlowIndex): IndexAudit {
  const b = index.buckets;
  const keys = index.keys;
  const problems: string[] = [];
  const seenKeys = new Map<string, number>();
  const seenValues = new Set<number>();
  const overflow = new Int32Array(index.bucketCount);
  let entries = 0;
  let inSecondary = 0;
  for (let x = 0; x < index.bucketCount; x++) {
    const base = x * BUCKET_WORDS;
    if ((b[base] & 1) !== 0) problems.push(`bucket ${x}: left locked (version ${b[base]})`);
    for (let i = 0; i < SLOTS; i++) {
      const val = b[base + VAL + i];
      if (val < 0) continue;
      entries++;
      const r = ((val >> 1) << index.recordShift) + ((val & 1) << 2);
      const k = keys.subarray(r, r + 4);
      const h = index.hash(k[0], k[1], k[2], k[3]);
      const [p, s] = index.candidatesOfHash(h);
      const where = `bucket ${x} slot ${i} (value ${val})`;
      if (b[base + SIG + i] !== h) problems.push(`${where}: signature ${b[base + SIG + i]} is not the key's hash ${h}`);
      if (x !== p) {
        if (x !== s) problems.push(`${where}: key belongs in bucket ${p} or ${s}`);
        inSecondary++;
        overflow[p]++;
      }
      const text = k.join(',');
      const prev = seenKeys.get(text);
      if (prev !== undefined) problems.push(`${where}: key [${text}] also stored with value ${prev}`);
      seenKeys.set(text, val);
      if (seenValues.has(val)) problems.push(`${where}: value stored twice`);
      seenValues.add(val);
    }
  }
  let overflowBuckets = 0;
  for (let x = 0; x < index.bucketCount; x++) {
    const ovf = b[x * BUCKET_WORDS + OVF];
    if (ovf !== overflow[x]) problems.push(`bucket ${x}: overflow count ${ovf}, but ${overflow[x]} of its keys are in their secondary`);
    if (ovf !== 0) overflowBuckets++;
  }
  return { entries, inSecondary, overflowBuckets, buckets: index.bucketCount, moves: index.moves(), problems };
}

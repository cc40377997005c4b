// The source addresses' classes as sorted ranges per /16 (the DXR layout of
// Zec, Rizzo and Mikuc), derived from the classes' 20-4-8 LPM
// (address-classes.ts). Why: on a CPU whose caches beyond L2 cost about DRAM
// latency (this session's AMD EPYC VM: a dependent random load takes 14 ns
// over 1 MiB and 88 ns over 4 MiB), the LPM's 4 MiB root is a miss for every
// packet from the Internet, and at 10,000 rules its 4 MiB third level is a
// second one for 30% of them. The same answers as ranges take a 256 KiB root
// and 4-6 bytes per range (10,000 VPC rules: 40,171 ranges, 157 KiB of
// them; 10 rules: 1,550), small enough to stay in L2.
//
// root[a >>> 16]: >= 0, the class value of the whole /16; < 0, ~at, where
// keys[at] is the /16's range count - 1 and keys/values[at + 1 ...] its ranges
// in address order: a range's first address (low 16 bits) and its value.
// A lookup takes the last range starting at or below the address's low 16
// bits (binary search: log2 of the ranges in its /16, 0 for most).
// Values are the LPM's (class << 1 | isEndpoint), decoded.
import type { FibView } from '../route/lpm.js';

export interface AddressRanges {
  readonly root: Int32Array;
  readonly keys: Uint16Array;
  readonly values: Int32Array;
  readonly bytes: number;
}

/** The ranges of an address-class LPM (values stored as the LPM stores them: class value + 1 in the low 24 bits). */
export function buildAddressRanges(view: Pick<FibView, 'root' | 'level2' | 'level3'>): AddressRanges {
  const { root: r1, level2: r2, level3: r3 } = view;
  const decode = (e: number): number => (e & 0xffffff) - 1;
  // Pass 1: the address space as (first address, value) runs, adjacent equal values merged.
  const starts: number[] = [];
  const vals: number[] = [];
  const run = (first: number, e: number): void => {
    const v = decode(e);
    if (vals.length > 0 && vals[vals.length - 1] === v) return;
    starts.push(first);
    vals.push(v);
  };
  for (let i = 0; i < r1.length; i++) {
    const e = r1[i];
    if (e >= 0) {
      run(i * 4096, e);
      continue;
    }
    for (let j = 0; j < 16; j++) {
      const f = r2[~e | j];
      if (f >= 0) {
        run(i * 4096 + j * 256, f);
        continue;
      }
      for (let k = 0; k < 256; k++) run(i * 4096 + j * 256 + k, r3[~f | k]);
    }
  }
  // Pass 2: per /16, its value or its ranges.
  const root = new Int32Array(65536);
  const keys: number[] = [];
  const values: number[] = [];
  let r = 0;
  for (let c = 0; c < 65536; c++) {
    const lo = c * 65536;
    const hi = lo + 65536;
    while (r + 1 < starts.length && starts[r + 1] <= lo) r++;
    let e = r;
    while (e + 1 < starts.length && starts[e + 1] < hi) e++;
    if (e === r) {
      root[c] = vals[r];
      continue;
    }
    const at = keys.length;
    keys.push(e - r);
    values.push(0);
    for (let q = r; q <= e; q++) {
      keys.push(Math.max(starts[q], lo) - lo);
      values.push(vals[q]);
    }
    root[c] = ~at;
    r = e;
  }
  const k = Uint16Array.from(keys);
  const v = Int32Array.from(values);
  return { root, keys: k, values: v, bytes: root.byteLength + k.byteLength + v.byteLength };
}

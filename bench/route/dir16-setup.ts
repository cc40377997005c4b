// The tables and addresses the dir16 loop benches (dir16-loops.ts,
// dir16-wasm.ts) time: the RouteViews table or one grown to 1M prefixes,
// published as a dir16 snapshot the way workers get it, and the LPM bench's
// 2^20 lookup addresses in a SharedArrayBuffer.
import { hugeSharedBuffer } from '../../src/flow/huge-pages.js';
import { Lpm } from '../../src/route/lpm.js';
import { dir16Views } from '../../src/route/fib-dir16.js';
import { growTable, lookupAddresses, readRouteViews, type PrefixTable } from './table.js';

export interface Dir16Setup {
  table: PrefixTable;
  root: Uint16Array;
  tbl8: Uint16Array;
  /** 2^20 addresses (10% random, the rest inside the table's prefixes), in shared memory. */
  addrs: Uint32Array;
}

/** `which`: 'rv' for RouteViews, '1m' for the table grown to 1M prefixes. */
export function dir16Setup(which: string): Dir16Setup {
  const real = readRouteViews();
  const table = which === '1m' ? growTable(real, 1_000_000, 42) : real;
  const lpm = new Lpm({ expectedPrefixes: table.count });
  for (let i = 0; i < table.count; i++) lpm.insert(table.prefix[i], table.len[i], table.asn[i] % 8);
  lpm.trim();
  const snap = lpm.snapshot(1, hugeSharedBuffer, 'auto');
  if (snap.layout !== 'dir16') throw new Error(`the snapshot of ${which} is ${snap.layout}, not dir16`);
  const local = lookupAddresses(table, 1 << 20, 10, 7);
  const addrs = new Uint32Array(new SharedArrayBuffer(local.byteLength));
  addrs.set(local);
  return { table, ...dir16Views(snap), addrs };
}

// The LPM bench's WebAssembly prototype (bench/route/dir16-wasm-module.ts):
// a hand-assembled module must answer every address as the JS dir16 loop
// does (Dir16View), unrolled or not, leaves and tbl8 groups alike.
import { describe, expect, it } from 'vitest';
import { openDir16Wasm } from '../../bench/route/dir16-wasm-module.js';
import { Dir16View } from '../../src/route/fib-dir16.js';

function tables(): { root: Uint16Array; tbl8: Uint16Array } {
  const root = new Uint16Array(new SharedArrayBuffer(2 << 24));
  const tbl8 = new Uint16Array(new SharedArrayBuffer(3 * 256 * 2));
  // 10.0.0.0/8 -> next hop 4 (entry 5); 192.0.2.0/24 -> group 1; 198.51.100.0/24 -> group 2; the rest no route.
  root.fill(5, 10 << 16, 11 << 16);
  root[(192 << 16) | (0 << 8) | 2] = 0x8000 | 1;
  root[(198 << 16) | (51 << 8) | 100] = 0x8000 | 2;
  for (let i = 0; i < 256; i++) {
    tbl8[256 + i] = i < 128 ? 2 : 3; // 192.0.2.0/25 -> 1, 192.0.2.128/25 -> 2
    tbl8[512 + i] = i === 7 ? 0x7fff : 0; // 198.51.100.7/32 -> 0x7ffe, the rest no route
  }
  return { root, tbl8 };
}

function addresses(n: number): Uint32Array {
  const a = new Uint32Array(new SharedArrayBuffer(n * 4));
  let x = 12345;
  const picks = [0x0a000001, 0xc0000201, 0xc0000281, 0xc6336407, 0xc6336408, 0x08080808, 0xffffffff, 0];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    a[i] = i % 3 === 0 ? picks[x % picks.length] : x;
  }
  return a;
}

describe('the wasm dir16 prototype', () => {
  it.each([1, 8, 64])('answers as Dir16View, unrolled %i times', (unroll) => {
    const { root, tbl8 } = tables();
    const addrs = addresses(64 * 8);
    const wasm = openDir16Wasm(root, tbl8, addrs, unroll);
    const js = new Dir16View(root, tbl8, 1);
    const want = new Int32Array(64);
    const kinds = new Set<number>();
    for (let off = 0; off < addrs.length; off += 64) {
      const burst = addrs.subarray(off, off + 64);
      js.lookupBatch(burst, want, 64);
      wasm.lookupBatch(burst, want.slice(), 64);
      expect(Array.from(wasm.out)).toEqual(Array.from(want));
      // The straight export, at the burst's place in the wasm memory.
      wasm.out.fill(99);
      wasm.lookup(wasm.addrsAt + off * 4, wasm.outAt, 64);
      expect(Array.from(wasm.out)).toEqual(Array.from(want));
      for (const v of want) kinds.add(v);
    }
    // Every kind of answer was exercised: no route, a /8 leaf, both /25s and the largest next hop.
    expect([...kinds].sort((a, b) => a - b)).toEqual([-1, 1, 2, 4, 0x7ffe]);
  });
});

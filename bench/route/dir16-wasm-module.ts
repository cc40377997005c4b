// The dir16 batch lookup as WebAssembly, for the LPM benches (a prototype,
// not a product path: see bench/route/dir16-wasm.ts's header). The module is
// assembled here byte by byte (no toolchain needed); openDir16Wasm copies a
// dir16 table and the bench's lookup addresses into one shared wasm memory.
/** The part of the WebAssembly global this bench uses (the project's lib settings do not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const uleb = (n: number): number[] => {
  const o: number[] = [];
  do {
    let b = n & 127;
    n >>>= 7;
    if (n !== 0) b |= 128;
    o.push(b);
  } while (n !== 0);
  return o;
};
const sleb = (n: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = n & 127;
    n >>= 7;
    if ((n === 0 && (b & 64) === 0) || (n === -1 && (b & 64) !== 0)) return [...o, b];
    o.push(b | 128);
  }
};

/**
 * The module: imports one shared memory of `pages` pages (root at 0, tbl8 at
 * `tbl8At`) and exports lookup(addrsByteOffset, outByteOffset, n), n a
 * multiple of `unroll`.
 */
export function dir16WasmModule(pages: number, tbl8At: number, unroll: number): Uint8Array {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const k32 = (n: number) => [0x41, ...sleb(n)];
  // params 0 a, 1 o, 2 n; locals 3 end, 4 x, 5 e
  const one = (k: number) => [
    ...get(0), 0x28, 2, ...uleb(4 * k), ...set(4), // x = i32.load a+4k
    ...get(4), ...k32(8), 0x76, ...k32(1), 0x74, 0x2f, 1, 0, ...set(5), // e = load16_u root[(x >> 8) * 2]
    ...get(5), ...k32(0x7fff), 0x4b, 0x04, 0x40, // if e > 0x7fff
    ...get(5), ...k32(0x7fff), 0x71, ...k32(8), 0x74, ...get(4), ...k32(255), 0x71, 0x72, ...k32(1), 0x74, 0x2f, 1, ...uleb(tbl8At), ...set(5),
    0x0b,
    ...get(1), ...get(5), ...k32(1), 0x6b, 0x36, 2, ...uleb(4 * k), // i32.store o+4k, e - 1
  ];
  const body = [
    1, 3, 0x7f,
    ...get(0), ...get(2), ...k32(2), 0x74, 0x6a, ...set(3),
    0x02, 0x40, 0x03, 0x40,
    ...get(0), ...k32(4 * (unroll - 1)), 0x6a, ...get(3), 0x4f, 0x0d, 1, // a + 4(U-1) >= end: done
    ...Array.from({ length: unroll }, (_, k) => one(k)).flat(),
    ...get(1), ...k32(4 * unroll), 0x6a, ...set(1),
    ...get(0), ...k32(4 * unroll), 0x6a, ...set(0),
    0x0c, 0,
    0x0b, 0x0b, 0x0b,
  ];
  const sec = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];
  const str = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...sec(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]),
    ...sec(2, [1, ...str('m'), ...str('mem'), 0x02, 0x03, ...uleb(pages), ...uleb(pages)]),
    ...sec(3, [1, 0]),
    ...sec(7, [1, ...str('lookup'), 0x00, 0]),
    ...sec(10, [1, ...uleb(body.length), ...body]),
  ]);
}


/** A wasm dir16 lookup over copies of `root`, `tbl8` and `addrs` (2 MiB pages advised when `advise` is given). */
export interface Dir16Wasm {
  /**
   * Looks up `burst` (a subarray of the `addrs` given to openDir16Wasm) into
   * the wasm memory's output (`out`); the second and third arguments are
   * Dir16View.lookupBatch's, so a bench can time it in the same pass. The
   * `out` argument is not written.
   */
  lookupBatch(burst: Uint32Array, out: Int32Array | Uint32Array, n: number): void;
  /** The output of the last lookup (64 entries). */
  out: Int32Array;
  /** The export itself: lookup(addrsByteOffset, outByteOffset, n), offsets in the wasm memory (a pass without the wrapper's call). */
  lookup: (addrsAt: number, outAt: number, n: number) => void;
  /** Where `addrs` and the output are in the wasm memory. */
  addrsAt: number;
  outAt: number;
  advisedBytes: number;
}

export function openDir16Wasm(root: Uint16Array, tbl8: Uint16Array, addrs: Uint32Array, unroll: number, advise?: (view: Int32Array) => number): Dir16Wasm {
  const TBL8 = root.byteLength;
  const ADDR = TBL8 + Math.ceil(tbl8.byteLength / 64) * 64;
  const OUT = ADDR + addrs.byteLength;
  const pages = Math.ceil((OUT + 4096) / 65536);
  const mem = new Wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const advisedBytes = advise?.(new Int32Array(mem.buffer, 0, mem.buffer.byteLength >> 2)) ?? 0;
  new Uint16Array(mem.buffer, 0, root.length).set(root);
  new Uint16Array(mem.buffer, TBL8, tbl8.length).set(tbl8);
  new Uint32Array(mem.buffer, ADDR, addrs.length).set(addrs);
  const instance = new Wasm.Instance(new Wasm.Module(dir16WasmModule(pages, TBL8, unroll)), { m: { mem } });
  const lookup = instance.exports.lookup as (a: number, o: number, n: number) => void;
  // Offsets of a burst inside `addrs` map to the copy at ADDR.
  const base = ADDR - addrs.byteOffset;
  return {
    lookupBatch: (burst, _out, n) => lookup(base + burst.byteOffset, OUT, n),
    out: new Int32Array(mem.buffer, OUT, 64),
    lookup,
    addrsAt: ADDR,
    outAt: OUT,
    advisedBytes: advisedBytes < 0 ? 0 : advisedBytes,
  };
}

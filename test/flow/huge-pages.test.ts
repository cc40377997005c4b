// huge-pages.ts: a flow-table-sized buffer gets 2 MiB pages where the kernel
// offers them on madvise, and they are really there once touched
// (AnonHugePages of this process grows); small buffers are left alone.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/flow/flow-table.js';
import { adviseHugePages, lineOffset } from '../../src/flow/huge-pages.js';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { skipIf } from '../skip.js';

const MIB = 1 << 20;

function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function anonHugeKb(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

const mode = thpMode();
const reason = !nativeAvailable() ? 'the native addon is not built' : mode !== 'madvise' && mode !== 'always' ? `transparent huge pages are '${mode ?? 'absent'}' (need madvise or always)` : undefined;

describe('adviseHugePages', () => {
  it('leaves a buffer under 4 MiB alone', () => {
    expect(adviseHugePages(new SharedArrayBuffer(3 * MIB))).toBe(0);
  });

  it('advises the whole 2 MiB pages of a large buffer, which it then gets', skipIf(reason), () => {
    const bytes = 64 * MIB + 12344;
    const buf = new SharedArrayBuffer(bytes);
    const advised = adviseHugePages(buf);
    expect(advised % (2 * MIB)).toBe(0);
    // All but the partial pages at either end.
    expect(advised).toBeGreaterThanOrEqual(bytes - 4 * MIB);
    expect(advised).toBeLessThanOrEqual(bytes);
    const before = anonHugeKb();
    const w = new Int32Array(buf);
    for (let i = 0; i < w.length; i += 1024) w[i] = i;
    // The kernel may lack free 2 MiB blocks at the moment: most of it, not all.
    expect(anonHugeKb() - before).toBeGreaterThan(advised / 1024 / 2);
  });

  it('a flow table made with it works as before (insert, lookup)', () => {
    const t = FlowTable.attach(FlowTable.create({ capacity: 1 << 18, workers: 1, timeoutsMs: [1000], seed: 3 }), 0);
    const id = t.insert(1, 2, 3, 17, 2, 1, 3 << 16, 17, 0, 0);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(t.lookup(1, 2, 3, 17)).toBe(id << 1);
    expect(t.lookup(2, 1, 3 << 16, 17)).toBe((id << 1) | 1);
  });
});

describe('lineOffset', () => {
  it('puts every bucket and every flow record of a table on a 64-byte line boundary, in every worker view', skipIf(nativeAvailable() ? undefined : 'the native addon is not built'), () => {
    const addressMod = loadNative().addressMod!;
    const raw = new SharedArrayBuffer(1 << 16);
    // The memory of a SharedArrayBuffer starts off a line boundary (glibc's chunk header): what the pad is for.
    expect((addressMod(new Uint8Array(raw, lineOffset(raw), 1), 64))).toBe(0);
    const buffers = FlowTable.create({ capacity: 5000, workers: 2, timeoutsMs: [1000], seed: 3 });
    for (const w of [0, 1, -1]) {
      const t = FlowTable.attach(buffers, w);
      const at = (v: Int32Array) => addressMod(new Uint8Array(v.buffer, v.byteOffset, 1), 64);
      expect(at(t.index.buckets)).toBe(0);
      expect(at(t.index.keys)).toBe(0); // the records: 64 bytes each from there
      expect(t.index.recordShift).toBe(4);
    }
  });
});

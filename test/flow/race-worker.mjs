// Worker-thread side of test/flow/flow-race.test.ts: real threads on the
// built code (dist/), sharing one flow table, index or port range.
import { parentPort, workerData } from 'node:worker_threads';
import { FlowIndex } from '../../dist/src/flow/flow-index.js';
import { FlowTable } from '../../dist/src/flow/flow-table.js';
import { OUT_OF_PORTS, PortAllocator } from '../../dist/src/flow/port-allocator.js';

/** Waits until all `n` parties have arrived at barrier word `i` (spinning: the race must start at once). */
function barrier(words, i, n) {
  Atomics.add(words, i, 1);
  while (Atomics.load(words, i) < n);
}

function xorshift(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const modes = {
  /**
   * Each round: every worker inserts the same K flow pairs, in the same order,
   * each in a direction of its own choosing, and writes down which flow key A
   * of each pair belongs to (the value of key A) and whether it created it.
   * Then, on "clear", removes the flows it created.
   */
  insertRace() {
    const { buffers, worker, workers, pairs, order, valueOfA, created, sync } = workerData;
    const t = FlowTable.attach(buffers, worker);
    const keys = new Int32Array(pairs);
    const ord = new Int32Array(order);
    const vA = new Int32Array(valueOfA);
    const made = new Int32Array(created);
    const words = new Int32Array(sync);
    const K = ord.length;
    const mine = [];
    parentPort.on('message', (m) => {
      if (m.op === 'round') {
        const rnd = xorshift(m.seed * 31 + worker);
        barrier(words, m.barrier, workers);
        for (let j = 0; j < K; j++) {
          const i = ord[j];
          const a0 = keys[i * 4], a1 = keys[i * 4 + 1], a2 = keys[i * 4 + 2], a3 = keys[i * 4 + 3];
          const b2 = (a2 >>> 16) | (a2 << 16);
          const fromB = (rnd() & 1) === 1;
          const res = fromB ? t.insert(a1, a0, b2, a3, a0, a1, a2, a3, 0, 0) : t.insert(a0, a1, a2, a3, a1, a0, b2, a3, 0, 0);
          let v;
          if (res >= 0) {
            v = fromB ? (res << 1) | 1 : res << 1;
            made[worker * K + i] = 1;
            mine.push(res);
          } else if (res === -1) {
            v = fromB ? t.existing ^ 1 : t.existing;
            made[worker * K + i] = 0;
          } else {
            v = -100 + res; // full: the test fails on it
            made[worker * K + i] = 0;
          }
          vA[worker * K + i] = v;
        }
        parentPort.postMessage('done');
      } else if (m.op === 'clear') {
        let bad = 0;
        for (const id of mine) if (!t.remove(id)) bad++;
        mine.length = 0;
        parentPort.postMessage(bad);
      }
    });
    parentPort.postMessage('ready');
  },

  /**
   * Flips each of its flows between two key families, A and B: removes the
   * flow's pair of keys and inserts the other family's. The flow's phase
   * counter is odd while a flip is under way, and `family` (0 A, 1 B, -1 none
   * after an INDEX_FULL) is written only then, so a reader that sees the same
   * even phase before and after its lookups knows what they must return.
   */
  churnWriter() {
    const { index, store, phase, family, first, count, iterations, seed, sync, parties, readers, familyKeys } = workerData;
    const st = new Int32Array(store);
    const ix = new FlowIndex(index, st, 3);
    const ph = new Int32Array(phase);
    const fam = new Int32Array(family);
    const words = new Int32Array(sync);
    const rnd = xorshift(seed);
    let full = 0;
    let flips = 0;
    barrier(words, 0, parties);
    // At least `iterations` flips, and on until every reader has checked enough
    // (words[2]): on a loaded 2-core machine the readers may get little CPU.
    for (let n = 0; n < iterations || Atomics.load(words, 2) < readers; n++) {
      const f = first + (rnd() % count);
      const r = f << 3;
      Atomics.add(ph, f, 1); // odd: flipping
      const now = fam[f];
      if (now >= 0) {
        const v = f << 1;
        if (ix.remove(st[r], st[r + 1], st[r + 2], st[r + 3], v) !== v) throw new Error(`flow ${f}: original key missing`);
        if (ix.remove(st[r + 4], st[r + 5], st[r + 6], st[r + 7], v | 1) !== (v | 1)) throw new Error(`flow ${f}: reply key missing`);
      }
      const next = now === 0 ? 1 : 0;
      const k = familyKeys[next];
      const o0 = k[0] | f, o1 = k[1], o2 = k[2] | f, o3 = k[3];
      const r2 = (o2 >>> 16) | (o2 << 16);
      st[r] = o0; st[r + 1] = o1; st[r + 2] = o2; st[r + 3] = o3;
      st[r + 4] = o1; st[r + 5] = o0; st[r + 6] = r2; st[r + 7] = o3;
      const res = ix.insertPair(o0, o1, o2, o3, o1, o0, r2, o3, f);
      if (res === -1) {
        Atomics.store(fam, f, next);
        flips++;
      } else {
        Atomics.store(fam, f, -1);
        full++;
      }
      Atomics.add(ph, f, 1); // even: settled
    }
    Atomics.add(words, 1, 1); // one more writer done
    parentPort.postMessage({ flips, full });
  },

  /** Looks flows up while the writers flip them; checks every answer that can be checked. */
  churnReader() {
    const { index, store, phase, family, stable, churnFirst, churnCount, seed, sync, parties, writers, minChecks, familyKeys } = workerData;
    const st = new Int32Array(store);
    const ix = new FlowIndex(index, st, 3);
    const ph = new Int32Array(phase);
    const fam = new Int32Array(family);
    const words = new Int32Array(sync);
    const rnd = xorshift(seed);
    const [A, B] = familyKeys;
    const bk = new Int32Array(12);
    const bh = new Int32Array(3);
    const bo = new Int32Array(3);
    let stableChecks = 0, churnChecks = 0, errors = 0;
    let checkedEnough = false;
    const examples = [];
    const fail = (msg) => {
      errors++;
      if (examples.length < 5) examples.push(msg);
    };
    barrier(words, 0, parties);
    while (Atomics.load(words, 1) < writers) {
      for (let n = 0; n < 1000; n++) {
        if ((rnd() & 3) === 0) {
          // A flow that never changes, sharing buckets with the churn: always found, with its value.
          const f = rnd() % stable;
          const r = f << 3;
          const a = ix.lookup(st[r], st[r + 1], st[r + 2], st[r + 3]);
          const b = ix.lookup(st[r + 4], st[r + 5], st[r + 6], st[r + 7]);
          if (a !== f << 1 || b !== ((f << 1) | 1)) fail(`stable flow ${f}: got ${a}, ${b}`);
          stableChecks++;
        } else {
          const f = churnFirst + (rnd() % churnCount);
          const a2 = A[2] | f;
          const p1 = Atomics.load(ph, f);
          const holds = Atomics.load(fam, f);
          let a, ar, b;
          if ((n & 1) === 0) {
            a = ix.lookup(A[0] | f, A[1], a2, A[3]);
            ar = ix.lookup(A[1], A[0] | f, (a2 >>> 16) | (a2 << 16), A[3]);
            b = ix.lookup(B[0] | f, B[1], B[2] | f, B[3]);
          } else {
            // The same three through lookupBatchHashed (the flow stage's), whose hints a flip can make stale;
            // every other time without its warming passes (no hints: the flow stage's hot batches).
            bk[0] = A[0] | f; bk[1] = A[1]; bk[2] = a2; bk[3] = A[3];
            bk[4] = A[1]; bk[5] = A[0] | f; bk[6] = (a2 >>> 16) | (a2 << 16); bk[7] = A[3];
            bk[8] = B[0] | f; bk[9] = B[1]; bk[10] = B[2] | f; bk[11] = B[3];
            for (let i = 0; i < 3; i++) bh[i] = ix.hash(bk[4 * i], bk[4 * i + 1], bk[4 * i + 2], bk[4 * i + 3]);
            ix.lookupBatchHashed(bk, bh, bo, 3, (n & 2) === 0);
            a = bo[0];
            ar = bo[1];
            b = bo[2];
          }
          const p2 = Atomics.load(ph, f);
          // Whatever the timing, a key found maps to its own flow and direction.
          if ((a !== -1 && a !== f << 1) || (ar !== -1 && ar !== ((f << 1) | 1)) || (b !== -1 && b !== f << 1)) fail(`flow ${f}: wrong value: A ${a}, A reply ${ar}, B ${b}`);
          if (p1 === p2 && (p1 & 1) === 0) {
            churnChecks++;
            const want = holds === 0 ? [f << 1, (f << 1) | 1, -1] : holds === 1 ? [-1, -1, f << 1] : [-1, -1, -1];
            if (a !== want[0] || ar !== want[1] || b !== want[2]) fail(`flow ${f} settled (phase ${p1}, family ${holds}): A ${a}, A reply ${ar}, B ${b}`);
          }
        }
      }
      if (!checkedEnough && stableChecks >= minChecks && churnChecks >= minChecks) {
        checkedEnough = true;
        Atomics.add(words, 2, 1); // the writers may stop once every reader is here
      }
    }
    parentPort.postMessage({ stableChecks, churnChecks, errors, examples });
  },

  /**
   * The platform assumption under FlowIndex's readers: a seqlock read with
   * plain typed-array loads, the version read again through a second view. The writer bumps the version with Atomics.store
   * and writes the data words with plain stores, as FlowIndex's writers do.
   */
  seqlockWriter() {
    const { words: buf } = workerData;
    const a = new Int32Array(buf);
    let k = 0;
    Atomics.add(a, 8, 1);
    while (Atomics.load(a, 9) === 0) {
      const v = a[0];
      Atomics.store(a, 0, v + 1);
      a[1] = k;
      a[2] = k;
      a[3] = k;
      k++;
      Atomics.store(a, 0, v + 2);
    }
    parentPort.postMessage(k);
  },

  /** Reads for `ms` (checked) or until the first torn read (unchecked, which shows the check matters). */
  seqlockReader() {
    const { words: buf, checked, ms } = workerData;
    const a = new Int32Array(buf);
    const again = new Int32Array(buf);
    Atomics.add(a, 8, 1);
    while (Atomics.load(a, 8) < 2);
    let torn = 0;
    let retries = 0;
    let reads = 0;
    const end = Date.now() + ms;
    while (Date.now() < end && (checked || torn === 0)) {
      for (let n = 0; n < 100_000; n++) {
        for (;;) {
          // As FlowIndex.scan's fast path: plain loads, the version read
          // again through a second view of the same memory. (Two plain reads
          // of one view pass on Node 20 and fail on Node 24, whose compiler
          // drops the second as redundant.)
          const v1 = a[0];
          const x = a[1], y = a[2], z = a[3];
          const v2 = checked ? again[0] : a[0];
          if (!checked || ((v1 & 1) === 0 && v1 === v2)) {
            if (x !== y || y !== z) torn++;
            break;
          }
          retries++;
        }
      }
      reads += 100_000;
    }
    Atomics.store(a, 9, 1);
    parentPort.postMessage({ torn, retries, reads });
  },

  /** Takes every port it can, frees every other one, takes again: reports what it held at each step. */
  ports() {
    const { buffer, worker, sync, parties } = workerData;
    const p = PortAllocator.attach(buffer, worker);
    const words = new Int32Array(sync);
    barrier(words, 0, parties);
    const first = [];
    for (let port = p.allocate(); port !== OUT_OF_PORTS; port = p.allocate()) first.push(port);
    const freed = first.filter((_, i) => i % 2 === 0);
    let badFrees = 0;
    for (const port of freed) if (!p.free(port)) badFrees++;
    const second = [];
    for (let port = p.allocate(); port !== OUT_OF_PORTS; port = p.allocate()) second.push(port);
    parentPort.postMessage({ first, freed, second, badFrees, inUse: p.inUseCount() });
  },
};

modes[workerData.mode]();

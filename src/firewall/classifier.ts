// The firewall classifier: a first packet's (src, dst, proto, dport) -> an
// outcome (the action and the rule that matched in each section), at a cost
// that does not grow with the number of rules.
//
// Each field is mapped to its equivalence class by a table that does not look
// at rules: the destination address by an LPM (address-classes.ts), the
// source address by the same classes as ranges per /16 (address-ranges.ts:
// small enough to stay in L2, where Internet sources spread over the LPM's
// 4 MiB root), protocol + port by a direct table (port-classes.ts).
// The verdict depends on the three classes only; the combinations seen are
// memoised (outcome-memo.ts) and a new one is computed by ANDing the three
// classes' rule bitmaps and taking, per section, the lowest set bit (rules
// are numbered in first-match order, sections contiguous). So a packet costs
// a range lookup and an LPM walk, one table load and one hash probe; a new combination adds
// at most 3 x rules/32 word loads, fewer in practice: only words where all
// three classes have rules are loaded, and when an address class is sparse
// (an Internet address: a few dozen rules) its listed words drive the search
// (rule-sets.ts), two scattered loads per candidate word instead of three. ReferenceFirewall (evaluate.ts) is the meaning;
// tests hold this to it.
//
// Measured (`npm run bench -- firewall`, bench/firewall/): see
// src/firewall/README.md.
import { buildAddressClasses } from './address-classes.js';
import { buildAddressRanges } from './address-ranges.js';
import { memoHash, OutcomeMemo } from './outcome-memo.js';
import { Outcomes } from './outcomes.js';
import { Action, ruleOrder, Section, type FirewallPlan } from './plan.js';
import { buildPortClasses } from './port-classes.js';

/** classify()'s answer when neither address is an endpoint: the firewall does not judge or track the packet. */
export const NOT_INVOLVED = -1;

/**
 * Packets classifyBatch() carries through each of its passes together: enough
 * independent loads in flight to overlap their cache misses, few enough that
 * the lanes stay in L1.
 */
export const CLASSIFY_LANES = 64;

/**
 * A memo larger than this is prefetched before a batch's probes
 * (classifyLanes): beyond the L2 (1 MiB on the AMD EPYC) a probe is a DRAM
 * access, and the probe loop alone overlaps few of them. Below it, the
 * extra pass over the lanes costs more than it saves.
 */
const MEMO_PREFETCH_BYTES = 512 * 1024;

/** Default memo size: 2^18 class combinations (4 MiB of two-word slots, 8 MiB of four-word ones). */
export const DEFAULT_MEMO_ENTRIES = 1 << 18;

export interface ClassifierOptions {
  /** Class combinations memoised before the memo is cleared (default DEFAULT_MEMO_ENTRIES). */
  memoEntries?: number;
}

export interface ClassifierMemory {
  bytes: number;
  srcClasses: number;
  dstClasses: number;
  portClasses: number;
  outcomes: number;
}

export class FirewallClassifier {
  readonly stats = { memoMisses: 0, memoResets: 0 };
  // The tables (the destination's in fib-view.ts layout), walked inline in classify():
  // calling each FibView's own lookup closure would make those call sites
  // polymorphic as soon as a second classifier exists (a rebuilt plan, a
  // bench of several sizes), and V8 stops inlining them.
  // The source side as ranges per /16 (address-ranges.ts): a table that stays in L2.
  private readonly srcRoot: Int32Array;
  private readonly srcKeys: Uint16Array;
  private readonly srcValues: Int32Array;
  private readonly dstRoot: Int32Array;
  private readonly dstL2: Int32Array;
  private readonly dstL3: Int32Array;
  private readonly srcBits: Uint32Array;
  private readonly dstBits: Uint32Array;
  private readonly portBits: Uint32Array;
  private readonly words: number;
  private readonly srcSums: Uint32Array;
  private readonly dstSums: Uint32Array;
  private readonly portSums: Uint32Array;
  private readonly sumWords: number;
  // Sparse classes' non-zero words (rule-sets.ts): the miss path walks the sparser side's list.
  private readonly srcList: Int32Array;
  private readonly srcListAt: Int32Array;
  private readonly srcNonZero: Int32Array;
  private readonly dstList: Int32Array;
  private readonly dstListAt: Int32Array;
  private readonly dstNonZero: Int32Array;
  private readonly portBase: Int32Array;
  private readonly portClass: Int32Array;
  private readonly protoClass: Int32Array;
  /** Rule index (into plan.rules) of each bit. */
  private readonly order: Int32Array;
  /** Bit range [sectionStart[s], sectionStart[s + 1]) of each section. */
  private readonly sectionStart: Int32Array;
  private readonly memo: OutcomeMemo;
  private readonly outcomes: Outcomes;
  private readonly scratch = new Int32Array(Section.COUNT);
  /** What the memo prefetch loaded, kept so that its loads are not optimised away. */
  private prefetched = 0;
  // classifyBatch()'s lanes: per packet, the source and destination values
  // (root entry, then class << 1 | isEndpoint; -1 once known NOT_INVOLVED),
  // the port class and the memo hash.
  private readonly laneS = new Int32Array(CLASSIFY_LANES);
  private readonly laneD = new Int32Array(CLASSIFY_LANES);
  private readonly laneP = new Int32Array(CLASSIFY_LANES);
  private readonly laneH = new Int32Array(CLASSIFY_LANES);
  private readonly sizes: Omit<ClassifierMemory, 'outcomes' | 'bytes'> & { tableBytes: number };

  private constructor(
    readonly plan: FirewallPlan,
    opts: ClassifierOptions,
  ) {
    checkPlan(plan);
    const order = ruleOrder(plan.rules);
    const bitOf = new Int32Array(plan.rules.length);
    order.forEach((ruleIndex, bit) => (bitOf[ruleIndex] = bit));
    this.order = Int32Array.from(order);
    this.sectionStart = new Int32Array(Section.COUNT + 1);
    for (let s = 0, bit = 0; s <= Section.COUNT; s++) {
      while (bit < order.length && plan.rules[order[bit]].section < s) bit++;
      this.sectionStart[s] = bit;
    }
    const src = buildAddressClasses(plan.rules, bitOf, 'src', plan.endpoints);
    const dst = buildAddressClasses(plan.rules, bitOf, 'dst', plan.endpoints);
    const ports = buildPortClasses(plan.rules, bitOf);
    const srcRanges = buildAddressRanges(src.view);
    this.srcRoot = srcRanges.root;
    this.srcKeys = srcRanges.keys;
    this.srcValues = srcRanges.values;
    this.dstRoot = dst.view.root;
    this.dstL2 = dst.view.level2;
    this.dstL3 = dst.view.level3;
    this.srcBits = src.classes.bits;
    this.dstBits = dst.classes.bits;
    this.portBits = ports.classes.bits;
    this.words = src.classes.words;
    this.srcSums = src.classes.summaries;
    this.dstSums = dst.classes.summaries;
    this.portSums = ports.classes.summaries;
    this.sumWords = src.classes.summaryWords;
    this.srcList = src.classes.sparse;
    this.srcListAt = src.classes.sparseAt;
    this.srcNonZero = src.classes.nonZeroWords;
    this.dstList = dst.classes.sparse;
    this.dstListAt = dst.classes.sparseAt;
    this.dstNonZero = dst.classes.nonZeroWords;
    this.portBase = ports.portBase;
    this.portClass = ports.portClass;
    this.protoClass = ports.protoClass;
    // Source and destination values are class << 1 | isEndpoint.
    const narrow = 2 * src.classes.count < 0xffff && 2 * dst.classes.count < 0xffff && ports.classes.count <= 0x10000;
    this.memo = new OutcomeMemo(opts.memoEntries ?? DEFAULT_MEMO_ENTRIES, narrow);
    this.outcomes = new Outcomes(plan.rules);
    const tableBytes =
      srcRanges.bytes + dst.lpmBytes + src.classes.bytes + dst.classes.bytes + ports.classes.bytes + (ports.portBase.byteLength + ports.portClass.byteLength + ports.protoClass.byteLength) + this.order.byteLength;
    this.sizes = { tableBytes, srcClasses: src.classes.count, dstClasses: dst.classes.count, portClasses: ports.classes.count };
  }

  static build(plan: FirewallPlan, opts: ClassifierOptions = {}): FirewallClassifier {
    return new FirewallClassifier(plan, opts);
  }

  /**
   * The outcome of a first packet, or NOT_INVOLVED when neither address is an
   * endpoint. src/dst: IPv4 addresses as int32 or uint32; proto: the IPv4
   * protocol byte (0-255); dport: the destination port (read for TCP, UDP
   * and SCTP only).
   */
  classify(src: number, dst: number, proto: number, dport: number): number {
    const a = src >>> 0;
    let s = this.srcRoot[a >>> 16];
    if (s < 0) s = this.srcRange(~s, a & 0xffff);
    const b = dst >>> 0;
    let d = this.dstRoot[b >>> 12];
    if (d < 0) {
      d = this.dstL2[~d | ((b >>> 8) & 15)];
      if (d < 0) d = this.dstL3[~d | (b & 255)];
    }
    d = (d & 0xffffff) - 1;
    if (((s | d) & 1) === 0) return NOT_INVOLVED;
    const base = this.portBase[proto & 255];
    const p = base >= 0 ? this.portClass[base + (dport & 0xffff)] : this.protoClass[proto & 255];
    const o = this.memo.find(s, d, p);
    return o >= 0 ? o : this.miss(s, d, p);
  }

  /**
   * classify() for packets [0, n) of the arrays, outcomes into out[0, n):
   * the same answers, at a cost that depends less on where the tables are.
   * With many rules the tables outgrow the caches (10,000 rules: two 4 MiB
   * LPM roots, a 4 MiB third level, an 8 MiB memo at 1M flows), and a packet
   * walks a chain of dependent misses: root, deeper levels, then the memo
   * slot its classes hash to. One packet at a time, those chains run one
   * after another (a branch on a missed load stalls what follows it);
   * taken by lanes of CLASSIFY_LANES packets, pass by pass (roots and port
   * class; deeper levels and hash; memo probe), each pass's loads are
   * independent of each other and their misses overlap. The firewall node
   * judges a batch's first packets this way.
   */
  classifyBatch(src: Int32Array, dst: Int32Array, proto: Uint8Array, dport: Uint16Array, n: number, out: Int32Array): void {
    for (let at = 0; at < n; at += CLASSIFY_LANES) this.classifyLanes(src, dst, proto, dport, at, Math.min(CLASSIFY_LANES, n - at), out);
  }

  private classifyLanes(src: Int32Array, dst: Int32Array, proto: Uint8Array, dport: Uint16Array, at: number, m: number, out: Int32Array): void {
    const ls = this.laneS;
    const ld = this.laneD;
    const lp = this.laneP;
    const lh = this.laneH;
    const sRoot = this.srcRoot;
    const dRoot = this.dstRoot;
    const portBase = this.portBase;
    const portClass = this.portClass;
    const protoClass = this.protoClass;
    // Pass 1: both roots and the port class.
    for (let k = 0; k < m; k++) {
      const i = at + k;
      ls[k] = sRoot[src[i] >>> 16];
      ld[k] = dRoot[dst[i] >>> 12];
      const pr = proto[i] & 255;
      const base = portBase[pr];
      lp[k] = base >= 0 ? portClass[base + (dport[i] & 0xffff)] : protoClass[pr];
    }
    // Pass 2: the deeper levels where a root pointed on (its entry is in L1 now), the classes, the memo hash.
    const dL2 = this.dstL2;
    const dL3 = this.dstL3;
    for (let k = 0; k < m; k++) {
      const i = at + k;
      let s = ls[k];
      if (s < 0) s = this.srcRange(~s, src[i] & 0xffff);
      let d = ld[k];
      if (d < 0) {
        const b = dst[i];
        d = dL2[~d | ((b >>> 8) & 15)];
        if (d < 0) d = dL3[~d | (b & 255)];
      }
      d = (d & 0xffffff) - 1;
      if (((s | d) & 1) === 0) {
        ls[k] = -1;
        continue;
      }
      ls[k] = s;
      ld[k] = d;
      lh[k] = memoHash(s, d, lp[k]);
    }
    const memo = this.memo;
    // Pass 2b: a memo beyond L2 is prefetched, one load per lane in a tight
    // loop, so that the probes' DRAM misses overlap. Measured (vpc-10k, 1M
    // flows, 8 MiB memo, AMD EPYC): the probe pass alone cost ~120 ns a
    // packet, as if each probe waited for its own miss (its compares and
    // branches on the missed word keep few loads in flight); with this loop
    // first, the batch cost falls by 13-21%.
    if (memo.bytes > MEMO_PREFETCH_BYTES) this.prefetched ^= memo.touch(lh, ls, m);
    // Pass 3: the memo probes; a combination not in it is computed (and inserted) here.
    for (let k = 0; k < m; k++) {
      const s = ls[k];
      if (s < 0) {
        out[at + k] = NOT_INVOLVED;
        continue;
      }
      const o = memo.findHashed(lh[k], s, ld[k], lp[k]);
      out[at + k] = o >= 0 ? o : this.miss(s, ld[k], lp[k]);
    }
  }

  /** The value of the last range of a /16 (its ranges from `at`, address-ranges.ts) starting at or below `key`. */
  private srcRange(at: number, key: number): number {
    const keys = this.srcKeys;
    let lo = at + 1;
    let n = keys[at] + 1;
    // Branch-free: n shrinks the same way whichever half holds the key, so
    // the loop's trip count depends on the /16's range count only, and the
    // step is a mask, not a branch on a fresh load (a /16 with dozens of
    // ranges mispredicted about one step in two).
    while (n > 1) {
      const half = n >>> 1;
      // -1 when key < keys[lo + half] (both 16-bit): the step is not taken.
      const below = (key - keys[lo + half]) >> 31;
      lo += half & ~below;
      n -= half;
    }
    return this.srcValues[lo];
  }

  action(outcome: number): number {
    return this.outcomes.action[outcome];
  }

  /** The rule (index into plan.rules) that matched in `section`, or -1 (none: the section allowed). */
  rule(outcome: number, section: number): number {
    return this.outcomes.rule[outcome * Section.COUNT + section];
  }

  /** The section that denied or rejected, or -1 when the outcome allows. */
  decidedBy(outcome: number): number {
    return this.outcomes.decidedBy[outcome];
  }

  /** Forgets the memoised combinations and shrinks the memo to its first size (benchmarks use it to time misses). */
  clearMemo(): void {
    this.memo.clear(true);
  }

  memory(): ClassifierMemory {
    const { tableBytes, srcClasses, dstClasses, portClasses } = this.sizes;
    return { bytes: tableBytes + this.memo.bytes + this.outcomes.bytes, srcClasses, dstClasses, portClasses, outcomes: this.outcomes.count };
  }

  /** A new class combination: the first rule of each section that all three classes hold. */
  private miss(s: number, d: number, p: number): number {
    this.stats.memoMisses++;
    const si = s >>> 1;
    const di = d >>> 1;
    const sAt = this.srcListAt[si];
    const dAt = this.dstListAt[di];
    if (sAt >= 0 && (dAt < 0 || this.srcNonZero[si] <= this.dstNonZero[di])) {
      this.walkList(this.srcList, sAt, this.srcNonZero[si], this.dstBits, this.dstSums, di, p);
    } else if (dAt >= 0) {
      this.walkList(this.dstList, dAt, this.dstNonZero[di], this.srcBits, this.srcSums, si, p);
    } else {
      this.searchSummaries(s, d, p);
    }
    const outcome = this.outcomes.intern(this.scratch);
    this.memo.insert(s, d, p, outcome);
    this.stats.memoResets = this.memo.resets;
    return outcome;
  }

  /**
   * The miss path when one address class is sparse: its listed words
   * (`list` from `at`, `n` pairs) in order, each ANDed with the other
   * address class (`xb`, summaries `xs`, class `xc`) and the port class
   * where both their summaries have the word.
   */
  private walkList(list: Int32Array, at: number, n: number, xb: Uint32Array, xs: Uint32Array, xc: number, p: number): void {
    const w = this.words;
    const sw = this.sumWords;
    const yb = this.portBits;
    const ys = this.portSums;
    const xo = xc * w;
    const yo = p * w;
    const xso = xc * sw;
    const yso = p * sw;
    const r = this.scratch;
    const end = at + 2 * n;
    let j = at;
    for (let sec = 0; sec < Section.COUNT; sec++) {
      r[sec] = -1;
      const lo = this.sectionStart[sec];
      const hi = this.sectionStart[sec + 1];
      if (lo === hi) continue;
      const first = lo >>> 5;
      const last = (hi - 1) >>> 5;
      while (j < end && list[j] < first) j += 2;
      for (let q = j; q < end; q += 2) {
        const i = list[q];
        if (i > last) break;
        if ((((xs[xso + (i >>> 5)] & ys[yso + (i >>> 5)]) >>> (i & 31)) & 1) === 0) continue;
        let x = list[q + 1] & xb[xo + i] & yb[yo + i];
        if (i === first) x &= -1 << (lo & 31);
        if (i === last && (hi & 31) !== 0) x &= (1 << (hi & 31)) - 1;
        if (x !== 0) {
          r[sec] = this.order[(i << 5) + 31 - Math.clz32(x & -x)];
          break;
        }
      }
    }
  }

  /** The miss path when neither address class is sparse: the three summaries ANDed first. */
  private searchSummaries(s: number, d: number, p: number): void {
    const w = this.words;
    const sb = this.srcBits;
    const db = this.dstBits;
    const pb = this.portBits;
    const so = (s >>> 1) * w;
    const dOff = (d >>> 1) * w;
    const po = p * w;
    const sw = this.sumWords;
    const ss = this.srcSums;
    const ds = this.dstSums;
    const ps = this.portSums;
    const sso = (s >>> 1) * sw;
    const dso = (d >>> 1) * sw;
    const pso = p * sw;
    const r = this.scratch;
    for (let sec = 0; sec < Section.COUNT; sec++) {
      r[sec] = -1;
      const lo = this.sectionStart[sec];
      const hi = this.sectionStart[sec + 1];
      if (lo === hi) continue;
      const first = lo >>> 5;
      const last = (hi - 1) >>> 5;
      // Summary words first: only bitmap words non-zero in all three classes are loaded.
      search: for (let k = first >>> 5; k <= last >>> 5; k++) {
        let m = ss[sso + k] & ds[dso + k] & ps[pso + k];
        if (k === first >>> 5) m &= -1 << (first & 31);
        if (k === last >>> 5 && (last & 31) !== 31) m &= (1 << ((last & 31) + 1)) - 1;
        while (m !== 0) {
          const i = (k << 5) + 31 - Math.clz32(m & -m);
          m &= m - 1;
          let x = sb[so + i] & db[dOff + i] & pb[po + i];
          if (i === first) x &= -1 << (lo & 31);
          if (i === last && (hi & 31) !== 0) x &= (1 << (hi & 31)) - 1;
          if (x !== 0) {
            r[sec] = this.order[(i << 5) + 31 - Math.clz32(x & -x)];
            break search;
          }
        }
      }
    }
  }
}

function checkPlan(plan: FirewallPlan): void {
  const bad = (where: string, why: string): never => {
    throw new RangeError(`firewall plan: ${where}: ${why}`);
  };
  const isInt = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  plan.rules.forEach((r, i) => {
    const at = `rules[${i}]`;
    if (!isInt(r.section, 0, Section.COUNT - 1)) bad(`${at}.section`, `${r.section} is not a section 0..${Section.COUNT - 1}`);
    if (!isInt(r.action, Action.ALLOW, Action.REJECT)) bad(`${at}.action`, `${r.action} is not ALLOW, DENY or REJECT`);
    if (!Number.isFinite(r.priority)) bad(`${at}.priority`, `${r.priority} is not a number`);
    for (const field of ['src', 'dst'] as const) {
      for (const list of ['include', 'except'] as const) {
        r[field][list].forEach((c, j) => {
          if (!isInt(c.len, 0, 32)) bad(`${at}.${field}.${list}[${j}].len`, `${c.len} is outside 0..32`);
          if (!isInt(c.addr, -(2 ** 31), 2 ** 32 - 1)) bad(`${at}.${field}.${list}[${j}].addr`, `${c.addr} is not an IPv4 address`);
        });
      }
    }
    r.ports.forEach((p, j) => {
      if (!isInt(p.proto, -1, 255)) bad(`${at}.ports[${j}].proto`, `${p.proto} is outside -1..255`);
      if (!Number.isInteger(p.lo) || !Number.isInteger(p.hi)) bad(`${at}.ports[${j}]`, `port range ${p.lo}-${p.hi} is not integers`);
    });
  });
  plan.endpoints.forEach((e, j) => {
    if (!isInt(e, -(2 ** 31), 2 ** 32 - 1)) bad(`endpoints[${j}]`, `${e} is not an IPv4 address`);
  });
}

// The classifier against the firewall's plain meaning (ReferenceFirewall):
// random plans with nested prefixes, excepts, /0 and /32, overlapping port
// ranges and their edges, every section, priority ties and all three
// actions, judged on packets drawn to hit the plan's prefixes, ports and
// endpoints. Every outcome must carry the reference's action, per-section
// rule and deciding section; traffic with no endpoint must be NOT_INVOLVED.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FirewallClassifier, NOT_INVOLVED } from '../../src/firewall/classifier.js';
import { ReferenceFirewall } from '../../src/firewall/evaluate.js';
import { Section, type ClassifierRule, type Cidr, type FirewallPlan, type PortMatch } from '../../src/firewall/plan.js';

const BASES = [0xc6120000 /* 198.18.0.0 */, 0xc0000200 /* 192.0.2.0 */, 0xcb007100 /* 203.0.113.0 */, 0xc6336400 /* 198.51.100.0 */];

/** An address near the bases: low bits random, so prefixes of random length nest often. */
const addrArb = fc.tuple(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 0x1ffff }), fc.boolean()).map(([b, low, wide]) => ((b | (wide ? low : low & 0xff)) >>> 0) as number);

const cidrArb: fc.Arbitrary<Cidr> = fc
  .tuple(addrArb, fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(0, 15, 24, 28, 32)))
  .map(([a, len]) => ({ addr: len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0, len }));

const EDGE_PORTS = [0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65534, 65535];
const portArb = fc.oneof(fc.constantFrom(...EDGE_PORTS), fc.integer({ min: 0, max: 65535 }));

const portMatchArb: fc.Arbitrary<PortMatch> = fc
  .tuple(fc.constantFrom(-1, 6, 6, 17, 17, 132, 1, 0, 47, 255), portArb, portArb, fc.integer({ min: 0, max: 9 }))
  .map(([proto, a, b, shape]) => {
    if (shape === 0) return { proto, lo: Math.max(a, b), hi: Math.min(a, b) }; // empty when a != b
    if (shape <= 3) return { proto, lo: a, hi: a };
    return { proto, lo: Math.min(a, b), hi: Math.max(a, b) };
  });

const ruleArb: fc.Arbitrary<ClassifierRule> = fc.record({
  section: fc.integer({ min: 0, max: Section.COUNT - 1 }),
  priority: fc.constantFrom(0, 1, 1, 100, 1000, 65535),
  action: fc.constantFrom(0, 0, 1, 2),
  src: fc.record({ include: fc.array(cidrArb, { minLength: 0, maxLength: 3 }), except: fc.array(cidrArb, { maxLength: 2 }) }),
  dst: fc.record({ include: fc.array(cidrArb, { minLength: 0, maxLength: 3 }), except: fc.array(cidrArb, { maxLength: 2 }) }),
  ports: fc.array(portMatchArb, { maxLength: 3 }),
  origin: fc.constant(0),
});

const planArb: fc.Arbitrary<FirewallPlan> = fc.record({
  rules: fc.array(ruleArb, { minLength: 0, maxLength: 40 }),
  origins: fc.constant([]),
  endpoints: fc.array(addrArb, { maxLength: 6 }),
});

/** How to draw one packet from a plan: indices are taken modulo what the plan has. */
const recipeArb = fc.record({
  srcKind: fc.integer({ min: 0, max: 3 }),
  dstKind: fc.integer({ min: 0, max: 3 }),
  pick: fc.nat(),
  pick2: fc.nat(),
  host: fc.integer({ min: 0, max: 0xffffffff }),
  host2: fc.integer({ min: 0, max: 0xffffffff }),
  proto: fc.constantFrom(6, 17, 132, 1, 0, 47, 58, 255, 6, 17),
  portKind: fc.integer({ min: 0, max: 4 }),
  port: portArb,
});

type Recipe = typeof recipeArb extends fc.Arbitrary<infer T> ? T : never;

function drawAddress(plan: FirewallPlan, prefixes: Cidr[], kind: number, pick: number, host: number): number {
  if (kind === 0 && plan.endpoints.length > 0) return plan.endpoints[pick % plan.endpoints.length] >>> 0;
  if (kind <= 2 && prefixes.length > 0) {
    const c = prefixes[pick % prefixes.length];
    const hostMask = c.len === 0 ? 0xffffffff : ~(0xffffffff << (32 - c.len)) >>> 0;
    // kind 2: the prefix's first or last address (the edges of the range).
    const h = kind === 2 ? (host & 1 ? hostMask : 0) : host & hostMask;
    return (c.addr | h) >>> 0;
  }
  return host >>> 0;
}

function drawPort(plan: FirewallPlan, r: Recipe): number {
  const ranges = plan.rules.flatMap((x) => x.ports);
  if (r.portKind === 0 || ranges.length === 0) return r.port;
  const p = ranges[r.pick2 % ranges.length];
  const v = [p.lo, p.hi, p.lo - 1, p.hi + 1][r.portKind - 1];
  return Math.min(65535, Math.max(0, v));
}

function checkPackets(plan: FirewallPlan, recipes: Recipe[], memoEntries?: number): void {
  const fw = FirewallClassifier.build(plan, { memoEntries });
  // A second classifier judges the same packets with classifyBatch, its memo filled by the batches alone.
  const fwBatch = FirewallClassifier.build(plan, { memoEntries });
  const ref = new ReferenceFirewall(plan);
  const srcPrefixes = plan.rules.flatMap((r) => [...r.src.include, ...r.src.except]);
  const dstPrefixes = plan.rules.flatMap((r) => [...r.dst.include, ...r.dst.except]);
  const endpoints = new Set(plan.endpoints.map((e) => e >>> 0));
  const n = recipes.length;
  const packets = { src: new Int32Array(n), dst: new Int32Array(n), proto: new Uint8Array(n), dport: new Uint16Array(n) };
  const batchOut = new Int32Array(n);
  const check = (c: FirewallClassifier, o: number, src: number, dst: number, proto: number, dport: number, how: string): void => {
    const what = `${how}: ${src}>${dst} proto ${proto} dport ${dport}`;
    if (!endpoints.has(src) && !endpoints.has(dst)) {
      expect(o, what).toBe(NOT_INVOLVED);
      return;
    }
    expect(o, what).toBeGreaterThanOrEqual(0);
    const want = ref.judge(src, dst, proto, dport);
    const got = { action: c.action(o), rule: [0, 1, 2, 3].map((s) => c.rule(o, s)), decidedBy: c.decidedBy(o) };
    expect(got, what).toEqual(want);
  };
  // Each packet twice: the first may compute its outcome, the second must find it in the memo.
  for (const pass of [0, 1]) {
    recipes.forEach((r, i) => {
      const src = drawAddress(plan, srcPrefixes, r.srcKind, r.pick, r.host);
      const dst = drawAddress(plan, dstPrefixes, r.dstKind, r.pick2, r.host2);
      const dport = drawPort(plan, r);
      // Addresses arrive as int32 from a packet reader half the time.
      const o = pass === 0 ? fw.classify(src, dst, r.proto, dport) : fw.classify(src | 0, dst | 0, r.proto, dport);
      check(fw, o, src, dst, r.proto, dport, 'classify');
      packets.src[i] = src | 0;
      packets.dst[i] = dst | 0;
      packets.proto[i] = r.proto;
      packets.dport[i] = dport;
    });
    // All of them in one call: several lanes of CLASSIFY_LANES, misses (and memo resets) between probes of one lane.
    batchOut.fill(-2);
    fwBatch.classifyBatch(packets.src, packets.dst, packets.proto, packets.dport, n, batchOut);
    for (let i = 0; i < n; i++) check(fwBatch, batchOut[i], packets.src[i] >>> 0, packets.dst[i] >>> 0, packets.proto[i], packets.dport[i], `classifyBatch [${i}]`);
  }
}

describe('FirewallClassifier equals ReferenceFirewall', () => {
  it('random plans and packets drawn to hit their prefixes, ports and endpoints', () => {
    fc.assert(
      fc.property(planArb, fc.array(recipeArb, { minLength: 1, maxLength: 150 }), (plan, recipes) => checkPackets(plan, recipes)),
      { numRuns: 150 },
    );
  });

  it('a memo of 1 to 4 entries, cleared again and again, gives the same answers', () => {
    fc.assert(
      fc.property(planArb, fc.array(recipeArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (plan, recipes, memo) => checkPackets(plan, recipes, memo)),
      { numRuns: 60 },
    );
  });

  it('plans of a few hundred rules (several bitmap words per section)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 100, maxLength: 300 }), fc.array(addrArb, { minLength: 1, maxLength: 20 }), fc.array(recipeArb, { minLength: 50, maxLength: 200 }), (rules, endpoints, recipes) =>
        checkPackets({ rules, origins: [], endpoints }, recipes),
      ),
      { numRuns: 15 },
    );
  });

  it('plans of over 1,024 rules (several summary words per class)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1030, maxLength: 2200 }), fc.array(addrArb, { minLength: 1, maxLength: 20 }), fc.array(recipeArb, { minLength: 50, maxLength: 150 }), (rules, endpoints, recipes) =>
        checkPackets({ rules, origins: [], endpoints }, recipes),
      ),
      { numRuns: 6 },
    );
  });

  it('plans of over 1,024 rules on narrow prefixes (sparse classes: the miss path walks their word lists)', () => {
    // /24 to /32 only, plus an any-to-any rule last in each section (as VPC's implied rules):
    // an address class holds a few rules, most of its bitmap words are zero.
    const narrowCidrArb = fc.tuple(addrArb, fc.integer({ min: 24, max: 32 })).map(([a, len]) => ({ addr: (a & (0xffffffff << (32 - len))) >>> 0, len }));
    const narrowRuleArb = ruleArb.chain((r) =>
      fc
        .tuple(fc.array(narrowCidrArb, { minLength: 1, maxLength: 3 }), fc.array(narrowCidrArb, { minLength: 1, maxLength: 3 }), fc.array(narrowCidrArb, { maxLength: 1 }))
        .map(([src, dst, except]) => ({ ...r, priority: r.priority === 65535 ? 1000 : r.priority, src: { include: src, except }, dst: { include: dst, except: [] } })),
    );
    const any = { include: [{ addr: 0, len: 0 }], except: [] };
    const implied = [0, 1, 2, 3].map((section): ClassifierRule => ({ section, priority: 65535, action: section % 2, src: any, dst: any, ports: [], origin: 0 }));
    fc.assert(
      fc.property(fc.array(narrowRuleArb, { minLength: 1030, maxLength: 2200 }), fc.array(addrArb, { minLength: 1, maxLength: 20 }), fc.array(recipeArb, { minLength: 50, maxLength: 150 }), (rules, endpoints, recipes) =>
        checkPackets({ rules: [...rules, ...implied], origins: [], endpoints }, recipes),
      ),
      { numRuns: 6 },
    );
  });
});

// The classifier on hand-written plans: who it judges (endpoints), the memo's
// bound, and clear errors for a plan it cannot take.
import { describe, expect, it } from 'vitest';
import { FirewallClassifier, NOT_INVOLVED } from '../../src/firewall/classifier.js';
import { ReferenceFirewall } from '../../src/firewall/evaluate.js';
import { Action, Section, type ClassifierRule, type FirewallPlan } from '../../src/firewall/plan.js';
import { parseIpv4 } from '../../src/route/prefix.js';

const ip = parseIpv4;
const any = { include: [{ addr: 0, len: 0 }], except: [] };
const host = (a: string) => ({ include: [{ addr: ip(a), len: 32 }], except: [] });

function rule(r: Partial<ClassifierRule>): ClassifierRule {
  return { section: Section.VPC_INGRESS, priority: 1000, action: Action.ALLOW, src: any, dst: any, ports: [], origin: 0, ...r };
}

const WEB = ip('198.18.0.10');
const DB = ip('198.18.0.20');

/** Ingress: web allows tcp/443 from 203.0.113.0/24 except .66; implied deny; db rejects everything. */
const plan: FirewallPlan = {
  rules: [
    rule({ src: { include: [{ addr: ip('203.0.113.0'), len: 24 }], except: [{ addr: ip('203.0.113.66'), len: 32 }] }, dst: host('198.18.0.10'), ports: [{ proto: 6, lo: 443, hi: 443 }] }),
    rule({ priority: 65535, action: Action.DENY }),
    rule({ priority: 10, action: Action.REJECT, dst: host('198.18.0.20') }),
    rule({ section: Section.VPC_EGRESS, priority: 65535 }),
  ],
  origins: [],
  endpoints: [WEB, DB],
};

describe('FirewallClassifier', () => {
  const fw = FirewallClassifier.build(plan);

  it('judges traffic to or from an endpoint and nothing else (NOT_INVOLVED)', () => {
    expect(fw.classify(ip('203.0.113.5'), ip('198.51.100.9'), 6, 443)).toBe(NOT_INVOLVED);
    expect(fw.classify(ip('198.18.0.11'), ip('198.18.0.9'), 17, 53)).toBe(NOT_INVOLVED);
    expect(fw.classify(ip('203.0.113.5'), WEB, 6, 443)).toBeGreaterThanOrEqual(0);
    expect(fw.classify(WEB, ip('203.0.113.5'), 6, 40000)).toBeGreaterThanOrEqual(0);
  });

  it('names the deciding rule and section', () => {
    const ok = fw.classify(ip('203.0.113.5'), WEB, 6, 443);
    expect([fw.action(ok), fw.rule(ok, Section.VPC_INGRESS), fw.rule(ok, Section.VPC_EGRESS), fw.decidedBy(ok)]).toEqual([Action.ALLOW, 0, 3, -1]);
    const excepted = fw.classify(ip('203.0.113.66'), WEB, 6, 443);
    expect([fw.action(excepted), fw.rule(excepted, Section.VPC_INGRESS), fw.decidedBy(excepted)]).toEqual([Action.DENY, 1, Section.VPC_INGRESS]);
    const otherPort = fw.classify(ip('203.0.113.5'), WEB, 6, 444);
    expect(fw.rule(otherPort, Section.VPC_INGRESS)).toBe(1);
    const icmp = fw.classify(ip('203.0.113.5'), DB, 1, 0);
    expect([fw.action(icmp), fw.rule(icmp, Section.VPC_INGRESS), fw.decidedBy(icmp)]).toEqual([Action.REJECT, 2, Section.VPC_INGRESS]);
    // Same classes, same outcome id: the outcome is a verdict, not a packet.
    expect(fw.classify(ip('203.0.113.200'), WEB, 6, 443)).toBe(ok);
  });

  it('a full memo is cleared, counted, and answers stay right', () => {
    const small = FirewallClassifier.build(plan, { memoEntries: 2 });
    // Three class combinations, twice over, through a memo that holds two.
    const packets: [number, number][] = [[ip('203.0.113.5'), 443], [ip('203.0.113.66'), 443], [ip('203.0.113.5'), 80]];
    const want = packets.map(([src, port]) => fw.action(fw.classify(src, WEB, 6, port)));
    expect(want).toEqual([Action.ALLOW, Action.DENY, Action.DENY]);
    for (const round of [0, 1]) {
      const got = packets.map(([src, port]) => small.action(small.classify(src, WEB, 6, port)));
      expect(got, `round ${round}`).toEqual(want);
    }
    // A B C | A B | C: every lookup misses, the memo was cleared at the third and the fifth.
    expect(small.stats).toEqual({ memoMisses: 6, memoResets: 2 });
  });

  it('a section with no match does not take the next section\'s rule from the same bitmap word', () => {
    // Section boundaries inside bitmap words and summary words: 40 egress rules that never match
    // (words 0-1), then 30 ingress rules that never match and one that denies (bit 70, word 2).
    const never = host('192.0.2.250');
    const rules = [
      ...Array.from({ length: 40 }, () => rule({ section: Section.VPC_EGRESS, dst: never })),
      ...Array.from({ length: 30 }, () => rule({ priority: 100, dst: never })),
      rule({ action: Action.DENY }),
    ];
    const sized = FirewallClassifier.build({ rules, origins: [], endpoints: [WEB] });
    const o = sized.classify(ip('203.0.113.5'), WEB, 6, 443);
    expect([0, 1, 2, 3].map((s) => sized.rule(o, s))).toEqual([-1, -1, 70, -1]);
    expect(sized.decidedBy(o)).toBe(Section.VPC_INGRESS);
    // The same across summary words: 1,100 egress rules that never match (34+ words), then the deny.
    const many = [...Array.from({ length: 1100 }, () => rule({ section: Section.VPC_EGRESS, dst: never })), rule({ action: Action.DENY })];
    const big = FirewallClassifier.build({ rules: many, origins: [], endpoints: [WEB] });
    const b = big.classify(ip('203.0.113.5'), WEB, 6, 443);
    expect([0, 1, 2, 3].map((s) => big.rule(b, s))).toEqual([-1, -1, 1100, -1]);
  });

  it('the memo grows past its first 1,024 slots and keeps what it held; clearMemo() starts it small again', () => {
    // 700 sources x 2 ports = 1,400 class combinations: more than 1,024 slots hold at either load factor.
    const sources = Array.from({ length: 700 }, (_, i) => ip('198.18.8.0') + i);
    const rules = sources.map((a, i) => rule({ src: { include: [{ addr: a, len: 32 }], except: [] }, action: i % 3 === 0 ? Action.DENY : Action.ALLOW, ports: [{ proto: 6, lo: 80, hi: 80 }] }));
    const grown = FirewallClassifier.build({ rules, origins: [], endpoints: [WEB] });
    const ref = new ReferenceFirewall(grown.plan);
    const judge = () =>
      sources.flatMap((a) =>
        [80, 81].map((port) => {
          const o = grown.classify(a, WEB, 6, port);
          return [grown.action(o), grown.rule(o, Section.VPC_INGRESS)];
        }),
      );
    const want = sources.flatMap((a) => [80, 81].map((port) => [ref.judge(a, WEB, 6, port).action, ref.judge(a, WEB, 6, port).rule[Section.VPC_INGRESS]]));
    expect(judge()).toEqual(want);
    const bytesGrown = grown.memory().bytes;
    expect(judge()).toEqual(want); // all from the grown memo now
    expect(grown.stats).toEqual({ memoMisses: 1400, memoResets: 0 });
    grown.clearMemo();
    expect(grown.memory().bytes).toBeLessThan(bytesGrown);
    expect(judge()).toEqual(want);
    expect(grown.stats.memoMisses).toBe(2800);
  });

  it('classifyBatch with a memo beyond the prefetch size (512 KiB) answers as classify() and the reference', () => {
    // 300 sources x 200 ports, each its own class: 60,000 combinations, 2^17 two-word slots (1 MiB).
    const sources = Array.from({ length: 300 }, (_, i) => ip('198.18.8.0') + i);
    const rules = [
      ...sources.map((a, i) => rule({ src: { include: [{ addr: a, len: 32 }], except: [] }, action: i % 3 === 0 ? Action.DENY : Action.ALLOW, priority: 2000 + i })),
      ...Array.from({ length: 200 }, (_, j) => rule({ action: j % 2 === 0 ? Action.ALLOW : Action.REJECT, priority: 1000 + j, ports: [{ proto: 17, lo: 1000 + j, hi: 1000 + j }] })),
      rule({ priority: 65535, action: Action.DENY }),
    ];
    const big = { rules, origins: [], endpoints: [WEB] };
    const batch = FirewallClassifier.build(big, { memoEntries: 1 << 17 });
    const one = FirewallClassifier.build(big, { memoEntries: 1 << 17 });
    const n = sources.length * 200;
    const src = new Int32Array(n);
    const dst = new Int32Array(n).fill(WEB);
    const proto = new Uint8Array(n).fill(17);
    const dport = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      src[i] = sources[i % sources.length];
      dport[i] = 1000 + Math.floor(i / sources.length);
    }
    const out = new Int32Array(n);
    batch.classifyBatch(src, dst, proto, dport, n, out); // fills the memo
    const filled = batch.memory().bytes;
    batch.classifyBatch(src, dst, proto, dport, n, out); // every probe prefetched and found
    expect(batch.stats).toEqual({ memoMisses: n, memoResets: 0 });
    batch.clearMemo();
    expect(filled - batch.memory().bytes).toBeGreaterThan(512 * 1024);
    const ref = new ReferenceFirewall(big);
    for (let i = 0; i < n; i++) {
      const o = one.classify(src[i], dst[i], proto[i], dport[i]);
      if (one.action(out[i]) !== one.action(o) || batch.rule(out[i], Section.VPC_INGRESS) !== one.rule(o, Section.VPC_INGRESS)) {
        expect([i, batch.action(out[i]), batch.rule(out[i], Section.VPC_INGRESS)]).toEqual([i, one.action(o), one.rule(o, Section.VPC_INGRESS)]);
      }
      if (i % 97 === 0) {
        const want = ref.judge(src[i], dst[i], proto[i], dport[i]);
        expect([batch.action(out[i]), batch.rule(out[i], Section.VPC_INGRESS)]).toEqual([want.action, want.rule[Section.VPC_INGRESS]]);
      }
    }
  });

  it('reports its classes and memory', () => {
    const m = fw.memory();
    // src: 0/0, 203.0.113.0/24, .66, two endpoints (endpoint tag) -> 4 distinct (rules, endpoint) pairs at most 5.
    expect(m.srcClasses).toBeGreaterThanOrEqual(3);
    expect(m.dstClasses).toBeGreaterThanOrEqual(3);
    expect(m.portClasses).toBe(2); // tcp/443 and the rest
    expect(m.bytes).toBeGreaterThan(3 * 65536 * 4);
  });

  it('rejects a plan it cannot judge with the field and the reason', () => {
    const bad = (r: Partial<ClassifierRule>) => () => FirewallClassifier.build({ rules: [rule(r)], origins: [], endpoints: [] });
    expect(bad({ section: 4 })).toThrow(/rules\[0\]\.section: 4 is not a section/);
    expect(bad({ action: 3 })).toThrow(/rules\[0\]\.action/);
    expect(bad({ src: { include: [{ addr: 0, len: 33 }], except: [] } })).toThrow(/rules\[0\]\.src\.include\[0\]\.len: 33/);
    expect(bad({ ports: [{ proto: 256, lo: 0, hi: 1 }] })).toThrow(/rules\[0\]\.ports\[0\]\.proto: 256/);
    expect(() => FirewallClassifier.build(plan, { memoEntries: 0 })).toThrow(/memoEntries 0/);
  });
});

// Protocol + destination port classes: a direct table, one load per packet.
//
// For TCP, UDP and SCTP (the protocols whose port a PortMatch constrains) the
// class of every destination port is stored: 3 x 65536 int32 (768 KiB),
// filled by a sweep over the ports where some range starts or ends, so the
// build is linear in ranges plus ports, not rules x ports. Every other
// protocol has one class (a 256-entry table): a PortMatch naming it matches
// whatever its port range says. A rule with no PortMatch, or one of protocol
// -1, is in every class. All classes share one RuleSets.
import { hasPorts, type ClassifierRule } from './plan.js';
import { RuleSets, clearBit, setBit } from './rule-sets.js';

export const PORT_PROTOS = [6, 17, 132] as const;

export interface PortClasses {
  /** Per protocol: the offset of its 65536 ports in `portClass`, or -1 when its ports do not matter. */
  readonly portBase: Int32Array;
  /** Class of (port-bearing protocol, dport) at portBase[proto] + dport. */
  readonly portClass: Int32Array;
  /** Class of a protocol whose ports do not matter. */
  readonly protoClass: Int32Array;
  readonly classes: RuleSets;
}

export function buildPortClasses(rules: readonly ClassifierRule[], bitOf: Int32Array): PortClasses {
  const classes = new RuleSets(rules.length);
  const w = classes.words;
  // Rules that match every protocol and port.
  const any = new Uint32Array(w);
  // Rules naming each protocol, per protocol.
  const byProto = new Map<number, number[]>();
  for (let i = 0; i < rules.length; i++) {
    const ports = rules[i].ports;
    if (ports.length === 0 || ports.some((p) => p.proto === -1)) {
      setBit(any, bitOf[i]);
      continue;
    }
    for (const p of ports) {
      let list = byProto.get(p.proto);
      if (list === undefined) byProto.set(p.proto, (list = []));
      if (list[list.length - 1] !== i) list.push(i);
    }
  }

  const protoClass = new Int32Array(256);
  const portBase = new Int32Array(256).fill(-1);
  const portClass = new Int32Array(PORT_PROTOS.length * 65536);
  const cur = new Uint32Array(w);
  for (let proto = 0; proto < 256; proto++) {
    if (hasPorts(proto)) continue;
    cur.set(any);
    for (const i of byProto.get(proto) ?? []) setBit(cur, bitOf[i]);
    protoClass[proto] = classes.intern(cur, 0);
  }

  PORT_PROTOS.forEach((proto, k) => {
    const base = k * 65536;
    portBase[proto] = base;
    // starts[p] / ends[p]: rule bits whose range begins at p / ended at p - 1.
    const starts = new Map<number, number[]>();
    const ends = new Map<number, number[]>();
    const push = (m: Map<number, number[]>, port: number, bit: number) => {
      let list = m.get(port);
      if (list === undefined) m.set(port, (list = []));
      list.push(bit);
    };
    for (const i of byProto.get(proto) ?? []) {
      for (const p of rules[i].ports) {
        if (p.proto !== proto) continue;
        const lo = Math.max(0, p.lo);
        const hi = Math.min(65535, p.hi);
        if (lo > hi) continue;
        push(starts, lo, bitOf[i]);
        push(ends, hi + 1, bitOf[i]);
      }
    }
    // A rule can list overlapping ranges of one protocol: count its open ranges.
    const open = new Int32Array(rules.length);
    const active = new Uint32Array(w);
    let cls = -1;
    for (let port = 0; port < 65536; port++) {
      const s = starts.get(port);
      const e = ends.get(port);
      if (s !== undefined || e !== undefined || cls < 0) {
        for (const b of e ?? []) if (--open[b] === 0) clearBit(active, b);
        for (const b of s ?? []) if (open[b]++ === 0) setBit(active, b);
        for (let j = 0; j < w; j++) cur[j] = active[j] | any[j];
        cls = classes.intern(cur, 0);
      }
      portClass[base + port] = cls;
    }
  });
  classes.seal();
  return { portBase, portClass, protoClass, classes };
}

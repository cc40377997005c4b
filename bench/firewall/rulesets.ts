// Synthetic firewall plans for the classifier bench, made as FirewallPlans
// directly (the YAML compiler, config/firewall.ts, is written in parallel):
//
//   vpcPlan(n)      n VPC rules like a cloud project's: ~80% ingress, ~20%
//                   egress; remote CIDRs drawn from the real routing table
//                   (RouteViews, ../shared/data/routes) as routes (/8-/24),
//                   aggregates of them (/8-/16) and hosts (/32); targets as
//                   sets of endpoint /32s (a "tag") or the endpoints' /24s
//                   ("all instances"); port lists and ranges from a catalogue
//                   of common services plus random ports and ranges;
//                   priorities with many ties (1000 is the console default);
//                   the two implied rules at 65535 included in n.
//   policyPlan(n)   n NetworkPolicy objects as the compiler would lower them:
//                   per policy, allow rules at priority 0 from pod /32 sets or
//                   ipBlocks with excepts, and an isolation deny at 1 for the
//                   selected pods, ingress and egress.
//                   HOOK: the lead replaces this with the YAML compiler's
//                   output for 1,000 real-looking NetworkPolicy manifests
//                   (bench/firewall/firewall.ts, POLICY_PLAN).
//   traffic(plan)   first packets of many distinct flows, drawn to hit the
//                   rules: a random rule's source prefix, destination prefix
//                   and port (host bits random), or a random Internet source
//                   to a random endpoint.
//
// Endpoints: 1,000 addresses in 16 /24s of 198.18.0.0/15 (the benchmark
// range). Everything is seeded: every run judges the same plans and packets.
import { Action, Section, type Cidr, type ClassifierRule, type FirewallPlan, type PortMatch } from '../../src/firewall/plan.js';
import { prng, readRouteViews, type PrefixTable } from '../route/table.js';

export const ENDPOINTS = 1000;
const ENDPOINT_NETS = 16;
const ENDPOINT_BASE = 0xc6120000; // 198.18.0.0

function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

let routes: PrefixTable | undefined;
function table(): PrefixTable {
  return (routes ??= readRouteViews());
}

export function endpoints(): number[] {
  const rnd = prng(11);
  const seen = new Set<number>();
  while (seen.size < ENDPOINTS) {
    const net = rnd() % ENDPOINT_NETS;
    const hostPart = 2 + (rnd() % 250);
    seen.add((ENDPOINT_BASE + net * 256 + hostPart) >>> 0);
  }
  return [...seen].sort((a, b) => a - b);
}

const SERVICES: PortMatch[][] = [
  [{ proto: 6, lo: 22, hi: 22 }],
  [{ proto: 6, lo: 80, hi: 80 }, { proto: 6, lo: 443, hi: 443 }],
  [{ proto: 6, lo: 443, hi: 443 }],
  [{ proto: 6, lo: 8000, hi: 8999 }],
  [{ proto: 17, lo: 53, hi: 53 }, { proto: 6, lo: 53, hi: 53 }],
  [{ proto: 1, lo: 0, hi: 65535 }],
  [],
  [{ proto: 6, lo: 1024, hi: 65535 }],
  [{ proto: 6, lo: 3306, hi: 3306 }, { proto: 6, lo: 5432, hi: 5432 }],
  [{ proto: 17, lo: 500, hi: 500 }, { proto: 17, lo: 4500, hi: 4500 }, { proto: 50, lo: 0, hi: 0 }],
  [{ proto: 132, lo: 3868, hi: 3868 }],
  [{ proto: -1, lo: 0, hi: 0 }],
];

function randomPorts(rnd: () => number): PortMatch[] {
  const k = rnd() % 10;
  if (k < 6) return SERVICES[rnd() % SERVICES.length];
  const proto = rnd() % 4 === 0 ? 17 : 6;
  const lo = 1 + (rnd() % 65000);
  if (k < 8) return [{ proto, lo, hi: lo }];
  return [{ proto, lo, hi: Math.min(65535, lo + (rnd() % 2000)) }];
}

/** A remote CIDR: a real route, an aggregate of one (/8-/16), or a host in one. */
function remoteCidr(rnd: () => number): Cidr {
  const t = table();
  const i = rnd() % t.count;
  const k = rnd() % 10;
  if (k < 6) return { addr: t.prefix[i], len: t.len[i] };
  if (k < 8) {
    const len = 8 + (rnd() % 9);
    return { addr: (t.prefix[i] & mask(len)) >>> 0, len };
  }
  return { addr: (t.prefix[i] | (rnd() & ~mask(t.len[i]))) >>> 0, len: 32 };
}

function targets(rnd: () => number, eps: readonly number[]): Cidr[] {
  if (rnd() % 5 === 0) return Array.from({ length: ENDPOINT_NETS }, (_, n) => ({ addr: ENDPOINT_BASE + n * 256, len: 24 }));
  const k = 5 + (rnd() % 46);
  return Array.from({ length: k }, () => ({ addr: eps[rnd() % eps.length], len: 32 }));
}

const PRIORITIES = [100, 500, 900, 1000, 1000, 1000, 1000, 2000];

export function vpcPlan(n: number, seed = 1): FirewallPlan {
  const rnd = prng(seed);
  const eps = endpoints();
  const all: Cidr[] = [{ addr: 0, len: 0 }];
  const rules: ClassifierRule[] = [];
  for (let i = 0; i < n - 2; i++) {
    const ingress = rnd() % 5 !== 0;
    const remote = Array.from({ length: 1 + (rnd() % 4) }, () => remoteCidr(rnd));
    const local = targets(rnd, eps);
    rules.push({
      section: ingress ? Section.VPC_INGRESS : Section.VPC_EGRESS,
      priority: rnd() % 4 === 0 ? rnd() % 65535 : PRIORITIES[rnd() % PRIORITIES.length],
      action: rnd() % 6 === 0 ? Action.DENY : Action.ALLOW,
      src: { include: ingress ? remote : local, except: [] },
      dst: { include: ingress ? local : remote, except: [] },
      ports: randomPorts(rnd),
      origin: i,
    });
  }
  rules.push({ section: Section.VPC_INGRESS, priority: 65535, action: Action.DENY, src: { include: all, except: [] }, dst: { include: all, except: [] }, ports: [], origin: n - 2 });
  rules.push({ section: Section.VPC_EGRESS, priority: 65535, action: Action.ALLOW, src: { include: all, except: [] }, dst: { include: all, except: [] }, ports: [], origin: n - 1 });
  return { rules, origins: [], endpoints: eps };
}

export function policyPlan(policies: number, seed = 2): FirewallPlan {
  const rnd = prng(seed);
  const eps = endpoints();
  const pods = (k: number): Cidr[] => Array.from({ length: k }, () => ({ addr: eps[rnd() % eps.length], len: 32 }));
  const rules: ClassifierRule[] = [];
  const all: Cidr[] = [{ addr: 0, len: 0 }];
  for (let p = 0; p < policies; p++) {
    const ingress = rnd() % 4 !== 0;
    const selected = pods(1 + (rnd() % 20));
    const peers = 1 + (rnd() % 3);
    for (let j = 0; j < peers; j++) {
      let peer: { include: Cidr[]; except: Cidr[] };
      if (rnd() % 3 === 0) {
        const block = remoteCidr(rnd);
        const len = Math.min(32, block.len + 2 + (rnd() % 6));
        peer = { include: [block], except: [{ addr: (block.addr | (rnd() & ~mask(block.len) & mask(len))) >>> 0, len }] };
      } else {
        peer = { include: pods(5 + (rnd() % 46)), except: [] };
      }
      rules.push({
        section: ingress ? Section.POLICY_INGRESS : Section.POLICY_EGRESS,
        priority: 0,
        action: Action.ALLOW,
        src: ingress ? peer : { include: selected, except: [] },
        dst: ingress ? { include: selected, except: [] } : peer,
        ports: randomPorts(rnd),
        origin: p,
      });
    }
    rules.push({
      section: ingress ? Section.POLICY_INGRESS : Section.POLICY_EGRESS,
      priority: 1,
      action: Action.DENY,
      src: ingress ? { include: all, except: [] } : { include: selected, except: [] },
      dst: ingress ? { include: selected, except: [] } : { include: all, except: [] },
      ports: [],
      origin: p,
    });
  }
  return { rules, origins: [], endpoints: eps };
}

export interface Traffic {
  count: number;
  /** Addresses as int32, as a packet reader composes them (uint32s above 2^31 would be boxed at a call). */
  src: Int32Array;
  dst: Int32Array;
  proto: Uint8Array;
  dport: Uint16Array;
}

function inside(c: Cidr, rnd: () => number): number {
  return (c.addr | (rnd() & ~mask(c.len))) >>> 0;
}

/** `count` first packets: 80% drawn from a random rule, 20% a random Internet source to a random endpoint. */
export function traffic(plan: FirewallPlan, count: number, seed = 3): Traffic {
  const rnd = prng(seed);
  const t: Traffic = { count, src: new Int32Array(count), dst: new Int32Array(count), proto: new Uint8Array(count), dport: new Uint16Array(count) };
  const rt = table();
  const eps = plan.endpoints;
  for (let i = 0; i < count; i++) {
    const r = plan.rules[rnd() % plan.rules.length];
    if (rnd() % 5 !== 0 && r.src.include.length > 0 && r.dst.include.length > 0) {
      t.src[i] = inside(r.src.include[rnd() % r.src.include.length], rnd);
      t.dst[i] = inside(r.dst.include[rnd() % r.dst.include.length], rnd);
      const pm = r.ports.length > 0 ? r.ports[rnd() % r.ports.length] : { proto: 6, lo: 0, hi: 65535 };
      t.proto[i] = pm.proto === -1 ? 17 : pm.proto;
      t.dport[i] = pm.lo + (rnd() % (pm.hi - pm.lo + 1));
    } else {
      const k = rnd() % rt.count;
      t.src[i] = (rt.prefix[k] | (rnd() & ~mask(rt.len[k]))) >>> 0;
      t.dst[i] = eps[rnd() % eps.length];
      t.proto[i] = rnd() % 8 === 0 ? 17 : 6;
      t.dport[i] = rnd() % 2 === 0 ? [22, 80, 443, 53, 8080][rnd() % 5] : rnd() & 0xffff;
    }
  }
  return t;
}

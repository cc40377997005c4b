// The firewall in the whole pipeline, from memory, one thread: the real
// Router and run loop with a firewall (ct-input, the firewall node after
// routing, flows started by nat-output), 64-byte UDP frames of the NAT
// bench's workload (bench/nat/workload.ts: 1M flows from 1,024 client hosts
// in 198.18.4.0/22 to 32 servers in 203.0.113.0/24), against the same router
// without a firewall on the same frames, in alternating chunks of CPU time
// (bench/nat/rig.ts).
//
//   first packets  the first packet of each of the 1M flows, in random
//                  order: each is judged by the classifier, allowed, and
//                  starts a flow. What a first packet costs through the
//                  pipeline, per plan
//   established    1M flows in the table, frames of flows chosen at random
//                  (half each direction: the servers' replies are the flows'
//                  and are not judged) and a hot set of 256 flows: what an
//                  established packet costs with a firewall of each size,
//                  every plan's router and plain L3 timed in the same rounds
//
// Plans: vpcPlan(10 / 1k / 10k) (rulesets.ts) with the client hosts added
// to its endpoints and one egress rule (priority 0) letting them reach the
// servers, and 1,000 NetworkPolicy manifests (policies.ts) through the YAML
// compiler. Every first packet must be allowed and every frame forwarded,
// or the bench stops: the rates are of work actually done.
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import { Action, Section, type FirewallPlan } from '../../src/firewall/plan.js';
import type { RouterConfig } from '../../src/config/load.js';
import { shuffledOrder } from '../flow/keys.js';
import { machineLabel, type BenchRow } from '../lib/report.js';
import { chunkedNs, cpuNsPerPacket, gc, median, Rig, ROUNDS, CHUNK_STEPS } from '../nat/rig.js';
import { clientAddress, establishedPool, FLOWS, fillFlow, FramePool, HOSTS, LAN, routerConfig, type FlowTuple } from '../nat/workload.js';
import { policyConfigYaml } from './policies.js';
import { vpcPlan } from './rulesets.js';

const CAPACITY = 1_200_000;
const RANDOM_FRAMES = 1 << 18;

/** A bench plan: vpcPlan(n) with the clients as endpoints, allowed to reach the servers; origins named. */
export function benchPlan(n: number): FirewallPlan {
  const plan = vpcPlan(n);
  const clients = new Set(plan.endpoints);
  for (let h = 0; h < HOSTS; h++) clients.add(clientAddress(h) >>> 0);
  const rules = [
    ...plan.rules,
    {
      section: Section.VPC_EGRESS,
      priority: 0,
      action: Action.ALLOW,
      src: { include: [{ addr: clientAddress(0) >>> 0, len: 22 }], except: [] },
      dst: { include: [{ addr: 0xcb007100, len: 24 }], except: [] },
      ports: [{ proto: 17, lo: 1, hi: 65535 }],
      origin: n,
    },
  ];
  const origins = rules.map((r, i) => ({
    kind: i === n ? ('vpc' as const) : r.priority === 65535 ? ('implied' as const) : ('vpc' as const),
    name: i === n ? 'bench-clients-to-servers' : `rule-${i}`,
    direction: r.section === Section.VPC_INGRESS ? ('ingress' as const) : ('egress' as const),
    priority: r.priority,
    action: r.action,
  }));
  rules.forEach((r, i) => (r.origin = i));
  // The implied rules apply to the endpoints, as the compiler makes them (vpcPlan's cover every address).
  const endpoints = [...clients].sort((a, b) => a - b);
  const hosts = { include: endpoints.map((addr) => ({ addr, len: 32 })), except: [] };
  for (const r of rules) {
    if (r.priority !== 65535) continue;
    if (r.section === Section.VPC_INGRESS) r.dst = hosts;
    else r.src = hosts;
  }
  return { rules, origins, endpoints };
}

interface Subject {
  name: string;
  rules: number;
  rig: () => Rig;
}

function subjects(l3: Rig): Subject[] {
  const withPlan = (n: number) => () => new Rig(`${routerConfig(undefined)}conntrack: { capacity: ${CAPACITY} }\n`, false, l3.compiled, (c: RouterConfig) => ({ ...c, firewall: benchPlan(n) }));
  return [
    { name: 'vpc-10', rules: 10, rig: withPlan(10) },
    { name: 'vpc-1k', rules: 1000, rig: withPlan(1000) },
    { name: 'vpc-10k', rules: 10000, rig: withPlan(10000) },
    {
      name: 'policy-1k',
      rules: 1000,
      rig: () => new Rig(`${routerConfig(undefined)}${policyConfigYaml(1000)}conntrack: { capacity: ${CAPACITY} }\n`, false, l3.compiled),
    },
  ];
}

export interface PipelineFigures {
  rows: BenchRow[];
  /** ns per first packet through the pipeline, by plan name. */
  firstNs: Map<string, number>;
  /** Established rate / the plain router's, random flows, by plan name. */
  establishedRatio: Map<string, number>;
  /** Established rate / the first plan's (the fewest rules), random flows, by plan name (the same rounds). */
  establishedVsFewest: Map<string, number>;
}

export async function runFirewallPipelineBench(): Promise<PipelineFigures> {
  const rows: BenchRow[] = [];
  const firstNs = new Map<string, number>();
  const establishedRatio = new Map<string, number>();
  const establishedVsFewest = new Map<string, number>();
  const built: { name: string; fw: Rig; rules: number }[] = [];
  const machine = machineLabel();
  const l3 = new Rig(routerConfig(undefined), false);
  const t: FlowTuple = { client: 0, clientPort: 0, server: 0, serverPort: 0 };
  const fillPool = new FramePool(FLOWS);
  const order = shuffledOrder(FLOWS, 11);
  for (let i = 0; i < FLOWS; i++) {
    fillFlow(order[i], t);
    fillPool.set(i, LAN, t.client, t.server, t.clientPort, t.serverPort);
  }
  const random = establishedPool(RANDOM_FRAMES, 0x2545f491, undefined);
  const hot = establishedPool(MAX_BATCH, 0x1b873593, undefined);
  l3.verify(random, 'plain L3, random flows');
  for (const s of subjects(l3)) {
    gc();
    const b0 = performance.now();
    const fw = s.rig();
    const build = performance.now() - b0;
    const plan = fw.config.firewall!;
    // First packets, chunk by chunk beside plain L3 forwarding the same frames.
    fw.input.use(fillPool);
    l3.input.use(fillPool);
    const fill = chunkedNs(fw.step, l3.step, FLOWS / MAX_BATCH, 64);
    const allowed = fw.router.counters.get('firewall/allowed').packets;
    if (allowed !== FLOWS || fw.forwarded() !== FLOWS) {
      throw new Error(`firewall bench ${s.name}: ${allowed} of ${FLOWS} first packets allowed, ${fw.forwarded()} forwarded: ${JSON.stringify(fw.router.counters.nonZero())}`);
    }
    const ns = median(fill.ns);
    firstNs.set(s.name, ns);
    rows.push({
      name: `firewall/pipeline-first-packet ${s.name}`,
      subject: `firewall, ${plan.rules.length} plan rules (1 thread)`,
      value: 1e3 / ns,
      unit: 'M flows/s',
      nsPerOp: ns,
      notes: `first packets of 1M UDP flows in random order through the whole pipeline: judged, allowed, a flow started (no NAT); median of 64 chunks of 16k, CPU time; plain L3 forwarding the same frames ${median(fill.peerNs).toFixed(0)} ns in the neighbouring chunks; router built in ${(build / 1000).toFixed(1)} s; ${machine}`,
    });
    built.push({ name: s.name, fw, rules: plan.rules.length });
    console.error(`bench firewall pipeline: ${s.name}: first packet ${ns.toFixed(0)} ns`);
  }

  // Established: every plan's router (each with its 1M flows) and plain L3 in the same rounds, a chunk each in
  // turn, so the plans are compared with each other as with L3 in neighbouring chunks: measured one plan after
  // another, this machine's speed moved between them (plain L3 121-216 ns in one run) and the rule count seemed to
  // cost established packets up to 10%.
  const established = (label: string, what: string, pool: FramePool): void => {
    for (const b of built) {
      b.fw.verify(pool, `${b.name}: established, ${label}`);
      b.fw.input.use(pool);
    }
    l3.input.use(pool);
    const steps = [l3.step, ...built.map((b) => b.fw.step)];
    const ns: number[][] = steps.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      // Who goes first rotates, so no router always follows the same one.
      for (let j = 0; j < steps.length; j++) {
        const k = (r + j) % steps.length;
        ns[k].push(cpuNsPerPacket(steps[k], CHUNK_STEPS));
      }
    }
    const l3Ns = ns[0];
    const fewest = ns[1];
    built.forEach((b, i) => {
      const own = ns[i + 1];
      const vsL3 = own.map((x, r) => l3Ns[r] / x);
      const vsFewest = own.map((x, r) => fewest[r] / x);
      const f = median(own);
      if (label === '1M-random') {
        establishedRatio.set(b.name, median(vsL3));
        establishedVsFewest.set(b.name, median(vsFewest));
      }
      rows.push({
        name: `firewall/pipeline-established-${label} ${b.name}`,
        subject: `firewall, ${b.rules} plan rules`,
        value: 1e3 / f,
        unit: 'Mpps',
        nsPerOp: f,
        notes: `${what}; plain L3 (no firewall, no tracking) ${median(l3Ns).toFixed(0)} ns; rate ratio to it ${median(vsL3).toFixed(3)} (min ${Math.min(...vsL3).toFixed(3)}, max ${Math.max(...vsL3).toFixed(3)}), to ${built[0].name} ${median(vsFewest).toFixed(3)} (min ${Math.min(...vsFewest).toFixed(3)}, max ${Math.max(...vsFewest).toFixed(3)}); medians of ${ROUNDS} rounds of a ${(CHUNK_STEPS * MAX_BATCH) / 1024}k-packet chunk of CPU time per router (plain L3 and the ${built.length} plans, in turn); ${machine}`,
      });
    });
  };
  established('1M-random', `${RANDOM_FRAMES / 1024}k frames of flows chosen at random of 1M, half each direction (the replies are the flows': not judged)`, random);
  established('hot-256', '256 flows over and over, table of 1M', hot);
  for (const b of built) console.error(`bench firewall pipeline: ${b.name}: established ${establishedRatio.get(b.name)?.toFixed(3)}x plain L3, ${establishedVsFewest.get(b.name)?.toFixed(3)}x ${built[0].name}`);
  return { rows, firstNs, establishedRatio, establishedVsFewest };
}

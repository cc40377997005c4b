// From an explain run's verdict records to an ExplainResult: the steps (one
// per verdict, in the trace's own words) and, read off the same records,
// the answers a person asks for: the route and next hop, the firewall rule
// that decided, the NAT translation, the load balancer's backend and
// tunnel, the ICMP error, the drop, the ARP wait.
//
// The records are read in two phases: the packet's own verdicts, then,
// once a node has dropped it to send an ICMP error (a COUNT_DROP followed
// by that node's NEXT, as the trace formatter pairs them) or ip4-local has
// answered it in its slot (echo reply, TCP reset), the answer's.
import type { RouterConfig } from '../config/load.js';
import { decodeFrame } from '../decode/frame.js';
import { formatFrame } from '../decode/format.js';
import { judgementSections } from '../firewall/describe-plan.js';
import { ACTION_NAMES, Section } from '../firewall/plan.js';
import type { Firewall } from '../firewall/firewall.js';
import { trackingConfig } from '../nat/nat-config.js';
import { natPools } from '../nat/nat-tables.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { OUTPUT, type PipelineNode } from '../pipeline/node.js';
import type { Router } from '../pipeline/router.js';
import { TraceField, TraceRecordView, Verdict } from '../pipeline/trace-recorder.js';
import { describeRoute } from '../route/describe.js';
import type { CompiledFib } from '../route/fib.js';
import { NexthopKind } from '../route/nexthops.js';
import { describeIcmpError, TraceFormatter } from '../trace/format.js';
import { describeContext } from '../trace/session.js';
import { ipv4ToString } from '../wire/address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import type { ExplainDrop, ExplainFirewall, ExplainIcmp, ExplainLb, ExplainNat, ExplainResult, ExplainRoute, ExplainRule, ExplainStep } from './result.js';
import type { ExplainRun } from './run.js';
import type { ExplainSpec } from './spec.js';

/** ICMP types with a query id in bytes 4-5 (echo, timestamp, information, address mask, requests and replies). */
const ICMP_QUERY = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

/** "192.0.2.10:40000 -> 203.0.113.10:80 tcp", "192.0.2.10 -> 198.51.100.10 icmp id 1"; `dst` in place of the record's (the firewall's judged destination). */
function tupleText(r: TraceRecordView, dst = r.dst): string {
  const p = r.protocol;
  const a = ipv4ToString(r.src);
  const b = ipv4ToString(dst);
  if ((p === IPPROTO_TCP || p === IPPROTO_UDP) && r.fragmentOffset === 0) return `${a}:${r.l4 >>> 16} -> ${b}:${r.l4 & 0xffff} ${p === IPPROTO_TCP ? 'tcp' : 'udp'}`;
  if (p === IPPROTO_ICMP && r.fragmentOffset === 0 && ICMP_QUERY.has(r.l4 >>> 24)) return `${a} -> ${b} icmp id ${r.l4 & 0xffff}`;
  return `${a} -> ${b} ${p === IPPROTO_ICMP ? 'icmp' : p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : `proto ${p}`}`;
}

function endpoint(addr: number, port: number, withPort: boolean): string {
  return withPort ? `${ipv4ToString(addr)}:${port}` : ipv4ToString(addr);
}

interface Entry {
  r: TraceRecordView;
  node: PipelineNode;
  /** The NEXT record paired with a COUNT_DROP (the ICMP error asked for). */
  paired?: TraceRecordView;
  /** About the router's answer the packet's slot became (an ICMP error, an echo reply, a TCP reset), not the packet. */
  answer: boolean;
}

/** The records as steps, paired as the trace formatter pairs them. */
function entries(records: Int32Array, nodes: readonly PipelineNode[]): Entry[] {
  const W = TraceField.WORDS;
  const n = records.length / W;
  const out: Entry[] = [];
  let answer = false;
  for (let i = 0; i < n; i++) {
    const r = new TraceRecordView(records, i * W);
    const node = nodes[r.node];
    if (node === undefined) continue;
    if (r.verdict === Verdict.COUNT_DROP && i + 1 < n) {
      const next = new TraceRecordView(records, (i + 1) * W);
      if (next.node === r.node && next.verdict === Verdict.NEXT) {
        out.push({ r, node, paired: next, answer });
        answer = true;
        i++;
        continue;
      }
    }
    out.push({ r, node, answer });
    // ip4-local answers in place (echo reply, TCP reset): what follows is the answer's way out.
    if (node.name === 'ip4-local' && r.verdict === Verdict.NEXT && node.nextNames[r.index] === 'ip4-lookup') answer = true;
  }
  return out;
}

function step(e: Entry, text: string, portName: (p: number) => string): ExplainStep {
  const { r, node } = e;
  const reason = (i: number) => `${node.name}/${node.drops[i]?.name ?? `reason-${i}`}`;
  switch (r.verdict) {
    case Verdict.NEXT: {
      const target = node.nextNames[r.index] ?? `next-${r.index}`;
      return target === OUTPUT ? { node: node.name, verdict: 'out', to: portName(r.txPort), answer: e.answer, text } : { node: node.name, verdict: 'next', to: target, answer: e.answer, text };
    }
    case Verdict.COUNT_DROP:
      if (e.paired !== undefined) return { node: node.name, verdict: 'icmp-error', to: node.nextNames[e.paired.index], reason: reason(r.index), answer: false, text };
      return { node: node.name, verdict: 'drop', reason: reason(r.index), answer: e.answer, text };
    case Verdict.DROP:
      return { node: node.name, verdict: 'drop', reason: reason(r.index), answer: e.answer, text };
    default:
      return { node: node.name, verdict: 'consumed', answer: e.answer, text };
  }
}

/** The firewall's verdict on the packet (r: the firewall's record; arrived: the packet as it came in; loadBalanced: to a VIP). */
function firewallAnswer(fw: Firewall, r: TraceRecordView, arrived: TraceRecordView | undefined, loadBalanced: boolean): ExplainFirewall {
  const plan = fw.judge.plan;
  if (r.note < 0) {
    const involved = plan.endpoints.includes(r.src | 0) || plan.endpoints.includes(r.dst | 0) || plan.endpoints.includes(r.src) || plan.endpoints.includes(r.dst);
    return involved
      ? { decision: 'flow', rules: [], text: 'part of a flow the firewall judged already (its replies and later packets pass as the flow)', sections: [] }
      : { decision: 'not-judged', rules: [], text: 'not judged: neither address is an endpoint', sections: [] };
  }
  const j = fw.judge;
  const rule = (index: number): ExplainRule => {
    const o = plan.origins[plan.rules[index].origin];
    return { name: o.name, kind: o.kind, direction: o.direction, priority: o.priority, action: ACTION_NAMES[o.action] ?? String(o.action) };
  };
  const decided = j.decidedBy(r.note);
  const rules: ExplainRule[] = [];
  if (decided >= 0) rules.push(rule(j.rule(r.note, decided)));
  else for (let s = 0; s < 4; s++) if (j.rule(r.note, s) >= 0) rules.push(rule(j.rule(r.note, s)));
  const action = ACTION_NAMES[j.action(r.note)] ?? 'allow';
  // Every section, as `dataplane firewall --judge` shows them: also those no rule matched, and those after the one that denied.
  const judgement = { action: j.action(r.note), decidedBy: decided, rule: Array.from({ length: Section.COUNT }, (_, s) => j.rule(r.note, s)) };
  const answer: ExplainFirewall = { decision: action, rules, text: fw.describe(r.note), sections: judgementSections(plan, judgement, rule) };
  if (r.hasIp) {
    // The destination it judged (Batch.noteAddress): after DNAT the inside host, a direct-return packet's backend (not the VIP it carries).
    const to = r.noteAddress;
    answer.judged = tupleText(r, to);
    const ports = (r.protocol === IPPROTO_TCP || r.protocol === IPPROTO_UDP) && r.fragmentOffset === 0;
    if (loadBalanced) answer.backend = ipv4ToString(to);
    if (arrived !== undefined && (to !== arrived.dst || (ports && (r.l4 & 0xffff) !== (arrived.l4 & 0xffff)))) {
      answer.text += `, judged as to ${answer.backend !== undefined ? 'backend ' : ''}${endpoint(to, r.l4 & 0xffff, ports)}`;
    }
  }
  return answer;
}

/** Which NAT rule gave the new source or destination (for the answer's `rule`). */
function natRule(config: RouterConfig, spec: ExplainSpec, before: TraceRecordView, after: TraceRecordView, lbVip: string | undefined): string | undefined {
  const nat = trackingConfig(config);
  if (nat === undefined) return undefined;
  const names: string[] = [];
  const ports = (before.protocol === IPPROTO_TCP || before.protocol === IPPROTO_UDP) && before.fragmentOffset === 0;
  if (before.dst !== after.dst || (ports && (before.l4 & 0xffff) !== (after.l4 & 0xffff))) {
    if (lbVip !== undefined) names.push(`load balancer ${lbVip}`);
    else {
      const dport = before.l4 & 0xffff;
      const i = nat.dnat.findIndex((d) => d.inPort === spec.inPort && d.dst >>> 0 === before.dst && (d.proto === 0 || d.proto === before.protocol) && dport >= d.dports.lo && dport <= d.dports.hi);
      names.push(i >= 0 ? `dnat[${i}]` : 'a NAT binding');
    }
  }
  if (before.src !== after.src) {
    const pool = natPools(nat, config.ports.map((p) => p.address)).find((p) => p.address >>> 0 === after.src);
    if (pool === undefined) names.push('a NAT binding');
    else {
      const m = /^masquerade\[(\d+)\]$/.exec(pool.rule);
      const port = m === null ? undefined : config.ports[nat.masquerade[Number(m[1])].outPort]?.name;
      names.push(port === undefined ? pool.rule : `${pool.rule} (${port})`);
    }
  }
  return names.length === 0 ? undefined : names.join(', ');
}

/** The last record before `e` that read an IPv4 header (arp-resolve's own may be of the ARP request its slot became). */
function ipRecordBefore(list: readonly Entry[], e: Entry): TraceRecordView | undefined {
  if (e.r.hasIp) return e.r;
  for (let i = list.indexOf(e) - 1; i >= 0; i--) if (list[i].r.hasIp && list[i].answer === e.answer) return list[i].r;
  return undefined;
}

const ENCAP = { 'dsr-l2': 'mac', 'dsr-ipip': 'ipip', 'dsr-gue': 'gue', nat: 'none' } as const;

/** Reads an explain run: the steps and the answers. */
export function interpretExplain(run: ExplainRun, router: Router, config: RouterConfig, compiled: CompiledFib, spec: ExplainSpec, specText: string): ExplainResult {
  const nodes = router.graph.nodes;
  const ctx = describeContext(config, compiled);
  const portName = ctx.portName;
  const list = entries(run.records, nodes);
  const lines = new TraceFormatter(nodes, ctx).lines(run.records);
  const steps = list.map((e, k) => step(e, lines[k] ?? `${e.node.name}: verdict ${e.r.verdict}`, portName));
  const own = list.filter((e) => !e.answer);
  const first = own.find((e) => e.r.hasIp)?.r;
  const nh = router.ctx.nexthops;
  const result: ExplainResult = { spec: specText, outcome: 'dropped', steps, sent: [], counters: run.counters };

  // The route: where ip4-lookup sent it, or where lb-forward sent a direct-return packet (to its backend).
  const routed = own.find((e) => e.node.name === 'ip4-lookup' || (e.node.name === 'lb-forward' && e.r.verdict === Verdict.NEXT));
  if (routed !== undefined) {
    const r = routed.r;
    const destination = routed.node.name === 'lb-forward' && router.lb !== undefined ? router.lb.address(r.note) >>> 0 : r.dst;
    const route: ExplainRoute = { destination: ipv4ToString(destination), route: describeRoute(destination, config, compiled) };
    const target = r.verdict === Verdict.NEXT ? routed.node.nextNames[r.index] : undefined;
    if (target !== undefined && target !== 'ip4-local' && target !== 'icmp-error') {
      route.nextHop = ipv4ToString(nh.kind[r.nextHop] === NexthopKind.GATEWAY ? nh.gateway[r.nextHop] : destination);
      route.port = portName(r.txPort);
    } else if (target === 'ip4-local') route.route = `local (an address of the router): ${route.route}`;
    result.route = route;
  }

  const fwEntry = own.find((e) => e.node.name === 'firewall');
  if (fwEntry !== undefined && router.firewall !== undefined) {
    const loadBalanced = router.lb !== undefined && first !== undefined && router.lb.vipFor(first.dst | 0, first.protocol, first.fragmentOffset === 0 ? first.l4 & 0xffff : -1) >= 0;
    result.firewall = firewallAnswer(router.firewall, fwEntry.r, first, loadBalanced);
  }

  const newFlow = (run.counters['nat-output/flows-created'] ?? 0) > 0;
  // The load balancer: the VIP the packet was sent to, the backend, the tunnel.
  let lbVip: string | undefined;
  const lb = router.lb;
  if (lb !== undefined && first !== undefined && config.loadBalancer !== undefined) {
    const v = lb.vipFor(first.dst | 0, first.protocol, first.fragmentOffset === 0 ? first.l4 & 0xffff : -1);
    if (v >= 0) {
      const vip = config.loadBalancer.vips[v];
      lbVip = vip.name;
      const answer: ExplainLb = { vip: vip.name, vipAddress: ipv4ToString(vip.address >>> 0), mode: vip.mode, encapsulation: ENCAP[vip.mode], newFlow };
      const fwd = own.find((e) => e.node.name === 'lb-forward' && e.r.note >= 0);
      const translated = own.filter((e) => e.node.name === 'ct-input' && e.r.verdict === Verdict.NEXT).pop();
      if (fwd !== undefined) answer.backend = ipv4ToString(lb.address(fwd.r.note) >>> 0);
      else if (translated !== undefined && translated.r.dst !== first.dst) answer.backend = ipv4ToString(translated.r.dst);
      const encap = own.find((e) => e.node.name === 'lb-encap' && e.r.verdict === Verdict.NEXT);
      if (encap !== undefined) {
        const o = encap.r;
        answer.outer = `${ipv4ToString(o.src)} > ${ipv4ToString(o.dst)} ${o.protocol === 4 ? 'ipip' : o.protocol === IPPROTO_UDP ? `udp ${o.l4 >>> 16} > ${o.l4 & 0xffff} (gue)` : `proto ${o.protocol}`}`;
      }
      result.lb = answer;
    }
  }

  // NAT: the tuple as it came and as nat-output let it go (before any tunnel).
  const natOut = own.filter((e) => e.node.name === 'nat-output' && e.r.verdict === Verdict.NEXT).pop();
  if (router.nat !== undefined && first !== undefined && natOut !== undefined) {
    const after = natOut.r;
    const before = tupleText(first);
    const now = tupleText(after);
    if (before !== now) {
      const ports = (first.protocol === IPPROTO_TCP || first.protocol === IPPROTO_UDP) && first.fragmentOffset === 0;
      const icmpId = first.protocol === IPPROTO_ICMP && ICMP_QUERY.has(first.l4 >>> 24);
      const nat: ExplainNat = { before, after: now, newFlow };
      const srcChanged = first.src !== after.src || (ports && first.l4 >>> 16 !== after.l4 >>> 16) || (icmpId && (first.l4 & 0xffff) !== (after.l4 & 0xffff));
      const dstChanged = first.dst !== after.dst || (ports && (first.l4 & 0xffff) !== (after.l4 & 0xffff));
      if (srcChanged) {
        nat.source = icmpId
          ? { from: `${ipv4ToString(first.src)} id ${first.l4 & 0xffff}`, to: `${ipv4ToString(after.src)} id ${after.l4 & 0xffff}` }
          : { from: endpoint(first.src, first.l4 >>> 16, ports), to: endpoint(after.src, after.l4 >>> 16, ports) };
      }
      if (dstChanged) nat.destination = { from: endpoint(first.dst, first.l4 & 0xffff, ports), to: endpoint(after.dst, after.l4 & 0xffff, ports) };
      const rule = newFlow ? natRule(config, spec, first, after, lbVip) : 'the existing flow';
      if (rule !== undefined) nat.rule = rule;
      result.nat = nat;
    }
  }

  // The drop (of the packet itself), and the ICMP error it became.
  const dropped = own.find((e) => e.r.verdict === Verdict.DROP || e.r.verdict === Verdict.COUNT_DROP);
  if (dropped !== undefined) {
    const d = dropped.node.drops[dropped.r.index];
    const drop: ExplainDrop = { node: dropped.node.name, reason: `${dropped.node.name}/${d?.name ?? dropped.r.index}`, description: d?.description ?? '' };
    result.drop = drop;
    if (dropped.paired !== undefined) {
      const req = dropped.paired.icmpError;
      const icmp: ExplainIcmp = { type: req >>> 24, code: (req >>> 16) & 0xff, text: describeIcmpError(req) };
      const last = list.filter((e) => e.answer).pop();
      if (last !== undefined && last.node.name === 'arp-resolve' && last.r.verdict !== Verdict.DROP) {
        const ip = ipRecordBefore(list, last);
        icmp.to = ip === undefined ? undefined : ipv4ToString(ip.dst);
        icmp.port = portName(last.r.txPort);
        icmp.notSent = `waits for ARP: ${ip === undefined ? '?' : ipv4ToString(nh.neighborAddress(last.r.nextHop, ip.dst))} on ${portName(last.r.txPort)} has no known MAC yet`;
      } else if (last !== undefined && last.r.verdict === Verdict.NEXT && last.node.nextNames[last.r.index] === OUTPUT) {
        icmp.to = ipv4ToString(last.r.dst);
        icmp.port = portName(last.r.txPort);
      } else {
        const why = list.filter((e) => e.answer && (e.r.verdict === Verdict.DROP || e.r.verdict === Verdict.COUNT_DROP)).pop();
        icmp.notSent = why === undefined ? 'not sent' : `${why.node.name}/${why.node.drops[why.r.index]?.name ?? why.r.index}: ${why.node.drops[why.r.index]?.description ?? ''}`;
      }
      result.icmp = icmp;
    }
  }

  // Queued for ARP: consumed, or its slot became the ARP request (sent on to the port).
  const arpWait = own.find((e) => e.node.name === 'arp-resolve' && (e.r.verdict === Verdict.CONSUMED || (e.r.verdict === Verdict.NEXT && e.node.nextNames[e.r.index] === OUTPUT)));
  const arpIp = arpWait && ipRecordBefore(list, arpWait);
  if (arpWait !== undefined && arpIp !== undefined) result.arp = { target: ipv4ToString(nh.neighborAddress(arpWait.r.nextHop, arpIp.dst)), port: portName(arpWait.r.txPort) };

  for (const s of run.sent) {
    const f = decodeFrame(s.bytes, 0, s.bytes.length, s.bytes.length, LINKTYPE_ETHERNET, 1, 0, 0, 0);
    result.sent.push({ port: portName(s.port), frame: formatFrame(f).slice(f.ts.length + 1) });
  }
  const tracedOut = run.sent.some((s) => s.traced);
  if (dropped !== undefined) result.outcome = 'dropped';
  else if (own.some((e) => e.node.name === 'ip4-local')) result.outcome = 'local';
  else if (arpWait !== undefined) result.outcome = 'arp';
  else if (tracedOut) result.outcome = 'forwarded';
  else if (own.some((e) => e.r.verdict === Verdict.CONSUMED)) result.outcome = 'held';
  return result;
}

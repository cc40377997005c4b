// An ExplainResult as text: the answers first (what happened, the route,
// the rule, the translation, the backend, the ICMP error or the drop), then
// the node-by-node trace they were read from, what the router would send,
// and the counters it would move.
import { sectionLines } from '../firewall/describe-plan.js';
import type { ExplainResult } from './result.js';

const OUTCOME: Record<ExplainResult['outcome'], string> = {
  forwarded: 'forwarded',
  local: 'taken by the router (addressed to it)',
  arp: 'waits for ARP (leaves once the next hop answers; ICMP host unreachable if it never does)',
  held: 'held (a fragment waiting for its first fragment)',
  dropped: 'dropped',
};

export function formatExplain(r: ExplainResult): string {
  const out: string[] = [`packet:   ${r.spec}`];
  const leaves = [...new Set(r.steps.filter((s) => s.verdict === 'out' && !s.answer).map((s) => s.to))];
  out.push(`outcome:  ${OUTCOME[r.outcome]}${r.outcome === 'forwarded' && leaves.length > 0 ? ` by ${leaves.join(', ')}` : ''}`);
  if (r.route) {
    const hop = r.route.nextHop === undefined ? '' : `, next hop ${r.route.nextHop} on ${r.route.port ?? '?'}`;
    out.push(`route:    ${r.route.destination}: ${r.route.route}${hop}`);
  }
  if (r.firewall) out.push(`firewall: ${r.firewall.decision}: ${r.firewall.text}`, ...sectionLines(r.firewall.sections, ' '.repeat(10)));
  if (r.lb) {
    const tunnel = r.lb.encapsulation === 'none' ? 'destination translated (nat mode)' : r.lb.encapsulation === 'mac' ? "to the backend's MAC (dsr-l2)" : `encapsulated (${r.lb.encapsulation}${r.lb.outer ? `, outer ${r.lb.outer}` : ''})`;
    out.push(`lb:       VIP ${r.lb.vip} ${r.lb.vipAddress} (${r.lb.mode}): ${r.lb.backend === undefined ? 'no backend' : `backend ${r.lb.backend}, ${tunnel}`}${r.lb.newFlow ? ', new flow pinned to it' : ''}`);
  }
  if (r.nat) {
    const parts: string[] = [];
    if (r.nat.source) parts.push(`source ${r.nat.source.from} -> ${r.nat.source.to}`);
    if (r.nat.destination) parts.push(`destination ${r.nat.destination.from} -> ${r.nat.destination.to}`);
    const how = [r.nat.rule, r.nat.newFlow ? 'a new flow' : undefined].filter((x) => x !== undefined).join(', ');
    out.push(`nat:      ${parts.join(', ')}${how === '' ? '' : ` (${how})`}`);
  }
  if (r.drop) out.push(`drop:     ${r.drop.reason}: ${r.drop.description}`);
  if (r.icmp) {
    const where = r.icmp.to === undefined ? '' : ` to ${r.icmp.to} by ${r.icmp.port ?? '?'}`;
    out.push(`icmp:     ${r.icmp.text} (type ${r.icmp.type} code ${r.icmp.code})${where}${r.icmp.notSent ? `, not sent: ${r.icmp.notSent}` : ''}`);
  }
  if (r.arp) out.push(`arp:      ${r.arp.target} on ${r.arp.port} has no known MAC: the packet waits while ARP asks for it`);
  out.push('node by node:', ...r.steps.map((s) => `  ${s.answer ? '[answer] ' : ''}${s.text}`));
  if (r.sent.length > 0) out.push('would send:', ...r.sent.map((s) => `  ${s.port}: ${s.frame}`));
  const counters = Object.entries(r.counters).filter(([name]) => !name.endsWith('/packets'));
  if (counters.length > 0) out.push(`counters: ${counters.map(([n, v]) => `${n} ${v}`).join(', ')}`);
  return out.join('\n');
}

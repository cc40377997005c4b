// The load balancer's part of `dataplane run`'s output: per VIP on each
// status line (backends up, new flows per second by backend), per backend
// at stop.
import type { BackendStatus } from '../lb/lb-control.js';
import type { VipHealthSnapshot } from '../lb/health/health-checker.js';

/** " | lb web 3/3 up new 120/s (198.51.100.11 40, ...)" and its JSON, from two readings `secs` apart. */
export function lbStatus(now: BackendStatus[], before: BackendStatus[], secs: number): { text: string; json: object } {
  const byVip = new Map<string, { status: BackendStatus; perSec: number }[]>();
  now.forEach((b, i) => {
    const prev = before.find((p) => p.vip === b.vip && p.address === b.address) ?? before[i];
    const perSec = Math.round((b.newFlows - (prev?.newFlows ?? 0)) / secs);
    const list = byVip.get(b.vip) ?? [];
    list.push({ status: b, perSec });
    byVip.set(b.vip, list);
  });
  const parts: string[] = [];
  const json: object[] = [];
  for (const [vip, list] of byVip) {
    const live = list.filter((x) => x.status.state !== 'removed');
    const up = live.filter((x) => x.status.state === 'active' || x.status.state === 'draining').length;
    const total = list.reduce((n, x) => n + x.perSec, 0);
    parts.push(`lb ${vip} ${up}/${live.length} up new ${total}/s (${live.map((x) => `${x.status.address}${x.status.state === 'active' ? '' : ` ${x.status.state}`} ${x.perSec}`).join(', ')})`);
    json.push({ vip, up, backends: live.map((x) => ({ address: x.status.address, state: x.status.state, newPerSec: x.perSec, activeFlows: x.status.activeFlows })) });
  }
  return { text: parts.map((p) => ` | ${p}`).join(''), json };
}

/** The stop summary's table: every backend's state, weight and counters, and its health probes where it has a check. */
export function lbSummary(status: BackendStatus[], health: VipHealthSnapshot[] = []): string {
  const lines = ['load balancer (flows and packets per backend):'];
  for (const b of status) {
    const weight = b.effectiveWeight === b.weight ? `${b.weight}` : `${b.weight} (now ${b.effectiveWeight.toFixed(1)})`;
    const h = health.find((v) => v.name === b.vip)?.backends.find((x) => x.address === b.address);
    const probes = h === undefined ? '' : `; probes ok ${h.probesOk}, failed ${h.probesFailed}, state changes ${h.transitions}${h.lastReason === '' ? '' : ` (last failure: ${h.lastReason})`}`;
    lines.push(`  ${b.vip.padEnd(12)} ${b.address.padEnd(15)} ${b.state.padEnd(8)} weight ${weight.padEnd(6)} new flows ${b.newFlows}, active ${b.activeFlows}, packets ${b.packets} (${b.bytes} B)${probes}`);
  }
  return lines.join('\n');
}

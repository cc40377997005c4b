// Loads a config's firewall and judges packets with the reference evaluator,
// so the config tests read as "this packet: that verdict".
import { parseConfig } from '../../src/config/load.js';
import { parsePacket } from '../../src/cli/firewall-command.js';
import { ACTION_NAMES } from '../../src/firewall/plan.js';
import { ReferenceFirewall } from '../../src/firewall/evaluate.js';
import type { FirewallPlan } from '../../src/firewall/plan.js';
import { configProblems } from '../config/config-problems.js';

export const PORTS = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n';

export function plan(yaml: string, dir = '.'): FirewallPlan {
  const p = parseConfig(PORTS + yaml, 'c.yaml', dir).firewall;
  if (p === undefined) throw new Error('no firewall');
  return p;
}

/** "allow", "deny" or "reject" for a first packet "A[:P] -> B[:P] proto"; "not judged" when neither end is an endpoint. */
export function verdict(p: FirewallPlan, packet: string): string {
  const pk = parsePacket(packet);
  if (typeof pk === 'string') throw new Error(pk);
  if (!p.endpoints.includes(pk.src) && !p.endpoints.includes(pk.dst)) return 'not judged';
  return ACTION_NAMES[new ReferenceFirewall(p).judge(pk.src, pk.dst, pk.proto, pk.dport).action];
}

/** Verdicts of several packets at once: { packet: verdict }. */
export function verdicts(p: FirewallPlan, packets: readonly string[]): Record<string, string> {
  return Object.fromEntries(packets.map((k) => [k, verdict(p, k)]));
}

export function problems(yaml: string, dir = '.'): readonly string[] {
  return configProblems(PORTS + yaml, dir);
}

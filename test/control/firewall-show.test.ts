// `ctl firewall show` (ControlPlane.listRules) lists rules in the order they
// decide, as the offline `dataplane firewall --config` does, each with its
// own hits: not in the config's order.
import { describe, expect, it } from 'vitest';
import { ControlPlane } from '../../src/control/control-plane.js';
import { originRows } from '../../src/firewall/describe-plan.js';
import { Action, type FirewallPlan } from '../../src/firewall/plan.js';
import type { Dataplane } from '../../src/runtime/dataplane.js';

describe('ControlPlane.listRules', () => {
  it('orders by section (egress, then ingress) and priority, deny before allow, implied rules where they decide', () => {
    // Config order: an allow at 2000, the implied rules, a deny at 100, an egress rule.
    const firewall: FirewallPlan = {
      rules: [],
      endpoints: [],
      origins: [
        { kind: 'vpc', name: 'allow-web', direction: 'ingress', priority: 2000, action: Action.ALLOW },
        { kind: 'implied', name: 'implied-deny-ingress', direction: 'ingress', priority: 65535, action: Action.DENY },
        { kind: 'implied', name: 'implied-allow-egress', direction: 'egress', priority: 65535, action: Action.ALLOW },
        { kind: 'vpc', name: 'deny-bad', direction: 'ingress', priority: 100, action: Action.DENY },
        { kind: 'vpc', name: 'allow-dns-out', direction: 'egress', priority: 500, action: Action.ALLOW },
      ],
    } as unknown as FirewallPlan;
    const dp = { config: { firewall }, firewallHits: () => new Float64Array([1, 2, 3, 4, 5]) } as unknown as Dataplane;
    const rules = new ControlPlane(dp, { configFile: 'router.yaml', version: 'test' }).listRules();
    expect(rules.map((r) => r.name)).toEqual(originRows(firewall).map((r) => r.name));
    // Egress (leaving the source) is judged before ingress (reaching the destination).
    expect(rules.map((r) => [r.name, r.hits])).toEqual([
      ['allow-dns-out', 5],
      ['implied-allow-egress', 3],
      ['deny-bad', 4],
      ['allow-web', 1],
      ['implied-deny-ingress', 2],
    ]);
  });
});

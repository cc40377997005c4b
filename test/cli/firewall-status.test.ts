// The firewall's part of run's status line, and its rule hits as run and replay print them.
import { describe, expect, it } from 'vitest';
import { firewallStatus } from '../../src/cli/run-command.js';
import { formatRuleHits, ruleHits } from '../../src/firewall/firewall.js';
import { Action, type FirewallPlan } from '../../src/firewall/plan.js';
import { CounterRegistry, Counters } from '../../src/pipeline/counters.js';

describe('firewall status', () => {
  it('shows first packets allowed, denied and rejected per second since the last line', () => {
    const reg = new CounterRegistry();
    const allowed = reg.register('firewall/allowed', '');
    const denied = reg.register('firewall/denied', '');
    const before = new Counters(reg);
    before.add(allowed, 60);
    const now = new Counters(reg);
    for (let i = 0; i < 21; i++) now.add(allowed, 60);
    for (let i = 0; i < 4; i++) now.add(denied, 60);
    const s = firewallStatus(now, before, 2);
    expect(s.text).toBe(' | fw new flows allowed 10/s denied 2/s rejected 0/s');
    expect(s.json).toEqual({ allowedPerSec: 10, deniedPerSec: 2, rejectedPerSec: 0 });
  });

  it('lists every rule with its hits, implied ones included', () => {
    const plan: FirewallPlan = {
      rules: [],
      endpoints: [],
      origins: [
        { kind: 'vpc', name: 'allow-web', direction: 'ingress', priority: 1000, action: Action.ALLOW },
        { kind: 'implied', name: 'implied-deny-ingress', direction: 'ingress', priority: 65535, action: Action.DENY },
      ],
    };
    const hits = ruleHits(plan, new Float64Array([12, 3]));
    expect(hits).toEqual([
      { name: 'allow-web', kind: 'vpc', direction: 'ingress', priority: 1000, action: 'allow', hits: 12 },
      { name: 'implied-deny-ingress', kind: 'implied', direction: 'ingress', priority: 65535, action: 'deny', hits: 3 },
    ]);
    expect(formatRuleHits(hits).map((l) => l.trim())).toEqual([
      'firewall rule hits (first packets each rule decided):',
      '12  allow-web (vpc ingress priority 1000 allow)',
      '3  implied-deny-ingress (implied ingress priority 65535 deny)',
    ]);
  });
});

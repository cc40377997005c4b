// The NAT part of run's status line, from two readings of the flow table and the counters.
import { describe, expect, it } from 'vitest';
import { natStatus } from '../../src/cli/run-command.js';
import type { NatOccupancy } from '../../src/nat/nat-tables.js';
import { CounterRegistry, Counters } from '../../src/pipeline/counters.js';

function reading(live: number, expired: number, evicted: number, tableFull: number, inUse: number): NatOccupancy {
  return { live, capacity: 1024, inserted: 0, expired, evicted, tableFull, portsInUse: [{ rule: 'masquerade[0]', address: 0xc6336401, inUse, size: 3 * 64512 }] };
}

describe('natStatus', () => {
  it('shows occupancy, flows started and entries ended per second, FULL when inserts failed, and ports per external address', () => {
    const reg = new CounterRegistry();
    const created = reg.register('nat-output/flows-created', '');
    const before = new Counters(reg);
    const now = new Counters(reg);
    now.add(created, 60);
    now.add(created, 60);
    now.add(created, 60);
    now.add(created, 60);
    const s = natStatus(reading(100, 10, 2, 5, 21), reading(40, 4, 0, 2, 9), now, before, 2);
    expect(s?.text).toBe(' | flows 100/1024 new 2/s ended 4/s FULL x3 | nat ports 198.51.100.1 21');
    expect(s?.json).toEqual({ flows: 100, capacity: 1024, newPerSec: 2, endedPerSec: 4, tableFull: 5, ports: [{ rule: 'masquerade[0]', address: '198.51.100.1', inUse: 21, size: 193536 }] });
  });

  it('is absent without NAT', () => {
    const reg = new CounterRegistry();
    expect(natStatus(undefined, undefined, new Counters(reg), new Counters(reg), 1)).toBeUndefined();
  });
});

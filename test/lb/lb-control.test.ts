// The load balancer's control side: tables built from the weights in
// effect, states that say what pinned flows do, reloads that apply backends
// and weights (and refuse, whole, anything that needs a restart), and the
// status and summary `dataplane run` prints from it.
import { describe, expect, it } from 'vitest';
import type { VipConfig } from '../../src/lb/lb-config.js';
import { LbControl } from '../../src/lb/lb-control.js';
import { BackendState } from '../../src/lb/lb-tables.js';
import { lbStatus, lbSummary } from '../../src/cli/lb-status.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { TABLE_ENTRY_BYTES } from '../../src/config/load-balancer.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const ip = (a: string) => parseIpv4(a) >>> 0;

function vip(weights: number[], extra: Partial<VipConfig> = {}): VipConfig {
  return {
    name: 'web', address: ip('203.0.113.10'), protocol: 6, port: 80, mode: 'dsr-l2', tableSize: 251, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: 0,
    backends: weights.map((w, i) => ({ address: ip(`198.51.100.${11 + i}`), weight: w })),
    ...extra,
  };
}

/** Slots per backend address in the VIP's active table. */
function shares(c: LbControl): Record<string, number> {
  const t = c.tables.activeTable(0);
  const out: Record<string, number> = {};
  for (const id of t) {
    const a = id < 0 ? 'none' : `198.51.100.${c.tables.backendAddress[id] & 255}`;
    out[a] = (out[a] ?? 0) + 1;
  }
  return out;
}

describe('LbControl', () => {
  it('holds TABLE_ENTRY_BYTES per table entry once built (the cost the config states for its limit on all VIPs\' entries)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // A collected ArrayBuffer's memory is handed back after the GC (a task of its own): a turn of the event loop
    // and a second GC, so that the build's scratch, freed by then, is not counted as held.
    const settle = async () => {
      gc();
      await new Promise((r) => setTimeout(r, 20));
      gc();
    };
    const size = 1000003;
    await settle();
    const before = process.memoryUsage().arrayBuffers;
    const c = LbControl.create({ vips: [vip([1, 1], { tableSize: size })] }, 2);
    await settle();
    const perEntry = (process.memoryUsage().arrayBuffers - before) / size;
    expect(c.tables.tableSize[0]).toBe(size);
    expect(perEntry).toBeGreaterThan(TABLE_ENTRY_BYTES - 0.5);
    expect(perEntry).toBeLessThan(TABLE_ENTRY_BYTES + 0.5);
  });

  it('builds the table from the weights, and a health verdict or a drain takes a backend out (states say what its flows do)', () => {
    const c = LbControl.create({ vips: [vip([1, 1, 2])] }, 2);
    const s = shares(c);
    expect(s['198.51.100.13']).toBeGreaterThan(s['198.51.100.11'] * 1.8);
    const gen = c.tables.generation(0);
    c.setHealth(0, 0, false);
    expect(c.tables.generation(0)).toBe(gen + 1);
    expect(shares(c)['198.51.100.11']).toBeUndefined();
    expect(c.tables.backendState[0]).toBe(BackendState.DOWN);
    c.setHealth(0, 0, true);
    expect(c.tables.backendState[0]).toBe(BackendState.ACTIVE);
    c.setHealth(0, 0, false);
    c.setHealth(0, 1, false);
    c.setHealth(0, 2, false);
    expect(shares(c)).toEqual({ none: 251 });
  });

  it('reload: weights, drain, added and removed backends apply; a VIP change is refused whole and changes nothing', () => {
    const c = LbControl.create({ vips: [vip([1, 1, 1])] }, 1);
    const next = vip([1, 0, 1]);
    next.backends = [next.backends[1], next.backends[2], { address: ip('198.51.100.20'), weight: 3 }];
    const r = c.reload({ vips: [next] });
    expect(r.problems).toEqual([]);
    expect(r.changes).toEqual(['web: backend 198.51.100.12 weight 1 -> 0 (draining)', 'web: backend 198.51.100.20 added (weight 3)', 'web: backend 198.51.100.11 removed']);
    expect(Object.keys(shares(c)).sort()).toEqual(['198.51.100.13', '198.51.100.20']);
    expect(c.tables.backendState.slice(0, 4)).toEqual(Int32Array.from([BackendState.REMOVED, BackendState.DRAINING, BackendState.ACTIVE, BackendState.ACTIVE]));
    const before = c.tables.activeTable(0);
    const bad = c.reload({ vips: [vip([5, 5, 5], { mode: 'nat', tableSize: 257 })] });
    expect(bad.problems).toEqual([
      'loadBalancer.vips[0].mode: changed from dsr-l2 to nat: needs a restart (only backends and weights reload)',
      'loadBalancer.vips[0].tableSize: changed from 251 to 257: needs a restart (only backends and weights reload)',
    ]);
    expect(c.tables.activeTable(0)).toEqual(before);
    // Addresses and protocols in the config's words (the address was the raw integer 3405803787).
    expect(c.reload({ vips: [vip([1, 1, 1], { address: ip('203.0.113.11'), protocol: 17 })] }).problems).toEqual([
      'loadBalancer.vips[0].address: changed from 203.0.113.10 to 203.0.113.11: needs a restart (only backends and weights reload)',
      'loadBalancer.vips[0].protocol: changed from tcp to udp: needs a restart (only backends and weights reload)',
    ]);
    expect(c.reload(undefined).problems).toEqual(['loadBalancer.vips: 0 VIPs where 1 run: adding or removing a VIP needs a restart']);
    // A removed backend comes back under its old id.
    expect(c.reload({ vips: [vip([1, 1, 1])] }).changes).toContain('web: backend 198.51.100.11 back (weight 1)');
    expect(c.tables.backendCount).toBe(4);
  });

  it('the status line part and the stop summary', () => {
    const c = LbControl.create({ vips: [vip([1, 1])] }, 1);
    const before = c.status();
    c.tables.counters[0][0 * 4 + 0] = 10; // backend 0: 10 new flows
    c.tables.counters[0][1 * 4 + 0] = 4;
    c.tables.counters[0][1 * 4 + 1] = 1; // one ended
    c.setHealth(0, 1, false);
    const st = lbStatus(c.status(), before, 2);
    expect(st.text).toBe(' | lb web 1/2 up new 7/s (198.51.100.11 5, 198.51.100.12 down 2)');
    expect(lbSummary(c.status())).toContain('198.51.100.12   down     weight 1      new flows 4, active 3');
  });
});

// The LPM bench's CPU plan (bench/route/cpu-pinning.ts): which vCPUs both
// sides run on, the order their rounds alternate in, and how the per-vCPU
// ratios become the one figure the target is judged by.
import { describe, expect, it } from 'vitest';
import { cpuLabel, cpuPlan, median, pairingSchedule, parseCpuinfo, parseCpuList, summarizeRatios } from '../../bench/route/cpu-pinning.js';

describe('parseCpuList', () => {
  it('reads single CPUs and ranges, sorted and without repeats', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('8,0-3,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('1,1,0-1')).toEqual([0, 1]);
  });

  it('names the list and the bad part', () => {
    expect(() => parseCpuList('')).toThrow('CPU list "": empty');
    expect(() => parseCpuList('0-1,x')).toThrow('"x" is not N or N-M');
    expect(() => parseCpuList('3-1')).toThrow('range "3-1" runs backwards');
    expect(() => parseCpuList('0,,1')).toThrow('"" is not N or N-M');
    expect(() => parseCpuList('0-99999')).toThrow('beyond 4095');
  });
});

describe('cpuPlan', () => {
  it('without a restriction, pins both sides to each vCPU in turn', () => {
    const p = cpuPlan('0-1', '0-1');
    expect(p.mode).toBe('per-vcpu');
    expect(p.slots).toEqual([
      { pin: 0, label: 'vCPU 0' },
      { pin: 1, label: 'vCPU 1' },
    ]);
    expect(p.allowedList).toBe('0-1');
  });

  it('written differently, the same set is still unrestricted', () => {
    expect(cpuPlan('0,1,2,3', '0-3').mode).toBe('per-vcpu');
  });

  it('under taskset -c N, both sides on vCPU N only', () => {
    const p = cpuPlan('1', '0-1');
    expect(p.mode).toBe('allowed');
    expect(p.slots).toEqual([{ pin: 1, label: 'vCPU 1' }]);
    expect(p.why).toContain('CPU 1 only');
  });

  it('under a narrower set of several CPUs, both sides float over it as before', () => {
    const p = cpuPlan('0-1', '0-3');
    expect(p.mode).toBe('allowed');
    expect(p.slots).toEqual([{ label: 'CPUs 0-1 (floating)' }]);
    expect(p.allowedList).toBe('0-1');
  });

  it('a one-CPU machine is one pinned slot', () => {
    expect(cpuPlan('0', '0').slots).toEqual([{ pin: 0, label: 'vCPU 0' }]);
  });

  it('an unknown allowed set floats; an unknown online set counts the allowed set as the machine', () => {
    expect(cpuPlan(null, '0-1')).toMatchObject({ mode: 'allowed', slots: [{ label: 'CPUs ? (floating)' }] });
    expect(cpuPlan('0-1', null).mode).toBe('per-vcpu');
  });

  it('a malformed list is an error, not a silent plan', () => {
    expect(() => cpuPlan('0-1', 'garbage')).toThrow('CPU list "garbage"');
  });
});

describe('pairingSchedule', () => {
  it('gives every vCPU one step per block, both sides back to back, who goes first alternating by block', () => {
    expect(pairingSchedule(2, 2)).toEqual([
      { block: 0, slot: 0, first: 'ours' },
      { block: 0, slot: 1, first: 'ours' },
      { block: 1, slot: 1, first: 'peer' },
      { block: 1, slot: 0, first: 'peer' },
    ]);
  });

  it('over many blocks, each vCPU opens blocks and each side goes first equally often on it', () => {
    const steps = pairingSchedule(20, 2);
    expect(steps).toHaveLength(40);
    for (const slot of [0, 1]) {
      const mine = steps.filter((s) => s.slot === slot);
      expect(mine).toHaveLength(20);
      expect(mine.filter((s) => s.first === 'ours')).toHaveLength(10);
      const opened = steps.filter((s, i) => i % 2 === 0 && s.slot === slot);
      expect(opened).toHaveLength(10);
    }
  });

  it('one slot: today\'s alternation, block by block', () => {
    expect(pairingSchedule(3, 1).map((s) => s.first)).toEqual(['ours', 'peer', 'ours']);
  });

  it('refuses zero or fractional counts', () => {
    expect(() => pairingSchedule(0, 2)).toThrow('blocks must be a positive integer');
    expect(() => pairingSchedule(2, 1.5)).toThrow('slots must be a positive integer');
  });
});

describe('summarizeRatios', () => {
  it('per vCPU the median of its block ratios; overall the worst vCPU; the geometric mean beside it', () => {
    const s = summarizeRatios(['vCPU 0', 'vCPU 1'], [
      [1.1, 1.3, 1.2],
      [0.9, 1.0, 1.05, 2.0],
    ]);
    expect(s.perSlot[0]).toEqual({ label: 'vCPU 0', ratio: 1.2, blocks: 3 });
    expect(s.perSlot[1].ratio).toBeCloseTo(1.025, 10);
    expect(s.worst.label).toBe('vCPU 1');
    expect(s.overall).toBeCloseTo(1.025, 10);
    expect(s.geomean).toBeCloseTo(Math.sqrt(1.2 * 1.025), 10);
  });

  it('drops NaN samples, and a vCPU with none leaves the overall unknown rather than better', () => {
    const s = summarizeRatios(['vCPU 0', 'vCPU 1'], [[1.5, NaN, 1.5], [NaN]]);
    expect(s.perSlot[0]).toEqual({ label: 'vCPU 0', ratio: 1.5, blocks: 2 });
    expect(s.perSlot[1].blocks).toBe(0);
    expect(s.overall).toBeNaN();
    expect(s.worst.label).toBe('vCPU 0');
  });

  it('one slot: its ratio is the overall', () => {
    expect(summarizeRatios(['vCPU 1'], [[0.8, 1.2]]).overall).toBeCloseTo(1.0, 10);
  });

  it('refuses labels that do not match the slots', () => {
    expect(() => summarizeRatios([], [])).toThrow(RangeError);
    expect(() => summarizeRatios(['a'], [[1], [2]])).toThrow('1 labels for 2 slots');
  });

  it('median of an even count is the mean of the middle two; of none, NaN', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

const CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
cpu MHz\t\t: 2599.998
flags\t\t: fpu tsc constant_tsc nonstop_tsc hypervisor tsc_known_freq

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
cpu MHz\t\t: 2600.001
flags\t\t: fpu tsc
`;

describe('parseCpuinfo and cpuLabel', () => {
  it('reads each processor\'s model, clock and TSC flags', () => {
    const info = parseCpuinfo(CPUINFO);
    expect(info.get(0)).toEqual({ model: 'AMD EPYC 9B14', mhz: 2599.998, tscFlags: ['constant_tsc', 'nonstop_tsc', 'tsc_known_freq'], hypervisor: true });
    expect(info.get(1)?.tscFlags).toEqual([]);
  });

  it('labels a ratio with the CPU it ran on and the TSC', () => {
    const info = parseCpuinfo(CPUINFO);
    expect(cpuLabel(info, 0, 2.6e9)).toBe('AMD EPYC 9B14 at 2600 MHz (virtualized), TSC 2.60 GHz constant_tsc nonstop_tsc tsc_known_freq');
    expect(cpuLabel(info, 1, NaN)).toBe('AMD EPYC 9B14 at 2600 MHz, TSC ? GHz no invariant-TSC flags');
    expect(cpuLabel(info, undefined, 2.6e9)).toContain('(virtualized)');
    expect(cpuLabel(info, 7)).toBe('cpu unknown, TSC ? GHz');
  });
});

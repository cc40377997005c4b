// Which vCPUs the LPM bench compares the two sides on, in what order, and how
// the per-vCPU ratios add up to one figure. Pure functions (the bench reads
// /proc and drives the processes; test/route/lpm-bench-pinning.test.ts tests
// these).
//
// Why per vCPU: on this project's KVM VM, vCPU 1 reads random memory ~25%
// slower than vCPU 0 (a C pointer chase, 9.0 vs 11.6 ns an access). Left to
// float, our lookup worker and the DPDK peer land on different vCPUs and the
// ratio compares the vCPUs as much as the lookups (0.91x unpinned against
// 1.07x and 1.05x with both sides on vCPU 0, then on vCPU 1). So, unless the
// bench was started under a CPU restriction, both sides run on each vCPU in
// turn and each vCPU gets a same-vCPU ratio.

/**
 * Parses a Linux CPU list ("0-3,8,10-11", as in /proc/self/status's
 * Cpus_allowed_list and /sys/devices/system/cpu/online) into sorted,
 * distinct CPU numbers. Throws an Error naming the list and the bad part.
 */
export function parseCpuList(list: string): number[] {
  const text = list.trim();
  if (text === '') throw new Error(`CPU list "${list}": empty`);
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new Error(`CPU list "${list}": "${part}" is not N or N-M`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`CPU list "${list}": range "${part}" runs backwards`);
    if (hi > 4095) throw new Error(`CPU list "${list}": CPU ${hi} is beyond 4095`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** One place the rounds run: pinned to one vCPU, or floating over the allowed set (pin undefined). */
export interface CpuSlot {
  pin?: number;
  /** "vCPU 0", or "CPUs 0-3 (floating)". */
  label: string;
}

export interface CpuPlan {
  /** per-vcpu: both sides pinned to each vCPU in turn; allowed: both on the CPU set the bench was started with (today's behaviour under taskset). */
  mode: 'per-vcpu' | 'allowed';
  slots: CpuSlot[];
  /** The allowed CPU list as the peer's EAL --lcores takes it ("0-1"), or undefined when unknown. */
  allowedList?: string;
  why: string;
}

/**
 * Where to run: when the process may use every online CPU (no taskset, no
 * cpuset narrower than the machine) and there are at least two, each vCPU in
 * turn; otherwise the allowed set as it is (one slot: pinned when it is one
 * CPU, floating over it when several). `allowed` and `online` are CPU lists,
 * null when unknown (then: unknown allowed set -> one floating slot over
 * whatever the kernel gives; unknown online set -> the allowed set counts as
 * unrestricted).
 */
export function cpuPlan(allowed: string | null, online: string | null): CpuPlan {
  if (allowed === null) return { mode: 'allowed', slots: [{ label: 'CPUs ? (floating)' }], why: 'the allowed CPU set is unknown (no Cpus_allowed_list in /proc/self/status): both sides float' };
  const a = parseCpuList(allowed);
  const o = online === null ? a : parseCpuList(online);
  const restricted = a.length !== o.length || a.some((c, i) => c !== o[i]);
  if (a.length === 1) {
    return { mode: 'allowed', slots: [{ pin: a[0], label: `vCPU ${a[0]}` }], allowedList: allowed, why: `the bench may run on CPU ${a[0]} only (taskset or cpuset): both sides there` };
  }
  if (restricted) {
    return { mode: 'allowed', slots: [{ label: `CPUs ${allowed} (floating)` }], allowedList: allowed, why: `the bench was started on CPUs ${allowed} of ${online}: both sides float over them (run under taskset -c N for one vCPU)` };
  }
  return {
    mode: 'per-vcpu',
    slots: a.map((c) => ({ pin: c, label: `vCPU ${c}` })),
    allowedList: allowed,
    why: `no CPU restriction (CPUs ${allowed} of ${online ?? allowed}): both sides pinned to each vCPU in turn`,
  };
}

/** One step of the interleaved measurement: on `slot`, our rounds and the peer's, `first` going first. */
export interface PairStep {
  block: number;
  slot: number;
  first: 'ours' | 'peer';
}

/**
 * The order of the rounds: block by block, and within a block every slot
 * (vCPU) in turn, ours and the peer's back to back on it. Who goes first
 * alternates from block to block, and the slot that opens a block rotates,
 * so that a noisy neighbour, a warming cache or a frequency step hits both
 * sides and every vCPU alike. Each (block, slot) pair is one ratio sample.
 */
export function pairingSchedule(blocks: number, slots: number): PairStep[] {
  if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`blocks must be a positive integer, got ${blocks}`);
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  const steps: PairStep[] = [];
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < slots; i++) {
      steps.push({ block: b, slot: (b + i) % slots, first: b % 2 === 0 ? 'ours' : 'peer' });
    }
  }
  return steps;
}

/** The median of numbers (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface SlotRatio {
  label: string;
  /** The median of this slot's per-block ratios (peer's median ns / ours: above 1, ours is faster). */
  ratio: number;
  blocks: number;
}

export interface RatioSummary {
  perSlot: SlotRatio[];
  /** The slot with the lowest ratio. */
  worst: SlotRatio;
  geomean: number;
  /** The figure the target is judged by: the worst slot's ratio. */
  overall: number;
}

/** Why the overall figure is the worst vCPU's (printed beside it). */
export const OVERALL_RULE =
  'overall = the worst vCPU: a data-plane worker may be scheduled on any vCPU, so "at least rte_lpm" holds only if it holds on each (the geometric mean is shown beside it, not judged)';

/**
 * Per slot, the median of its per-block ratios; overall, the worst slot's.
 * `blockRatios[i]` are slot i's ratios, one per block; NaN samples (a side
 * missing) are dropped. Throws when there is no slot.
 */
export function summarizeRatios(labels: readonly string[], blockRatios: readonly (readonly number[])[]): RatioSummary {
  if (labels.length === 0 || labels.length !== blockRatios.length) throw new RangeError(`summarizeRatios: ${labels.length} labels for ${blockRatios.length} slots`);
  const perSlot = labels.map((label, i) => {
    const xs = blockRatios[i].filter((x) => Number.isFinite(x));
    return { label, ratio: median(xs), blocks: xs.length };
  });
  const measured = perSlot.filter((s) => !Number.isNaN(s.ratio));
  const worst = measured.length === 0 ? perSlot[0] : measured.reduce((w, s) => (s.ratio < w.ratio ? s : w));
  const geomean = measured.length === 0 ? NaN : Math.exp(measured.reduce((a, s) => a + Math.log(s.ratio), 0) / measured.length);
  // A slot without a single sample makes the worst case unknown, not better.
  const overall = measured.length === perSlot.length ? worst.ratio : NaN;
  return { perSlot, worst, geomean, overall };
}

/** What /proc/cpuinfo says of one logical CPU. */
export interface CpuInfo {
  model: string;
  mhz: number;
  /** The invariant-TSC flags it has (constant_tsc, nonstop_tsc, tsc_known_freq). */
  tscFlags: string[];
  hypervisor: boolean;
}

/** /proc/cpuinfo's records by processor number. */
export function parseCpuinfo(text: string): Map<number, CpuInfo> {
  const out = new Map<number, CpuInfo>();
  for (const rec of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}\\s*:[ \\t]*(.*)$`, 'm').exec(rec)?.[1];
    const p = field('processor');
    if (p === undefined || !/^\d+$/.test(p.trim())) continue;
    const flags = (field('flags') ?? '').split(/\s+/);
    out.set(Number(p), {
      model: (field('model name') ?? '?').trim(),
      mhz: Number(field('cpu MHz') ?? NaN),
      tscFlags: ['constant_tsc', 'nonstop_tsc', 'tsc_known_freq'].filter((f) => flags.includes(f)),
      hypervisor: flags.includes('hypervisor'),
    });
  }
  return out;
}

/**
 * "AMD EPYC 9B14 at 2600 MHz (virtualized), TSC 2.60 GHz constant_tsc
 * nonstop_tsc": the CPU a ratio was measured on, printed beside it. `cpu`
 * undefined (a floating slot): the first CPU's record. `tscHz` NaN or
 * undefined: "TSC ? GHz".
 */
export function cpuLabel(info: Map<number, CpuInfo>, cpu: number | undefined, tscHz?: number): string {
  const rec = info.get(cpu ?? [...info.keys()].sort((a, b) => a - b)[0] ?? -1);
  const tsc = `TSC ${tscHz !== undefined && Number.isFinite(tscHz) ? (tscHz / 1e9).toFixed(2) : '?'} GHz`;
  if (rec === undefined) return `cpu unknown, ${tsc}`;
  const flags = rec.tscFlags.length > 0 ? rec.tscFlags.join(' ') : 'no invariant-TSC flags';
  return `${rec.model} at ${Number.isFinite(rec.mhz) ? rec.mhz.toFixed(0) : '?'} MHz${rec.hypervisor ? ' (virtualized)' : ''}, ${tsc} ${flags}`;
}

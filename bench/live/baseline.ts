// What forwarding costs, from a run through a router less the same load sent
// straight from the generator to the sink (direct.ts), per forwarded packet.
//
// CPU is counted per subject as follows (the live benchmarks' reports say so):
//   - the kernel ("kernel"): it has no process, and forwards in softirq,
//     charged to whatever task the softirq interrupts. Its cost is the
//     machine's system+irq+softirq time during the routed run less the same
//     during the direct run: the generator's sends and the sink's receives
//     (and, roughly, other jobs) are in both and cancel.
//   - a router process ("process": the dataplane, testpmd): its utime+stime
//     over the run, plus ksoftirqd's time beyond the direct run's (softirq
//     work deferred there on its behalf; never credited when below). Its
//     stime also holds softirq work done in its syscalls (with tick-based
//     accounting, the sink's receive of a frame it sends), which the kernel's
//     figure does not: the process figure is, if anything, high.
//   - every subject ("path"): the generator (trafgen), the router process if
//     any and ksoftirqd, routed run less direct run: one measure for all,
//     per process, so other jobs on a shared machine do not count. With
//     tick-based accounting (no CONFIG_IRQ_TIME_ACCOUNTING) softirq time is
//     charged to the task it interrupts: the kernel's forwarding lands in
//     trafgen's stime (veth delivers in the sender's softirq), a user-space
//     router's kernel side (packet socket or TAP delivery) in trafgen's or
//     its own. Where the kernel charges irq time apart, this undercounts.
//   - "machine": all busy time of the machine (user, system, irq, softirq),
//     routed less direct: the widest net, and other jobs' noise with it.
// The direct run is scaled to the routed run's offered packets before it is
// subtracted: at a fixed rate that is ~1, at "as fast as the generator can"
// the generator offers less through a router that takes its core's time.
import type { LoadRun } from './measure.js';

export type CpuMethod = 'kernel' | 'process';

export interface ForwardingCpu {
  /** The subject's own CPU per forwarded packet (method above), ns. */
  routerNs: number;
  /** Generator + router process + ksoftirqd per forwarded packet beyond the direct run's, ns. */
  pathNs: number;
  /** Machine busy time per forwarded packet beyond the direct run's, ns. */
  machineNs: number;
  /** ksoftirqd time beyond the direct run's, per forwarded packet, ns (part of routerNs for a process). */
  ksoftirqdNs: number;
}

const path = (r: LoadRun) => r.cpu.generator + (Number.isFinite(r.cpu.process) ? r.cpu.process : 0) + r.cpu.ksoftirqd;

export function forwardingCpu(method: CpuMethod, routed: LoadRun, direct: LoadRun): ForwardingCpu {
  if (!(routed.got > 0) || !(direct.offered > 0)) return { routerNs: NaN, pathNs: NaN, machineNs: NaN, ksoftirqdNs: NaN };
  const scale = routed.offered / direct.offered;
  const per = (sec: number) => (sec * 1e9) / routed.got;
  const ksoftirqd = routed.cpu.ksoftirqd - scale * direct.cpu.ksoftirqd;
  const router = method === 'kernel' ? routed.cpu.machine.sys - scale * direct.cpu.machine.sys : routed.cpu.process + Math.max(0, ksoftirqd);
  return {
    routerNs: per(router),
    pathNs: per(path(routed) - scale * path(direct)),
    machineNs: per(routed.cpu.machine.busy - scale * direct.cpu.machine.busy),
    ksoftirqdNs: per(ksoftirqd),
  };
}

/** How the report describes `method`. */
export function cpuMethodText(method: CpuMethod): string {
  return method === 'kernel'
    ? 'system+irq+softirq of the machine (/proc/stat), routed run less direct run'
    : 'process utime+stime, plus ksoftirqd beyond the direct run';
}

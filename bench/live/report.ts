// The live benchmark's results and its Markdown report (the chart is chart.ts).
import { writeFileSync } from 'node:fs';

/** One offered rate through one router. */
export interface LiveRun {
  /** Share of the generator's maximum (1: trafgen unlimited). */
  fraction: number;
  /** The rate asked of the generator (0: as fast as trafgen sends); offeredPps is what its interface counted. */
  askedPps: number;
  offeredPps: number;
  sinkPps: number;
  /** The sink pps of each window when the run had several (sinkPps and offeredPps are then the median window's). */
  windowSinkPps?: number[];
  lossPct: number;
  /** The same load straight to the sink (the baseline run). */
  directPps: number;
  /** The router's CPU per forwarded packet (baseline.ts), ns. */
  routerNsPerPacket: number;
  /** Generator + router process + ksoftirqd per forwarded packet beyond the direct run's, ns (baseline.ts). */
  pathNsPerPacket: number;
  /** The machine's busy time per forwarded packet beyond the direct run's, ns. */
  machineNsPerPacket: number;
  /** Ping through the router while the load runs (100 a second). */
  pingP50Us?: number;
  pingP99Us?: number;
  pingLossPct?: number;
}

export interface LiveResult {
  label: string;
  subject: 'dataplane' | 'linux-kernel' | 'dpdk-testpmd';
  ports: string;
  workers: number;
  /** How the router's CPU is counted (baseline.ts cpuMethodText). */
  cpuMethod: string;
  runs: LiveRun[];
  /** Ping at light load (no other traffic). */
  rttP50Us?: number;
  rttP99Us?: number;
  tcpGbps?: number;
  notes: string[];
}

export interface LiveSetup {
  quick: boolean;
  /** Seconds per rate. */
  seconds: number;
  tcpSeconds: number;
  lightPings: number;
  generatorMaxPps: number;
  /** pps per fraction; 0: unlimited. */
  rates: number[];
  cpu: string;
  cpus: number;
  /** 1-minute load average when the run started and ended: the machine is shared. */
  loadAvg: number;
  loadAvgEnd?: number;
  wallSeconds?: number;
  /** Rates below the maximum were paced by pacer.c (else by trafgen's gap). */
  pacer?: boolean;
}

const f = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const cell = (s: string) => s.replace(/\|/g, '/');

export function writeLiveMarkdown(path: string, results: readonly LiveResult[], setup: LiveSetup, ratios: readonly string[]): void {
  const lines = [
    '# Live forwarding: generator ns -> router -> sink ns',
    '',
    `${new Date().toISOString()}, ${setup.cpu} (${setup.cpus} CPUs), Node ${process.version}${setup.quick ? ', QUICK mode (BENCH_LIVE_QUICK=1)' : ''}. ` +
      `Load average ${setup.loadAvg.toFixed(1)} at the start, ${f(setup.loadAvgEnd, 1)} at the end: the machine is shared with other jobs. ${f(setup.wallSeconds)} s in all.`,
    '',
    `Generator: 64-byte UDP, one core; at 100% trafgen as fast as it sends, and its maximum straight to the sink (no router) was ${f(setup.generatorMaxPps / 1000, 1)} kpps; ` +
      `${setup.pacer === true ? 'lower rates are paced evenly by bench/live/pacer.c (sendmmsg every 100 µs)' : 'lower rates are trafgen with a gap (no C compiler for pacer.c: slower than asked)'}. ` +
      `Each router gets ${setup.rates.map((r) => (r === 0 ? 'unlimited (100%)' : `${f(r / 1000, 1)}k`)).join(', ')} pps for ${setup.seconds} s each, ` +
      `and each rate is also sent straight to the sink just before the router starts (the baseline of the CPU figures).`,
    '',
    '## Sweep',
    '',
    '| router | offered | asked kpps | offered kpps | sink kpps | loss % | router CPU ns/pkt | path CPU ns/pkt | machine CPU ns/pkt | ping p50 us | ping p99 us | ping lost % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    if (r.runs.length === 0) lines.push(`| ${r.label} | - | - | - | - | - | - | - | - | - | - | - |`);
    for (const u of r.runs) {
      lines.push(
        `| ${r.label} | ${Math.round(u.fraction * 100)}% | ${u.askedPps === 0 ? 'max' : f(u.askedPps / 1000, 1)} | ${f(u.offeredPps / 1000, 1)} | ${f(u.sinkPps / 1000, 1)} | ${f(u.lossPct, 1)} | ${f(u.routerNsPerPacket)} | ${f(u.pathNsPerPacket)} | ${f(u.machineNsPerPacket)} | ${f(u.pingP50Us)} | ${f(u.pingP99Us)} | ${f(u.pingLossPct, 0)} |`,
      );
    }
  }
  lines.push('', '## Per router', '', '| router | light-load ping p50 us | p99 us | TCP Gbit/s | router CPU counted as | notes |', '|---|---:|---:|---:|---|---|');
  for (const r of results) lines.push(`| ${r.label} | ${f(r.rttP50Us)} | ${f(r.rttP99Us)} | ${f(r.tcpGbps, 2)} | ${r.cpuMethod} | ${cell(r.notes.join('; '))} |`);
  lines.push('', `## Ratios (this run; ${setup.cpu}, Node ${process.version})`, '', ...ratios.map((l) => `- ${l}`));
  lines.push(
    '',
    '## How it is counted',
    '',
    '- sink kpps: rx_packets of the sink\'s interface over the seconds trafgen sent; offered: tx_packets + tx_dropped of the generator\'s',
    '  (a TAP whose reader falls behind drops at its queue); asked: the rate asked of the generator.',
    '- The sink drops the load at its interface\'s ingress (nftables netdev, UDP to port 9), in the direct and routed runs',
    '  alike: its IP/UDP receive and ICMP attempt would otherwise be charged to whoever sends into its veth (a',
    '  user-space router\'s sendto, the generator in the direct run).',
    '  loss = 1 - sink/offered. At 100% trafgen is unlimited, and through a router that shares its core (the kernel',
    '  forwards in the sender\'s softirq) it offers less than straight to the sink.',
    '- Router CPU per forwarded packet: the kernel, which has no process, as the system+irq+softirq time of the machine',
    '  (/proc/stat) during the routed run less the same during the direct run at the same rate (generator -> sink over',
    '  one veth pair, no router): what is left is what forwarding costs. The dataplane and testpmd: their process\'s',
    '  utime+stime, plus ksoftirqd time beyond the direct run\'s. A process\'s stime also holds softirq work done in its',
    '  own syscalls (what the sink does with what it sends: now only the ingress drop), which the kernel\'s figure',
    '  subtracts: if anything, high.',
    '- Path CPU per forwarded packet: trafgen (and its worker), the router process if any, and ksoftirqd, routed run less',
    '  direct run: the same per-process measure for every router, which other jobs on the machine do not disturb. This',
    '  kernel has tick-based accounting (no CONFIG_IRQ_TIME_ACCOUNTING): softirq time is charged to the task it interrupts,',
    '  so the kernel\'s forwarding (veth delivers in the sender\'s softirq) lands in trafgen\'s stime, and the kernel side',
    '  of a user-space router (packet socket or TAP delivery) in trafgen\'s or the router\'s. On a shared machine this is',
    '  the figure to compare; the router and machine columns carry other jobs\' system time with them.',
    '- Machine CPU per forwarded packet: all busy time of the machine (user+system+irq+softirq), routed less direct.',
    '  Both baselines are scaled to the routed run\'s offered packets (~1 at fixed rates).',
    '  /proc/stat and /proc/PID/stat tick at 100 Hz: figures from short (quick) runs are coarse.',
    '- Ping under load: 100 pings a second from the generator\'s namespace to the sink through the router, in parallel',
    '  with the load (they share the generator\'s core and the router\'s queues). Light load: no other traffic.',
    '- testpmd busy-polls a core whatever the load (its CPU per packet falls as the rate rises); mac forwarding does',
    '  not decrement TTL. "afpacket" rows turn TSO/GSO/GRO and checksum offload off on the veths; "+offload" rows leave',
    '  the kernel\'s defaults on (as Docker does), so TCP crosses the dataplane in 64 KiB super-frames.',
  );
  writeFileSync(path, lines.join('\n') + '\n');
}

// `npm run bench -- lb-live` (root): the load balancer in its lab (src/lab/
// lb-topology.ts, the e2e tests' topology: client -> balancer -> three
// backends on a bridge), the dataplane against Linux on the same traffic
// (issue 11's live benchmark). Subjects:
//   - Linux: nftables DNAT to `numgen random mod 3 map { 0 : b1, 1 : b2, 2 : b3 }`
//     in the router namespace (veth), kube-proxy's nftables mode (this kernel
//     has no IPVS); conntrack keeps each flow's backend;
//   - the dataplane, AF_PACKET ports, 1 worker: dsr-l2 (MAC rewrite, the
//     backends own the VIP) and nat (DNAT).
// The VIP is 203.0.113.10 udp/5201; each backend drops what it gets (an
// nftables rule: no ICMP back). 64-byte UDP from pacer.c (measure.ts; evenly
// paced with sendmmsg every 100 µs, the same generator for every subject) in
// the first client, counted on the generator's interface and summed over the
// backends':
//   - established: 1,024 flows over and over (after the first round each packet
//     finds its flow: a conntrack / flow-table lookup and the rewrite);
//   - new flows: a new source port (and source address in 192.0.2.10-120)
//     every packet: each packet picks a backend and makes an entry.
// CPU per forwarded packet two ways, as nat-live and firewall-live: router
// CPU (the dataplane process; for the kernel, the machine's system+irq+softirq
// time less the same frames sent straight from generator to a sink that owns
// the VIP and drops them, just before: direct.ts, baseline.ts) and
// generator+router+sink CPU (the pacer, the dataplane process and ksoftirqd:
// the same per-process measure for both).
// Before measuring, 300 new flows at 1,000 pps must reach all three backends.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { nsRun, pidAlive } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { balancerProc, lbLabDown, lbLabUp, lbLogTail, lbStateDir, uniqueLbPrefix, type LbLabState } from '../../src/lab/lb-lab.js';
import type { LbPortIo, LbVipSpec } from '../../src/lab/lb-router-config.js';
import { LB_LAB } from '../../src/lab/lb-topology.js';
import type { LbModeName } from '../../src/lb/lb-config.js';
import { RESULTS_DIR } from '../lib/paths.js';
import { directDown, directUp, type DirectPair } from './direct.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { buildPacer, inNs, liveNameBase, liveOnly, liveRunOptions, neighborMac, sinkDiscard, warmUp, type PacedFrames } from './measure.js';
import { cpuRatio, pacedRates, pacedRun, ratioText } from './paced-run.js';
import { rateName } from './nat.js';

const SECONDS = 3;
const VIP_PORT = 5201;
const ESTABLISHED_FLOWS = 1024;
/** The dataplane's flow table: every new-flow run of a subject fits (3 s at the top rate, all rates). */
const DP_CONNTRACK = 1 << 21;
/** nf_conntrack_max is global (read-only in a namespace): unreplied UDP entries expire after 1 s instead, so one run's flows fit. */
const KERNEL_UDP_TIMEOUT_SEC = 1;
const PROBE_FLOWS = 300;
/** Seconds of uncounted established traffic before a subject's counted runs (DP_LB_WARMUP_SECONDS; 0: none). */
const WARMUP_SECONDS = Number(process.env.DP_LB_WARMUP_SECONDS ?? '6');

type Traffic = 'established' | 'new-flows';

interface Subject {
  label: string;
  subject: 'dataplane' | 'linux-kernel';
  mode: LbModeName;
  /** The balancer's ports (the kernel: veth). */
  io?: LbPortIo;
}

const SUBJECTS: Subject[] = [
  { label: 'linux nftables DNAT numgen random mod 3 (veth)', subject: 'linux-kernel', mode: 'nat' },
  { label: 'dataplane dsr-l2 afpacket 1w', subject: 'dataplane', mode: 'dsr-l2' },
  { label: 'dataplane nat afpacket 1w', subject: 'dataplane', mode: 'nat' },
  // AF_XDP: AF_PACKET's per-packet kernel work (the skb, the socket queue) is most of a balanced packet's CPU.
  { label: 'dataplane dsr-l2 afxdp 1w', subject: 'dataplane', mode: 'dsr-l2', io: 'afxdp' },
  { label: 'dataplane nat afxdp 1w', subject: 'dataplane', mode: 'nat', io: 'afxdp' },
];

/** DP_LB_RATES="50000,100000,200000" (pps; "max": as fast as trafgen sends). */
function rates(): number[] {
  return (process.env.DP_LB_RATES ?? '50000,100000,200000').split(',').map((r) => {
    if (r.trim() === 'max') return 0;
    const n = Number(r);
    if (!Number.isInteger(n) || n < 1) throw new Error(`DP_LB_RATES: '${r}' is not a rate in packets per second (or max)`);
    return n;
  });
}

interface Run {
  traffic: Traffic;
  rate: number;
  offeredPps: number;
  sinkPps: number;
  lossPct: number;
  /** Share of the sink's packets per backend (b1, b2, b3). */
  spread: number[];
  routerNsPerPacket: number;
  pathNsPerPacket: number;
  /** pathNsPerPacket less the same processes' CPU in the direct run (paced-run.ts). */
  forwardNsPerPacket: number;
  error?: string;
}

interface LbResult {
  label: string;
  subject: Subject['subject'];
  mode: LbModeName;
  runs: Run[];
  notes: string[];
}

/** pacer.c's frames: 64-byte UDP to the VIP; established: ESTABLISHED_FLOWS source ports from one address; new flows: a new (address in .10-.120, port) every packet. */
function pacedFrames(bin: string, dstMac: string, srcMac: string, traffic: Traffic): PacedFrames {
  const flags = ['-d', String(VIP_PORT), ...(traffic === 'established' ? ['-f', String(ESTABLISHED_FLOWS), '-s', '10000'] : ['-n', '10-120'])];
  return { bin, dstMac, srcMac, src: LB_LAB.clients[0].addr, dst: LB_LAB.vip, flags };
}

interface Gen {
  lab: LbLabState;
  /** pacer.c (buildPacer). */
  pacer: string;
  cfgFile: string;
  dstMac: string;
  srcMac: string;
  /** The dataplane's pid, 0 for the kernel. */
  routerPid: number;
  /** The kernel's baseline: generator straight to a sink. */
  direct: DirectPair;
}

/** pacer.c at `rate` pps for `seconds` (or `count` packets), counted on the generator's and the backends' interfaces (paced-run.ts). */
async function trafgenRun(g: Gen, traffic: Traffic, rate: number, seconds: number, count?: number): Promise<Run> {
  const n = g.lab.names;
  const r = await pacedRun({
    genNs: n.clients[0],
    dev: LB_LAB.hostIf,
    sinks: n.backends.map((ns) => ({ ns })),
    frames: pacedFrames(g.pacer, g.dstMac, g.srcMac, traffic),
    rate,
    seconds,
    count,
    routerPid: g.routerPid,
    direct: { pair: g.direct, frames: pacedFrames(g.pacer, g.direct.serverMac, g.direct.clientMac, traffic), cfgFile: g.cfgFile },
  });
  return {
    traffic,
    rate,
    ...pacedRates(r),
    spread: r.perSink.map((x) => (r.got > 0 ? x / r.got : 0)),
  };
}

/**
 * Each backend drops the benchmark's datagrams at its interface's ingress
 * (measure.ts sinkDiscard; counted on the interface first): no ICMP back, and
 * no IP/UDP receive work charged to whoever sends into the backend's veth
 * (the dataplane's sendto, but the generator in the kernel's direct baseline).
 */
function dropAt(namespaces: readonly string[]): void {
  for (const ns of namespaces) {
    const why = sinkDiscard(ns, LB_LAB.hostIf, VIP_PORT);
    if (why !== undefined) throw new Error(`backend ${ns}: ${why}`);
  }
}

async function measureSubject(s: Subject, prefix: string, direct: DirectPair, pacer: string): Promise<LbResult> {
  const result: LbResult = { label: s.label, subject: s.subject, mode: s.mode, runs: [], notes: [] };
  const vip: LbVipSpec = { mode: s.mode, protocol: 'udp', port: VIP_PORT, weights: [1, 1, 1] };
  let lab: LbLabState | undefined;
  try {
    const run = liveRunOptions();
    lab = await lbLabUp({ prefix, engine: s.subject === 'dataplane' ? 'dataplane' : 'kernel', vip, workers: 1, io: s.io, extraConfig: `conntrack: { capacity: ${DP_CONNTRACK} }\n`, readyTimeoutMs: 60_000, runArgs: run.args });
    if (s.subject === 'dataplane') result.notes.push(run.text);
    const n = lab.names;
    dropAt(n.backends);
    if (s.subject === 'linux-kernel') {
      nsRun(n.lb, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout=${KERNEL_UDP_TIMEOUT_SEC}`]);
      result.notes.push('router CPU: system+irq+softirq time of the machine, less the same frames straight from generator to a sink');
    }
    const dstMac = neighborMac(n.clients[0], LB_LAB.clients[0].portAddr);
    if (dstMac === undefined) throw new Error(`the client has no neighbor entry for ${LB_LAB.clients[0].portAddr} after a ping`);
    const srcMac = (JSON.parse(inNs(n.clients[0], ['ip', '-j', 'link', 'show', 'dev', LB_LAB.hostIf]).out) as { address: string }[])[0].address;
    const routerPid = s.subject === 'dataplane' ? balancerProc(lab).pid : 0;
    const gen: Gen = { lab, pacer, cfgFile: join(lbStateDir(prefix), 'trafgen.cfg'), dstMac, srcMac, routerPid, direct };
    // The balancer must balance: new flows reach every backend.
    const probe = await trafgenRun(gen, 'new-flows', 1000, 2, PROBE_FLOWS);
    if (probe.lossPct > 5 || probe.spread.some((x) => x < 0.15)) {
      result.notes.push(`the probe was not balanced: ${PROBE_FLOWS} new flows, loss ${probe.lossPct.toFixed(0)}%, spread ${probe.spread.map((x) => x.toFixed(2)).join('/')}${routerPid > 0 ? `; log: ${lbLogTail(balancerProc(lab), 5).replace(/\n/g, ' / ')}` : ''}`);
      return result;
    }
    // Uncounted traffic first (measure.ts warmUp): V8 compiles the forwarding path in the first seconds of traffic.
    if (WARMUP_SECONDS > 0) await warmUp(n.clients[0], LB_LAB.hostIf, pacedFrames(pacer, dstMac, srcMac, 'established'), WARMUP_SECONDS);
    for (const traffic of ['established', 'new-flows'] as const) {
      for (const rate of rates()) {
        const run = await trafgenRun(gen, traffic, rate, SECONDS);
        result.runs.push(run);
        if (run.error !== undefined) result.notes.push(`${traffic} ${rateName(rate)} pps: ${run.error}`);
      }
    }
    if (routerPid > 0 && !pidAlive(routerPid)) result.notes.push('the dataplane died during the run');
  } catch (e) {
    result.notes.push(`failed: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' / ').slice(0, 600)}`);
  } finally {
    // The direct pair stays up for the next subject's baselines (runLbLiveBench removes it).
    await lbLabDown(prefix);
  }
  return result;
}

function rowsOf(r: LbResult): BenchRow[] {
  const rows: BenchRow[] = r.runs.map((u) => ({
    name: `lb-live/${u.traffic} udp64 ${rateName(u.rate)} pps (${r.label})`,
    subject: r.subject,
    value: u.sinkPps / 1e6,
    unit: 'Mpps',
    nsPerOp: u.routerNsPerPacket,
    notes: `sink ${Math.round(u.sinkPps)} pps of ${Math.round(u.offeredPps)} offered, loss ${u.lossPct.toFixed(1)}%, spread ${u.spread.map((x) => x.toFixed(2)).join('/')}; ns/op = router CPU ns per forwarded packet; generator+router+sink CPU ${u.pathNsPerPacket.toFixed(0)} ns/packet, forwarding CPU (that less the direct run) ${u.forwardNsPerPacket.toFixed(0)} ns/packet`,
  }));
  const notes = r.notes.join('; ');
  if (rows.length === 0) rows.push({ name: `lb-live/udp64 (${r.label})`, subject: r.subject, value: NaN, unit: 'Mpps', notes: notes || 'not measured' });
  else if (notes !== '') rows[rows.length - 1].notes += `; ${notes}`;
  return rows;
}

interface Ratio {
  line: string;
  router: number;
  path: number;
  forward: number;
}

/** The dataplane against nftables, run by run at the same traffic and offered rate. */
function compare(dp: LbResult, k: LbResult, cpu: string): Ratio[] {
  const out: Ratio[] = [];
  for (const u of dp.runs) {
    const v = k.runs.find((x) => x.traffic === u.traffic && x.rate === u.rate);
    if (v === undefined || !(u.sinkPps > 0) || !(v.sinkPps > 0)) continue;
    const router = cpuRatio(u.routerNsPerPacket, v.routerNsPerPacket);
    const path = cpuRatio(u.pathNsPerPacket, v.pathNsPerPacket);
    const forward = cpuRatio(u.forwardNsPerPacket, v.forwardNsPerPacket);
    out.push({
      router,
      path,
      forward,
      line: `${dp.label} / nftables DNAT, ${u.traffic} ${rateName(u.rate)} pps (${cpu}): sink ${(u.sinkPps / v.sinkPps).toFixed(2)}x (${Math.round(u.sinkPps)} vs ${Math.round(v.sinkPps)} pps), forwarding CPU ${ratioText(forward)} (${u.forwardNsPerPacket.toFixed(0)} vs ${v.forwardNsPerPacket.toFixed(0)} ns), router CPU ${ratioText(router)} (${u.routerNsPerPacket.toFixed(0)} vs ${v.routerNsPerPacket.toFixed(0)} ns), generator+router+sink CPU ${ratioText(path)} (${u.pathNsPerPacket.toFixed(0)} vs ${v.pathNsPerPacket.toFixed(0)} ns)`,
    });
  }
  return out;
}

function writeMarkdown(path: string, results: readonly LbResult[], cpu: string, ratios: readonly string[], loads: readonly number[]): void {
  const f = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const lines = [
    '# Live load balancer: client ns -> balancer -> three backends on a bridge',
    '',
    `${new Date().toISOString()}, ${process.version}, ${cpu}, ${os.cpus().length} CPUs. 64-byte UDP to the VIP ${LB_LAB.vip}:${VIP_PORT}, weights 1:1:1, ${SECONDS} s per rate.`,
    `Generator: bench/live/pacer.c (sendmmsg every 100 µs to an absolute deadline) for every subject and rate. Established: ${ESTABLISHED_FLOWS} flows over and over. New flows: a new source (address in 192.0.2.10-120, port) every packet.`,
    `Load average (1 min) ${loads.map((x) => x.toFixed(1)).join(' at the start, ')} at the end: other engineers' jobs share the 2 cores. The dataplane: ${liveRunOptions().text} (measure.ts liveRunOptions says why).`,
    `nftables: \`ip daddr ${LB_LAB.vip} udp dport ${VIP_PORT} dnat to numgen random mod 3 map { 0 : b1, 1 : b2, 2 : b3 }\` (kube-proxy's nftables mode); conntrack's UDP timeout ${KERNEL_UDP_TIMEOUT_SEC} s (nf_conntrack_max is global). The dataplane: conntrack capacity ${DP_CONNTRACK}.`,
    '',
    '| balancer | traffic | asked pps | sink kpps | offered kpps | loss % | spread b1/b2/b3 | router CPU ns/pkt | generator+router+sink CPU ns/pkt | forwarding CPU ns/pkt | notes |',
    '|---|---|---|---:|---:|---:|---|---:|---:|---:|---|',
  ];
  for (const r of results) {
    if (r.runs.length === 0) lines.push(`| ${r.label} | - | - | - | - | - | - | - | - | - | ${r.notes.join('; ').replace(/\|/g, '/')} |`);
    r.runs.forEach((u, i) => {
      const last = i === r.runs.length - 1;
      lines.push(
        `| ${r.label} | ${u.traffic} | ${rateName(u.rate)} | ${f(u.sinkPps / 1000, 1)} | ${f(u.offeredPps / 1000, 1)} | ${f(u.lossPct, 1)} | ${u.spread.map((x) => x.toFixed(2)).join('/')} | ${f(u.routerNsPerPacket)} | ${f(u.pathNsPerPacket)} | ${f(u.forwardNsPerPacket)} | ${last ? r.notes.join('; ').replace(/\|/g, '/') : ''} |`,
      );
    });
  }
  lines.push('', '## Dataplane / nftables DNAT at the same traffic and offered rate', '', ...ratios.map((l) => `- ${l}`));
  lines.push(
    '',
    "Router CPU: the dataplane process (utime+stime); for the kernel, the machine's system+irq+softirq time (/proc/stat) less",
    'the same frames (same rate and length) straight from the generator to a sink that owns the VIP and drops them, over one',
    "veth pair, run just before and scaled to the routed run's offered packets: the generator's and the sink's kernel work",
    "cancels (other jobs' noise does not: a shared machine).",
    'Generator+router+sink CPU: the pacer, the dataplane process and ksoftirqd per forwarded packet: the same measure for',
    'both, unaffected by other jobs; the kernel forwards in softirq, charged to the task it interrupts (mostly the sender).',
    "Forwarding CPU: generator+router+sink less the generator's and ksoftirqd's CPU in the direct run (the same frames, run",
    "just before every routed run, scaled to its offered packets): what the balancer adds, per process for both. The targets",
    "are judged on it: on a shared machine the kernel's router CPU holds other jobs' system time (it can come out negative);",
    'a ratio to a figure that is not positive is not formed ("-").',
  );
  writeFileSync(path, lines.join('\n') + '\n');
}

export async function runLbLiveBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const why = labUnavailable() ?? missingToolsMessage(['nft', 'ping', 'ethtool', 'sysctl']);
  if (why !== undefined) return { rows: [{ name: 'lb-live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: `not run: ${why}` }], targets: [] };
  const prefix = await uniqueLbPrefix(liveNameBase('lbb'));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const results: LbResult[] = [];
  const loads = [os.loadavg()[0]];
  const tmp = mkdtempSync(join(os.tmpdir(), 'dataplane-lb-live-'));
  try {
    const pacer = buildPacer(tmp);
    if (typeof pacer !== 'string') return { rows: [{ name: 'lb-live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: `not run: ${pacer.error}` }], targets: [] };
    // The kernel's baseline: the same frames straight to a sink that, as the backends do, owns the VIP and drops them.
    const pair = directUp(prefix);
    nsRun(pair.server, 'ip', ['addr', 'add', `${LB_LAB.vip}/32`, 'dev', 'lo']);
    dropAt([pair.server]);
    for (const s of SUBJECTS.filter(liveOnly)) {
      const t0 = Date.now();
      console.error(`bench lb-live: ${s.label} ...`);
      const r = await measureSubject(s, prefix, pair, pacer);
      const top = (t: Traffic) => Math.round(Math.max(0, ...r.runs.filter((u) => u.traffic === t).map((u) => u.sinkPps)));
      console.error(`bench lb-live: ${s.label}: ${r.runs.length === 0 ? `no figures (${r.notes.join('; ')})` : `established ${top('established')} pps, new flows ${top('new-flows')} pps at best`} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      results.push(r);
    }
  } finally {
    await lbLabDown(prefix);
    directDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  loads.push(os.loadavg()[0]);
  const k = results.find((r) => r.subject === 'linux-kernel');
  const ratios: string[] = [];
  const targets: BenchTarget[] = [];
  for (const dp of results.filter((r) => r.subject === 'dataplane')) {
    const cs = k === undefined ? [] : compare(dp, k, cpu);
    ratios.push(...cs.map((c) => c.line));
    const measured = cs.length === 0 ? `${dp.label}: not compared (${[...dp.notes, ...(k?.notes ?? ['no nftables run'])].join('; ') || 'no common rate'})` : cs.map((c) => c.line).join('; ');
    targets.push({ description: `${dp.label}: forwarding CPU per packet <= 0.67x nftables DNAT's, every traffic and rate (${cpu})`, met: cs.length > 0 && cs.every((c) => c.forward <= 0.67), measured });
    targets.push({
      description: `${dp.label}: router CPU per packet <= 0.67x nftables DNAT's, every traffic and rate (${cpu})`,
      met: cs.length > 0 && cs.every((c) => c.router <= 0.67),
      measured: cs.length === 0 ? measured : cs.map((c) => ratioText(c.router)).join(', '),
    });
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeMarkdown(join(RESULTS_DIR, 'lb-live.md'), results, cpu, ratios, loads);
  return { rows: results.flatMap(rowsOf), targets };
}

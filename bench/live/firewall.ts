// `npm run bench -- firewall-live` (root): the stateful firewall in the lab
// topology, the dataplane against nftables on the same traffic and the same
// rules (issue 10's live benchmark). Client 192.0.2.10 -> router -> server
// 198.51.100.10; the rule sets (firewall-rules.ts) have 10 / 1,000 / 10,000
// ingress rules over ~1,000 endpoints, and the rule that admits the
// benchmark's traffic is the last to match. Subjects:
//   - the Linux kernel in the router namespace (veth): no nftables; nftables
//     `inet` forward chain `ct state established,related accept` then the
//     rules as a linear chain; the same rules as a verdict map on the
//     destination to per-endpoint interval sets ("maps"); and (largest rule
//     set only) in one concatenated interval set,
//   - the dataplane (TAP and AF_PACKET, 1 worker): no firewall (conntrack
//     off), the admitting rule alone, and the same rule sets.
// Two kinds of traffic, 64-byte UDP to port 5201, counted on the generator's
// and the sink's interfaces:
//   - established: one iperf3 UDP flow at fixed rates and unlimited, as
//     nat-live (nat.ts udpRun): the rules judge its first packet only (iperf3
//     answers the flow's first datagram, so the kernel's conntrack entry is
//     established too);
//   - new flows: trafgen, rate-limited, every packet from another source
//     port (and source address in 192.0.2.0/24): each one is judged.
// CPU per forwarded packet two ways, as nat-live: router CPU (the dataplane
// process; for the kernel, the machine's system+irq+softirq time less the
// same load sent straight from generator to sink just before: direct.ts,
// baseline.ts) and generator+router+sink CPU (iperf3 or trafgen, the dataplane
// process and ksoftirqd: the same per-process measure for both routers).
// Before measuring, each subject must pass the admitted traffic and (with a
// firewall) drop a probe to a port no rule opens.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, stateDir, type LabState } from '../../src/lab/lab.js';
import { nsRun, nsTry, pidAlive, sleep } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { LAB, type LabPorts } from '../../src/lab/topology.js';
import { RESULTS_DIR } from '../lib/paths.js';
import { directDown, directUp, type DirectPair } from './direct.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { BENCH_DPORT, benchRuleSet, dataplaneYaml, nftLinear, nftMaps, nftSets, type BenchRuleSet } from './firewall-rules.js';
import { buildPacer, inNs, liveNameBase, linkStats, liveOnly, liveRunOptions, macOf, neighborMac, sinkDiscard, warmUp } from './measure.js';
import { cpuRatio, pacedRates, pacedRun, ratioText } from './paced-run.js';
import { rateName, udpRun, type UdpRun } from './nat.js';

const SECONDS = 3;
/** The dataplane's flow table: every new-flow run's flows fit (3 s at the top rate, all rates of one subject). */
const DP_CONNTRACK = 1 << 21;
/** The kernel's nf_conntrack_max is global (read-only in a namespace): unreplied UDP entries expire after 1 s instead, so one run's flows fit. */
const KERNEL_UDP_TIMEOUT_SEC = 1;
/**
 * The same timeout during the established runs. A UDP entry that saw its
 * reply keeps the unreplied timeout for its first 2 s, so at 1 s a pause of
 * a second between the reply (establish) and the run (a slow spawn at load
 * 15) ended it: every packet was then new again and walked the rules, and
 * nftables linear at 10,000 rules "forwarded" its established flow at 0.8
 * kpps, one set at 15 kpps. Set back to KERNEL_UDP_TIMEOUT_SEC for the new flows.
 */
const KERNEL_ESTABLISHED_UDP_TIMEOUT_SEC = 30;
/** A port no rule opens: with a firewall, the probe to it must not reach the sink. */
const DENIED_DPORT = 7;
const PROBE_FLOWS = 100;

type Firewall = 'none' | 'dataplane' | 'nft-linear' | 'nft-sets' | 'nft-maps';

interface Subject {
  label: string;
  subject: 'dataplane' | 'linux-kernel';
  ports: LabPorts;
  firewall: Firewall;
  /** Rules in the set (undefined: no firewall). */
  rules?: number;
}

function envList(name: string, fallback: string): number[] {
  return (process.env[name] ?? fallback).split(',').map((r) => {
    if (r.trim() === 'max') return 0;
    const n = Number(r);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: '${r}' is not a positive whole number${name.endsWith('RULES') ? '' : ' (or max)'}`);
    return n;
  });
}

/** DP_FW_RULES="10,1000,10000", DP_FW_RATES="100000,max" (established: the rules judge its first packet only, 2 rates), DP_FW_NEW_RATES="20000,50000,150000" (new flows). */
const ruleCounts = () => envList('DP_FW_RULES', '10,1000,10000');
/** Seconds of uncounted traffic before a dataplane subject's counted runs (DP_FW_WARMUP_SECONDS; 0: none). */
const WARMUP_SECONDS = Number(process.env.DP_FW_WARMUP_SECONDS ?? '6');
const establishedRates = () => envList('DP_FW_RATES', '100000,max');
const newFlowRates = () => envList('DP_FW_NEW_RATES', '20000,50000,150000').filter((r) => r > 0);

function subjects(): Subject[] {
  const counts = ruleCounts();
  const most = Math.max(...counts);
  const s: Subject[] = [{ label: 'linux kernel, no nftables', subject: 'linux-kernel', ports: 'afpacket', firewall: 'none' }];
  for (const n of counts) s.push({ label: `nftables linear, ${n} rules`, subject: 'linux-kernel', ports: 'afpacket', firewall: 'nft-linear', rules: n });
  for (const n of counts) s.push({ label: `nftables maps, ${n} rules`, subject: 'linux-kernel', ports: 'afpacket', firewall: 'nft-maps', rules: n });
  // One set holding every rule: the largest rule set only (its lookup grows with the rules; the maps are the fast way).
  s.push({ label: `nftables one set, ${most} rules`, subject: 'linux-kernel', ports: 'afpacket', firewall: 'nft-sets', rules: most });
  for (const ports of ['afpacket', 'afxdp', 'tap'] as const) {
    s.push({ label: `dataplane ${ports} 1w, no firewall`, subject: 'dataplane', ports, firewall: 'none' });
    // TAP and AF_XDP: the largest set only (the port costs the same per packet whatever the rules; AF_PACKET shows the scaling).
    for (const n of ports === 'afpacket' ? [1, ...counts] : [most]) s.push({ label: `dataplane ${ports} 1w, ${n} rules`, subject: 'dataplane', ports, firewall: 'dataplane', rules: n });
  }
  return s;
}

interface FwResult {
  label: string;
  subject: Subject['subject'];
  firewall: Firewall;
  rules?: number;
  established: UdpRun[];
  newFlows: UdpRun[];
  /** nft -f of the rule set, seconds. */
  loadSec?: number;
  notes: string[];
}

/** pacer.c's traffic: new flows, a new (source address in 192.0.2.20-250, port) every packet; established: one flow. */
const newFlowFlags = (dport: number) => ['-d', String(dport), '-n', '20-250'];
const ESTABLISHED_SPORT = 40000;
const establishedFlags = ['-d', String(BENCH_DPORT), '-f', '1', '-s', String(ESTABLISHED_SPORT)];

/**
 * Makes the established flow established for both routers: a few of its
 * frames, then one datagram back from the server, just before each counted
 * run (after the kernel's direct baseline: this kernel's UDP entries are
 * kept for 1 s, and those 3 s would end it). Without a reply Linux
 * conntrack keeps the flow NEW (`ct state established` never matches), so
 * every packet of it walked the whole nftables chain, while the dataplane
 * judges a flow's first packet only (the verdict is cached in the flow
 * entry): "established" was then a new-flow test for the kernel alone.
 */
async function establish(g: Gen): Promise<string | undefined> {
  const n = g.lab.names;
  const frames = { bin: g.pacer, dstMac: g.dstMac, srcMac: g.srcMac, src: LAB.client.addr, dst: LAB.server.addr, flags: establishedFlags };
  const first = await pacedRun({ genNs: n.client, dev: LAB.hostIf, sinks: [{ ns: n.server }], frames, rate: 1000, seconds: 1, count: 5, routerPid: g.routerPid });
  if (first.error !== undefined) return `established: the flow's first frames: ${first.error}`;
  const py = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('${LAB.server.addr}', ${BENCH_DPORT}))\ns.sendto(b'reply', ('${LAB.client.addr}', ${ESTABLISHED_SPORT}))\n`;
  const before = linkStats(n.client, LAB.hostIf).rxPackets;
  const r = nsTry(n.server, 'python3', ['-c', py]);
  if (r.status !== 0) return `established: the reply from the server: ${r.output.trim().split('\n').slice(-1)[0] ?? 'failed'}`;
  for (let i = 0; i < 20 && linkStats(n.client, LAB.hostIf).rxPackets === before; i++) await sleep(50);
  return linkStats(n.client, LAB.hostIf).rxPackets === before ? 'established: the reply from the server did not reach the client' : undefined;
}

interface Gen {
  lab: LabState;
  /** pacer.c (buildPacer). */
  pacer: string;
  cfgFile: string;
  dstMac: string;
  srcMac: string;
  routerPid: number;
  /** The kernel's baseline: generator straight to a sink. */
  direct: DirectPair;
}

/** New flows from pacer.c at `rate` pps for `seconds` (or `count` packets), counted on the generator's and sink's interfaces (paced-run.ts). */
async function trafgenRun(g: Gen, rate: number, dport: number, seconds: number, count?: number): Promise<UdpRun> {
  const frames = (dstMac: string, srcMac: string) => ({ bin: g.pacer, dstMac, srcMac, src: LAB.client.addr, dst: LAB.server.addr, flags: newFlowFlags(dport) });
  const r = await pacedRun({
    genNs: g.lab.names.client,
    dev: LAB.hostIf,
    sinks: [{ ns: g.lab.names.server }],
    frames: frames(g.dstMac, g.srcMac),
    rate,
    seconds,
    count,
    routerPid: g.routerPid,
    direct: { pair: g.direct, frames: frames(g.direct.serverMac, g.direct.clientMac), cfgFile: g.cfgFile },
  });
  return {
    rate,
    ...pacedRates(r),
  };
}

function routerConfig(s: Subject, set: BenchRuleSet | undefined): string | undefined {
  return s.firewall === 'dataplane' && set !== undefined ? dataplaneYaml(set, DP_CONNTRACK) : undefined;
}

async function measureSubject(s: Subject, prefix: string, direct: DirectPair, pacer: string): Promise<FwResult> {
  const result: FwResult = { label: s.label, subject: s.subject, firewall: s.firewall, rules: s.rules, established: [], newFlows: [], notes: [] };
  try {
    const set = s.rules === undefined ? undefined : benchRuleSet(s.rules);
    const run = liveRunOptions();
    const lab = await labUp({
      prefix,
      ports: s.ports,
      engine: s.subject === 'dataplane' ? 'dataplane' : 'kernel',
      workers: 1,
      extraConfig: routerConfig(s, set),
      readyTimeoutMs: 120_000,
      realtime: run.realtime,
      spinUs: run.spinUs,
      coalesceUs: run.coalesceUs,
    });
    if (s.subject === 'dataplane') result.notes.push(run.text);
    const n = lab.names;
    if (set !== undefined && s.firewall.startsWith('nft-')) {
      const file = join(stateDir(prefix), 'rules.nft');
      writeFileSync(file, s.firewall === 'nft-linear' ? nftLinear(set) : s.firewall === 'nft-maps' ? nftMaps(set) : nftSets(set));
      const t0 = performance.now();
      nsRun(n.router, 'nft', ['-f', file], { timeoutMs: 120_000 });
      result.loadSec = (performance.now() - t0) / 1000;
      nsRun(n.router, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout=${KERNEL_UDP_TIMEOUT_SEC}`]);
      result.notes.push(`nft -f ${s.rules} rules: ${result.loadSec.toFixed(2)} s`);
    }
    // Few ICMP port unreachables from the sink (nothing listens on most runs' port).
    inNs(n.server, ['sysctl', '-qw', 'net.ipv4.icmp_msgs_per_sec=10']);
    // The sink drops the load at its ingress (measure.ts sinkDiscard), as the direct pair's does.
    const sinkWhy = sinkDiscard(n.server, LAB.hostIf, BENCH_DPORT);
    if (sinkWhy !== undefined) throw new Error(`sink: ${sinkWhy}`);
    const ping = inNs(n.client, ['ping', '-n', '-c3', '-i0.2', '-W1', LAB.server.addr], 10_000);
    if (!/ [1-9]\d* received/.test(ping.out)) {
      result.notes.push(`no ping reply from ${LAB.server.addr} through the router: ${ping.out.trim().split('\n').slice(-2).join(' ')}`);
      return result;
    }
    const dstMac = neighborMac(n.client, LAB.lan.addr);
    if (dstMac === undefined) throw new Error(`the client has no neighbor entry for ${LAB.lan.addr} after a ping`);
    const gen: Gen = { lab, pacer, cfgFile: join(stateDir(prefix), 'trafgen.cfg'), dstMac, srcMac: macOf(n.client, LAB.hostIf), routerPid: s.subject === 'dataplane' ? lab.pid : 0, direct };
    // The firewall must filter: 100 new flows to the admitted port pass, 100 to a port no rule opens do not
    // (at 500 pps: slow enough for a router that judges 1,000 first packets a second).
    const pass = await trafgenRun(gen, 500, BENCH_DPORT, 2, PROBE_FLOWS);
    const deny = await trafgenRun(gen, 500, DENIED_DPORT, 2, PROBE_FLOWS);
    if (pass.lossPct > 5) {
      result.notes.push(`the admitted probe did not pass: ${pass.lossPct.toFixed(0)}% of ${PROBE_FLOWS} new flows to port ${BENCH_DPORT} lost`);
      return result;
    }
    if (s.firewall !== 'none' && deny.lossPct < 95) {
      result.notes.push(`the firewall does not filter: ${(100 - deny.lossPct).toFixed(0)}% of ${PROBE_FLOWS} new flows to port ${DENIED_DPORT} (no rule opens it) reached the sink`);
      return result;
    }
    if (s.subject === 'linux-kernel') result.notes.push('router CPU: system+irq+softirq time of the machine, less the same load straight from generator to sink');
    const udpTimeout = (sec: number) => {
      if (s.subject === 'linux-kernel') nsRun(n.router, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout=${sec}`]);
    };
    udpTimeout(KERNEL_ESTABLISHED_UDP_TIMEOUT_SEC);
    // Uncounted traffic first (measure.ts warmUp), the dataplane only: V8 compiles its forwarding path in the
    // first seconds of traffic; the kernel has nothing to compile, and its unreplied frames would walk a
    // 10,000-rule chain each (~1.3 kpps), so its warm-up would run to warmUp's time-out.
    if (s.subject === 'dataplane' && WARMUP_SECONDS > 0) await warmUp(n.client, LAB.hostIf, { bin: pacer, dstMac, srcMac: gen.srcMac, src: LAB.client.addr, dst: LAB.server.addr, flags: establishedFlags }, WARMUP_SECONDS);
    for (const rate of establishedRates()) {
      const run = await udpRun(lab, rate, gen.routerPid, direct, { pacer, dstMac, srcMac: gen.srcMac, flags: establishedFlags, cfgFile: gen.cfgFile, beforeRun: () => establish(gen) });
      result.established.push(run);
      if (run.error !== undefined) result.notes.push(`established ${rateName(rate)} pps: ${run.error}`);
    }
    udpTimeout(KERNEL_UDP_TIMEOUT_SEC);
    for (const rate of newFlowRates()) {
      const run = await trafgenRun(gen, rate, BENCH_DPORT, SECONDS);
      result.newFlows.push(run);
      if (run.error !== undefined) result.notes.push(`new flows ${rateName(rate)} pps: ${run.error}`);
    }
    if (s.subject === 'dataplane' && !pidAlive(lab.pid)) result.notes.push('the dataplane died during the run');
  } catch (e) {
    result.notes.push(`failed: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' / ').slice(0, 600)}`);
  } finally {
    // The direct pair stays up for the next subject's baseline (runFirewallLiveBench removes it).
    await labDown(prefix);
  }
  return result;
}

function rowsOf(r: FwResult): BenchRow[] {
  const rows: BenchRow[] = [];
  const notes = r.notes.join('; ');
  const add = (kind: string, u: UdpRun) =>
    rows.push({
      name: `firewall-live/${kind} udp64 ${rateName(u.rate)} pps (${r.label})`,
      subject: r.subject,
      value: u.sinkPps / 1e6,
      unit: 'Mpps',
      nsPerOp: u.routerNsPerPacket,
      notes: `sink ${Math.round(u.sinkPps)} pps of ${Math.round(u.offeredPps)} offered, loss ${u.lossPct.toFixed(1)}%; ns/op = router CPU ns per forwarded packet; generator+router+sink CPU ${u.pathNsPerPacket.toFixed(0)} ns/packet, forwarding CPU (that less the direct run) ${u.forwardNsPerPacket.toFixed(0)} ns/packet`,
    });
  for (const u of r.established) add('established', u);
  for (const u of r.newFlows) add('new-flows', u);
  if (rows.length === 0) rows.push({ name: `firewall-live/udp64 (${r.label})`, subject: r.subject, value: NaN, unit: 'Mpps', notes: notes || 'not measured' });
  else if (notes !== '') rows[rows.length - 1].notes += `; ${notes}`;
  return rows;
}

function writeMarkdown(path: string, results: readonly FwResult[], cpu: string, ratios: string[], loads: readonly number[]): void {
  const f = (n: number | undefined, d = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
  const lines = [
    '# Live firewall: client ns -> router (firewall) -> server ns',
    '',
    `${new Date().toISOString()}, ${process.version}, ${cpu}, ${os.cpus().length} CPUs. 64-byte UDP to port ${BENCH_DPORT}, ${SECONDS} s per rate.`,
    'Generator: bench/live/pacer.c (sendmmsg every 100 µs to an absolute deadline; "max": as fast as it sends) for every subject and rate. Established: one UDP flow, answered once by the server before the runs (so conntrack calls it established). New flows: a new source (address in 192.0.2.20-250, port) every packet. The sink drops the load at its ingress.',
    `Load average (1 min) ${loads.map((x) => x.toFixed(1)).join(' at the start, ')} at the end: other engineers' jobs share the 2 cores. The dataplane: ${liveRunOptions().text} (measure.ts liveRunOptions says why).`,
    `Rule sets: n - 1 rules that do not match (RouteViews source prefixes, ~1,000 endpoints in 198.18.0.0/15, TCP/UDP ports), then the admitting rule, last.`,
    'nftables (router namespace, veth): `inet` forward chain, `ct state established,related accept` first; "linear": one rule per rule; "maps": a verdict map on the destination jumps to the endpoint\'s chain, one `meta l4proto . ip saddr . th dport` interval set each; "one set": every rule in one `meta l4proto . ip saddr . ip daddr . th dport` interval set; then `ip daddr @endpoints drop` (the implied ingress deny).',
    `Conntrack: the dataplane's capacity ${DP_CONNTRACK}; the kernel's nf_conntrack_max is global and read-only in a namespace, so unreplied UDP entries expire after ${KERNEL_UDP_TIMEOUT_SEC} s in the router namespace during the new-flow runs (${KERNEL_ESTABLISHED_UDP_TIMEOUT_SEC} s during the established runs: the flow stays established from the reply to the run).`,
    '',
    '| router | traffic | offered | sink kpps | offered kpps | loss % | router CPU ns/pkt | generator+router+sink CPU ns/pkt | forwarding CPU ns/pkt | notes |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const runs = [...r.established.map((u) => ['established', u] as const), ...r.newFlows.map((u) => ['new flows', u] as const)];
    if (runs.length === 0) lines.push(`| ${r.label} | - | - | - | - | - | - | - | - | ${r.notes.join('; ').replace(/\|/g, '/')} |`);
    runs.forEach(([kind, u], i) => {
      const last = i === runs.length - 1;
      lines.push(
        `| ${r.label} | ${kind} | ${rateName(u.rate)} | ${f(u.sinkPps / 1000, 1)} | ${f(u.offeredPps / 1000, 1)} | ${f(u.lossPct, 1)} | ${f(u.routerNsPerPacket)} | ${f(u.pathNsPerPacket)} | ${f(u.forwardNsPerPacket)} | ${last ? r.notes.join('; ').replace(/\|/g, '/') : ''} |`,
      );
    });
  }
  lines.push('', '## Dataplane / nftables at the same offered rate', '', `CPU: ${cpu}.`, '', ...ratios.map((l) => `- ${l}`));
  lines.push(
    '',
    "Router CPU: the dataplane process (utime+stime); for the kernel, the machine's system+irq+softirq time (/proc/stat) less",
    'the same load (iperf3 or trafgen, same rate and length) straight from the generator to a sink over one veth pair, run',
    "just before and scaled to the routed run's offered packets: the generator's and the sink's kernel work cancels (other",
    "jobs' noise does not: a shared machine).",
    'Generator+router+sink CPU: iperf3 client and server (their own getrusage) or trafgen, the dataplane process, and',
    'ksoftirqd, per forwarded packet: the same measure for both, unaffected by other jobs; the kernel forwards in softirq,',
    'charged to the task it interrupts (mostly the sender), so it is counted there.',
    "Forwarding CPU: generator+router+sink less the generator's and ksoftirqd's CPU in the direct run (the same frames, run",
    "just before every routed run, scaled to its offered packets): what the router adds, per process for both. The targets",
    "are judged on it: on a shared machine the kernel's router CPU holds other jobs' system time (it can come out negative);",
    'a ratio to a figure that is not positive is not formed ("-").',
  );
  writeFileSync(path, lines.join('\n') + '\n');
}

/** Dataplane vs one nftables subject, run by run at the same offered rate: ratios of sink pps and of CPU per packet. */
function compare(dp: FwResult, k: FwResult, kind: 'established' | 'newFlows', cpu: string): { line: string; sink: number; path: number; router: number; forward: number; rate: number }[] {
  const out: { line: string; sink: number; path: number; router: number; forward: number; rate: number }[] = [];
  for (const u of dp[kind]) {
    const v = k[kind].find((x) => x.rate === u.rate);
    if (v === undefined || !(u.sinkPps > 0) || !(v.sinkPps > 0)) continue;
    const sink = u.sinkPps / v.sinkPps;
    const router = cpuRatio(u.routerNsPerPacket, v.routerNsPerPacket);
    const path = cpuRatio(u.pathNsPerPacket, v.pathNsPerPacket);
    const forward = cpuRatio(u.forwardNsPerPacket, v.forwardNsPerPacket);
    out.push({
      rate: u.rate,
      sink,
      router,
      path,
      forward,
      line: `${dp.label} / ${k.label}, ${kind === 'newFlows' ? 'new flows' : 'established'} ${rateName(u.rate)} pps (${cpu}): sink ${sink.toFixed(2)}x (${Math.round(u.sinkPps)} vs ${Math.round(v.sinkPps)} pps), forwarding CPU ${ratioText(forward)} (${u.forwardNsPerPacket.toFixed(0)} vs ${v.forwardNsPerPacket.toFixed(0)} ns), router CPU ${ratioText(router)} (${u.routerNsPerPacket.toFixed(0)} vs ${v.routerNsPerPacket.toFixed(0)} ns), generator+router+sink CPU ${ratioText(path)} (${u.pathNsPerPacket.toFixed(0)} vs ${v.pathNsPerPacket.toFixed(0)} ns)`,
    });
  }
  return out;
}

export async function runFirewallLiveBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const why = labUnavailable() ?? missingToolsMessage(['nft', 'ping', 'ss', 'python3']);
  if (why !== undefined) return { rows: [{ name: 'firewall-live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: `not run: ${why}` }], targets: [] };
  const prefix = `${liveNameBase('fwb')}-${process.pid.toString(36)}`;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const results: FwResult[] = [];
  const loads = [os.loadavg()[0]];
  const tmp = mkdtempSync(join(os.tmpdir(), 'dataplane-fw-live-'));
  try {
    const pacer = buildPacer(tmp);
    if (typeof pacer !== 'string') return { rows: [{ name: 'firewall-live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: `not run: ${pacer.error}` }], targets: [] };
    // The kernel's baseline: the same load straight from generator to sink.
    const pair = directUp(prefix);
    const why = sinkDiscard(pair.server, LAB.hostIf, BENCH_DPORT);
    if (why !== undefined) throw new Error(`the direct sink: ${why}`);
    for (const s of subjects().filter(liveOnly)) {
      const t0 = Date.now();
      console.error(`bench firewall-live: ${s.label} ...`);
      const r = await measureSubject(s, prefix, pair, pacer);
      const top = (runs: UdpRun[]) => Math.round(Math.max(0, ...runs.map((u) => u.sinkPps)));
      console.error(
        `bench firewall-live: ${s.label}: ${r.established.length + r.newFlows.length === 0 ? `no figures (${r.notes.join('; ')})` : `established ${top(r.established)} pps, new flows ${top(r.newFlows)} pps at best`} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
      results.push(r);
    }
  } finally {
    await labDown(prefix);
    directDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  loads.push(os.loadavg()[0]);
  const most = Math.max(...ruleCounts());
  const ratios: string[] = [];
  const targets: BenchTarget[] = [];
  const dpAt = (n: number) => results.filter((r) => r.firewall === 'dataplane' && r.rules === n);
  const kAt = (fw: Firewall, n: number) => results.find((r) => r.firewall === fw && r.rules === n);
  for (const n of ruleCounts()) {
    for (const dp of dpAt(n)) {
      for (const fw of ['nft-linear', 'nft-maps', 'nft-sets'] as const) {
        const k = kAt(fw, n);
        if (k === undefined) continue;
        for (const kind of ['established', 'newFlows'] as const) ratios.push(...compare(dp, k, kind, cpu).map((c) => c.line));
      }
    }
  }
  // The issue's targets, on new flows (each packet judged; where the rules cost): at every rate both were offered,
  // "ahead": forwards at least as many packets and spends less CPU on each; "level": >= 95% of the packets, <= 1.1x the CPU.
  // CPU: forwarding CPU (generator+router+sink less the direct run's: the same per-process measure for both).
  const judge = (description: string, fw: Firewall, n: number, ok: (c: { sink: number; forward: number }) => boolean) => {
    const k = kAt(fw, n);
    for (const dp of dpAt(n)) {
      const cs = k === undefined ? [] : compare(dp, k, 'newFlows', cpu);
      targets.push({
        description: `${description} (${cpu})`,
        met: cs.length > 0 && cs.every(ok),
        measured: cs.length === 0 ? `${dp.label}: not compared (${[...dp.notes, ...(k?.notes ?? ['no nftables run'])].join('; ') || 'no common rate'})` : cs.map((c) => `${dp.label}, new flows ${rateName(c.rate)} pps: sink ${c.sink.toFixed(2)}x, forwarding CPU ${ratioText(c.forward)}`).join('; '),
      });
    }
  };
  judge(`ahead of nftables linear at ${most} rules: new flows, >= its sink pps and < its CPU per packet`, 'nft-linear', most, (c) => c.sink >= 0.99 && c.forward < 1);
  const level = (c: { sink: number; forward: number }) => c.sink >= 0.95 && c.forward <= 1.1;
  for (const n of ruleCounts()) judge(`level with nftables sets and maps at ${n} rules: new flows, >= 0.95x its sink pps and <= 1.1x its CPU per packet`, 'nft-maps', n, level);
  judge(`level with nftables one set at ${most} rules: new flows, >= 0.95x its sink pps and <= 1.1x its CPU per packet`, 'nft-sets', most, level);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeMarkdown(join(RESULTS_DIR, 'firewall-live.md'), results, cpu, ratios, loads);
  return { rows: results.flatMap(rowsOf), targets };
}

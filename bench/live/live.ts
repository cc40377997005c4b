// `npm run bench -- live` (root): generator namespace -> router -> sink
// namespace, the lab topology of `dataplane lab` (client = generator,
// server = sink). Measured in one run, in the same topology:
//   - the dataplane with TAP and AF_PACKET ports, 1 and 2 workers, with and
//     without offload (AF_PACKET with offload: the veths keep their defaults),
//   - the Linux kernel forwarding (ip_forward in the router namespace),
//   - DPDK testpmd (mac forwarding over net_af_packet vdevs on the router's
//     veth ends, --no-huge --no-pci), the C user-space peer.
// Each gets 64-byte UDP from trafgen (sink pps, loss), ping RTT p50/p99 at
// light load, iperf3 TCP for 3 s and CPU time per packet of the router.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { nsSpawn, pidAlive, sleep } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { LAB, type LabEngine, type LabPorts } from '../../src/lab/topology.js';
import { RESULTS_DIR } from '../lib/paths.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { writeLiveChart, writeLiveMarkdown, type LiveResult } from './report.js';
import { cpuSeconds, inNs, macOf, measurePps, measureRtt, measureTcp, neighborMac, systemCpuSeconds, trafgenConfig } from './measure.js';

const PPS_SECONDS = 3;
const TCP_SECONDS = 3;

interface Subject {
  label: string;
  subject: 'dataplane' | 'linux-kernel' | 'dpdk-testpmd';
  ports: LabPorts;
  engine: LabEngine;
  workers: number;
  testpmd?: boolean;
  offload?: boolean;
  busyPoll?: boolean;
}

const SUBJECTS: Subject[] = [
  { label: 'dataplane tap 1w', subject: 'dataplane', ports: 'tap', engine: 'dataplane', workers: 1 },
  { label: 'dataplane tap 2w', subject: 'dataplane', ports: 'tap', engine: 'dataplane', workers: 2 },
  { label: 'dataplane tap+offload 1w', subject: 'dataplane', ports: 'tap', engine: 'dataplane', workers: 1, offload: true },
  { label: 'dataplane tap+offload busy-poll 1w', subject: 'dataplane', ports: 'tap', engine: 'dataplane', workers: 1, offload: true, busyPoll: true },
  { label: 'dataplane afpacket 1w', subject: 'dataplane', ports: 'afpacket', engine: 'dataplane', workers: 1 },
  { label: 'dataplane afpacket 2w', subject: 'dataplane', ports: 'afpacket', engine: 'dataplane', workers: 2 },
  // The veths keep their default offloads (as Docker leaves a container's eth0): TCP in 64 KiB super-frames.
  { label: 'dataplane afpacket+offload 1w', subject: 'dataplane', ports: 'afpacket', engine: 'dataplane', workers: 1, offload: true },
  { label: 'dataplane afpacket+offload 2w', subject: 'dataplane', ports: 'afpacket', engine: 'dataplane', workers: 2, offload: true },
  { label: 'linux kernel (veth)', subject: 'linux-kernel', ports: 'afpacket', engine: 'kernel', workers: 1 },
  { label: 'dpdk-testpmd af_packet', subject: 'dpdk-testpmd', ports: 'afpacket', engine: 'none', workers: 1, testpmd: true },
];

/** Starts testpmd in the router namespace, forwarding lan <-> wan with rewritten MACs; resolves once it forwards. */
async function startTestpmd(lab: LabState, logDir: string): Promise<ChildProcess> {
  const n = lab.names;
  const clientMac = macOf(n.client, LAB.hostIf);
  const serverMac = macOf(n.server, LAB.hostIf);
  // testpmd answers no ARP: the hosts get the router ends' MACs statically.
  inNs(n.client, ['ip', 'neigh', 'replace', LAB.lan.addr, 'lladdr', macOf(n.router, 'lan'), 'dev', LAB.hostIf, 'nud', 'permanent']);
  inNs(n.server, ['ip', 'neigh', 'replace', LAB.wan.addr, 'lladdr', macOf(n.router, 'wan'), 'dev', LAB.hostIf, 'nud', 'permanent']);
  const args = [
    '--no-huge', '--no-pci', '-m', '256', '-l', '0-1', `--file-prefix=dpbench${process.pid}`,
    '--vdev=net_af_packet0,iface=lan', '--vdev=net_af_packet1,iface=wan', '--',
    // mac forwarding pairs ports 0 <-> 1; a frame sent on port P gets eth-peer P as destination.
    '--forward-mode=mac', `--eth-peer=0,${clientMac}`, `--eth-peer=1,${serverMac}`, '--auto-start', '--stats-period=1', '--no-lsc-interrupt', '--total-num-mbufs=16384',
  ];
  const log = openSync(join(logDir, 'testpmd.log'), 'w');
  const child = nsSpawn(n.router, 'dpdk-testpmd', args, { stdio: ['ignore', log, log] });
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (child.exitCode !== null) throw new Error(`dpdk-testpmd exited (${child.exitCode}); see ${join(logDir, 'testpmd.log')}`);
    if (inNs(n.client, ['ping', '-n', '-c1', '-W1', LAB.server.addr]).status === 0) return child;
  }
  child.kill('SIGKILL');
  throw new Error('dpdk-testpmd did not forward a ping within 10 s');
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.pid === undefined || child.exitCode !== null) return;
  child.kill('SIGINT');
  for (let i = 0; i < 50 && child.exitCode === null && pidAlive(child.pid); i++) await sleep(100);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function measureSubject(s: Subject, prefix: string, tmp: string): Promise<LiveResult> {
  const result: LiveResult = { label: s.label, subject: s.subject, ports: s.ports, workers: s.workers, notes: [] };
  let lab: LabState | undefined;
  let testpmd: ChildProcess | undefined;
  try {
    const opts = { prefix, ports: s.ports, engine: s.engine, workers: s.workers, offload: s.offload, busyPoll: s.busyPoll, readyTimeoutMs: 10_000 };
    try {
      lab = await labUp(opts);
    } catch (e) {
      // One retry, noted: a start-up failure is a finding, but should not cost the whole row.
      result.notes.push(`first start failed: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' / ').slice(0, 400)}`);
      lab = await labUp(opts);
    }
    if (s.testpmd) testpmd = await startTestpmd(lab, tmp);
    const n = lab.names;
    const routerPid = s.engine === 'dataplane' ? lab.pid : (testpmd?.pid ?? 0);
    const cpu = routerPid > 0 ? () => cpuSeconds(routerPid) : systemCpuSeconds;
    if (routerPid === 0) result.notes.push('CPU: system+softirq time of all CPUs (the kernel has no router process; includes generator and sink)');
    if (s.testpmd) result.notes.push('testpmd busy-polls a core whatever the load; mac forwarding does not decrement TTL');
    // Warm up ARP both ways, then learn the router's MAC as the generator sees it.
    inNs(n.client, ['ping', '-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
    const routerMac = neighborMac(n.client, LAB.lan.addr);
    const rtt = measureRtt(n.client, LAB.server.addr, 100);
    if (rtt) {
      result.rttP50Us = rtt.p50Us;
      result.rttP99Us = rtt.p99Us;
    } else result.notes.push('ping: no replies');
    const tcp = await measureTcp(n.client, n.server, LAB.server.addr, TCP_SECONDS);
    if ('gbps' in tcp) result.tcpGbps = tcp.gbps;
    else result.notes.push(`iperf3: ${tcp.error}`);
    const noTrafgen = missingToolsMessage(['trafgen']);
    if (noTrafgen !== undefined) result.notes.push(`${noTrafgen}: no pps figure`);
    else if (routerMac === undefined) result.notes.push('no ARP entry for the router: no pps figure');
    else {
      // Few ICMP port unreachables from the sink back through the router.
      inNs(n.server, ['sysctl', '-qw', 'net.ipv4.icmp_msgs_per_sec=10']);
      const cfg = trafgenConfig(routerMac, macOf(n.client, LAB.hostIf), LAB.client.addr, LAB.server.addr);
      const pps = await measurePps(n.client, n.server, LAB.hostIf, join(tmp, 'trafgen.cfg'), cfg, PPS_SECONDS, cpu);
      if (pps.error !== undefined) result.notes.push(pps.error);
      else {
        result.offeredPps = pps.offeredPps;
        result.sinkPps = pps.sinkPps;
        result.lossPct = pps.lossPct;
        if (pps.sinkPps > 0 && Number.isFinite(pps.cpuSec)) result.cpuNsPerPacket = (pps.cpuSec * 1e9) / (pps.sinkPps * pps.seconds);
      }
    }
    if (s.engine === 'dataplane' && !pidAlive(lab.pid)) result.notes.push('the dataplane died during the run');
  } catch (e) {
    result.notes.push(`failed: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' / ').slice(0, 600)}`);
  } finally {
    await stopChild(testpmd);
    await labDown(prefix);
  }
  return result;
}

function rowsOf(r: LiveResult): BenchRow[] {
  const rows: BenchRow[] = [];
  // The subject's label without the subject ("tap+offload 1w"), so rows of different setups never share a name.
  const case_ = r.subject === 'dataplane' ? r.label.replace(/^dataplane /, '') : r.ports;
  const notes = r.notes.join('; ');
  if (r.sinkPps !== undefined) {
    rows.push({
      name: `live/udp64-pps (${case_})`,
      subject: r.subject,
      value: r.sinkPps / 1e6,
      unit: 'Mpps',
      nsPerOp: r.cpuNsPerPacket,
      notes: `sink ${Math.round(r.sinkPps)} pps of ${Math.round(r.offeredPps ?? 0)} offered, loss ${(r.lossPct ?? 0).toFixed(1)}%; ns/op = router CPU ns per forwarded packet${notes ? `; ${notes}` : ''}`,
    });
  } else rows.push({ name: `live/udp64-pps (${case_})`, subject: r.subject, value: NaN, unit: 'Mpps', notes: notes || 'not measured' });
  if (r.rttP50Us !== undefined) rows.push({ name: `live/ping-rtt-p50 (${case_})`, subject: r.subject, value: r.rttP50Us, unit: 'us', notes: `p99 ${r.rttP99Us?.toFixed(0)} us, 100 pings 10 ms apart` });
  if (r.tcpGbps !== undefined) rows.push({ name: `live/tcp-iperf3 (${case_})`, subject: r.subject, value: r.tcpGbps, unit: 'Gbit/s', notes: `iperf3 -t ${TCP_SECONDS}, 1 stream` });
  return rows;
}

export async function runLiveBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const why = labUnavailable();
  if (why !== undefined) {
    return { rows: [{ name: 'live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: `not run: ${why}` }], targets: [] };
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'dataplane-live-bench-'));
  const prefix = `dp-bench-${process.pid.toString(36)}`;
  const results: LiveResult[] = [];
  try {
    // DP_LIVE_ONLY=word: only the subjects whose label contains it (development).
    const only = process.env.DP_LIVE_ONLY;
    for (const s of SUBJECTS.filter((x) => only === undefined || x.label.includes(only))) {
      const noTestpmd = s.testpmd ? missingToolsMessage(['dpdk-testpmd']) : undefined;
      if (noTestpmd !== undefined) {
        results.push({ label: s.label, subject: s.subject, ports: s.ports, workers: 1, notes: [noTestpmd] });
        continue;
      }
      const t0 = Date.now();
      console.error(`bench live: ${s.label} ...`);
      const r = await measureSubject(s, prefix, tmp);
      console.error(`bench live: ${s.label}: ${r.sinkPps === undefined ? 'no pps' : `${Math.round(r.sinkPps)} pps`}, ${r.tcpGbps?.toFixed(2) ?? '-'} Gbit/s (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      results.push(r);
    }
  } finally {
    await labDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeLiveMarkdown(join(RESULTS_DIR, 'live.md'), results);
  writeLiveChart(join(RESULTS_DIR, 'live.svg'), results);
  const rows = results.flatMap(rowsOf);
  const targets: BenchTarget[] = [
    {
      description: 'every dataplane configuration forwards 64-byte UDP and TCP (tap/afpacket, 1/2 workers)',
      met: results.filter((r) => r.subject === 'dataplane').every((r) => (r.sinkPps ?? 0) > 0 && (r.tcpGbps ?? 0) > 0),
      measured: results.filter((r) => r.subject === 'dataplane').map((r) => `${r.label}: ${Math.round(r.sinkPps ?? 0)} pps, ${(r.tcpGbps ?? 0).toFixed(2)} Gbit/s`).join('; '),
    },
  ];
  // The issue's targets, each as a ratio to the peer measured in this run.
  const dp = results.filter((r) => r.subject === 'dataplane');
  const k = results.find((r) => r.subject === 'linux-kernel');
  const pmd = results.find((r) => r.subject === 'dpdk-testpmd');
  const bestBy = (f: (r: LiveResult) => number | undefined) => dp.reduce<LiveResult | undefined>((a, r) => ((f(r) ?? -Infinity) > (a === undefined ? -Infinity : (f(a) ?? -Infinity)) ? r : a), undefined);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);
  const pps = bestBy((r) => r.sinkPps);
  if (pps !== undefined && k?.sinkPps !== undefined) {
    const x = ratio(pps.sinkPps, k.sinkPps);
    targets.push({ description: '64-byte forwarding >= 1.5x Linux ip_forward (same topology and run)', met: x >= 1.5, measured: `${x.toFixed(2)}x (${pps.label} ${Math.round(pps.sinkPps ?? 0)} vs kernel ${Math.round(k.sinkPps)} pps)` });
  }
  if (pps !== undefined && pmd?.sinkPps !== undefined) {
    const x = ratio(pps.sinkPps, pmd.sinkPps);
    targets.push({ description: '64-byte forwarding >= 1.0x dpdk-testpmd (same topology and run)', met: x >= 1.0, measured: `${x.toFixed(2)}x (${pps.label} ${Math.round(pps.sinkPps ?? 0)} vs testpmd ${Math.round(pmd.sinkPps)} pps)` });
  }
  const tcp = bestBy((r) => r.tcpGbps);
  if (tcp !== undefined && k?.tcpGbps !== undefined) {
    const x = ratio(tcp.tcpGbps, k.tcpGbps);
    targets.push({ description: 'TCP bulk through the dataplane >= 1.0x through the kernel', met: x >= 1.0, measured: `${x.toFixed(2)}x (${tcp.label} ${(tcp.tcpGbps ?? 0).toFixed(2)} vs kernel ${k.tcpGbps.toFixed(2)} Gbit/s)` });
  }
  const rtt = dp.reduce<LiveResult | undefined>((a, r) => (r.rttP99Us !== undefined && (a?.rttP99Us === undefined || r.rttP99Us < a.rttP99Us) ? r : a), undefined);
  if (rtt?.rttP99Us !== undefined && k?.rttP99Us !== undefined) {
    const x = ratio(rtt.rttP99Us, k.rttP99Us);
    targets.push({ description: 'ping p99 through the dataplane <= 2x the kernel\'s (light load)', met: x <= 2, measured: `${x.toFixed(1)}x (${rtt.label} ${rtt.rttP99Us.toFixed(0)} vs kernel ${k.rttP99Us.toFixed(0)} us)` });
  }
  return { rows, targets };
}

// Where a live load balancer's CPU per packet goes: the lb-live lab (client
// -> balancer -> three backends on a bridge, pacer.c sending 64-byte UDP
// to the VIP over 1024 established flows), one dataplane, and for each rate
// every thread of the dataplane's process read from /proc: user and system
// CPU and voluntary context switches (wake-ups) over a steady window. lb-live
// gives one figure per rate (the process's utime+stime); this says which
// thread spent it, in user space (our JavaScript and the addon) or in the
// kernel (the syscalls: the XSK or packet-socket send and, since veth
// delivers in the sender's context, what the bridge and the backends do
// with each frame), and how many wake-ups it took. DP_PROBE_PERF=1 also
// records the process with `perf record -g` for the window of the last rate
// (start with NODE_OPTIONS=--perf-basic-prof for JavaScript names).
//
// What it found (2026-12-02, AMD EPYC 7xx3 VM, family 25 model 1, 2 vCPUs;
// dsr-l2 over AF_XDP, `--spin-us 0`, the coalescing default; another
// engineer's builds running, load 3-4):
// - The worker thread is all of it (the main thread and libuv's 0.2-0.6%).
// - 200 kpps asked (the pacer reached 145-168k): worker 65-70% of a core, 3.3-
//   3.6 us/packet, of which the kernel 2.6 us (51-53% of a core) and user
//   space 0.8 us; 16 wake-ups a second (it hardly sleeps). perf: the
//   kernel's share is the XSK copy-mode send (__xsk_generic_xmit: an skb
//   allocated and the frame copied per packet), veth_xmit, and the bridge
//   with br_netfilter's hooks (br_nf_pre_routing, br_nf_forward_ip,
//   br_nf_post_routing, nft_do_chain) on the way to the backends: work the
//   kernel balancer does too, in the generator's softirq.
// - 50 kpps: worker 28-37% of a core, 5.7-7.5 us/packet: the kernel 3.6-5 us
//   and user space 2-2.6 us a packet, 450-590 wake-ups a second (~100
//   packets each). Per packet, user space costs 2.5-3x what it costs at 200
//   kpps: the flow lookup (ip4-fast-flow classify, 9% of all samples) reads
//   lines that the ~1.2 ms between rounds let the kernel's work and the
//   host's other tenants evict (the in-memory bench's hot set is ~0.3 us).
// - `--realtime 10 --spin-us 0 --coalesce-us 0` (a wake-up per burst):
//   70% of a core at 50 kpps, 14 us/packet. The coalescing default is what
//   keeps the low rates affordable.
// - Over AF_PACKET (DP_PROBE_IO=afpacket) the same: 50 kpps 7.4 us/packet
//   (kernel 5.3, user 1.9; 822 wake-ups/s), 200 kpps asked (137k sent) 4.4
//   us/packet (kernel 3.6, user 0.8).
// So on veth, where AF_XDP runs in copy mode, the send path alone (an skb
// and a copy per frame, then the same veth and bridge work the kernel
// does) costs about what the kernel's whole forwarding costs, and the
// target of 0.67x the kernel's CPU per packet is out of reach for any
// user-space balancer on this path; zero-copy needs a NIC driver with XDP
// zero-copy support.
//
// usage (root, after `npm run build`):
//   node dist/bench/live/lb-probe.js
// env: DP_PROBE_RATES=50000,200000 (pps)   DP_PROBE_SECONDS=5
//      DP_PROBE_MODE=dsr-l2 | dsr-ipip | dsr-gue | nat   DP_PROBE_IO=afxdp | afpacket
//      DP_PROBE_RUN_ARGS='--spin-us 0' (dataplane run's options)
//      DP_PROBE_PREFIX=dp-lb-probe   DP_PROBE_PERF=1 (perf.data in the temporary directory it prints)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { balancerProc, lbLabDown, lbLabUp } from '../../src/lab/lb-lab.js';
import { LB_LAB } from '../../src/lab/lb-topology.js';
import type { LbModeName } from '../../src/lb/lb-config.js';
import { nsSpawn, sleep } from '../../src/host/commands.js';
import { buildPacer, inNs, neighborMac, pacerArgv, sinkDiscard } from './measure.js';

const VIP_PORT = 5201;
const FLOWS = 1024;
/** /proc's clock ticks per second (USER_HZ). */
const TICK = 100;

interface ThreadSample {
  name: string;
  user: number;
  system: number;
  wakeups: number;
}

/** Every thread of pid: CPU seconds (user, system) and voluntary context switches. */
function threads(pid: number): Map<string, ThreadSample> {
  const out = new Map<string, ThreadSample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
      const wakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? 0);
      out.set(tid, { name, user: Number(f[11]) / TICK, system: Number(f[12]) / TICK, wakeups });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** One line per thread that used CPU over the window, and the process's total per packet. */
function report(before: Map<string, ThreadSample>, after: Map<string, ThreadSample>, secs: number, pps: number): string {
  const lines: string[] = [];
  let total = 0;
  for (const [tid, b] of after) {
    const a = before.get(tid) ?? { name: b.name, user: 0, system: 0, wakeups: 0 };
    const user = b.user - a.user;
    const system = b.system - a.system;
    total += user + system;
    if (user + system < 0.01 * secs) continue;
    const perPacket = (x: number) => (pps > 0 ? `, ${((x / secs / pps) * 1e9).toFixed(0)} ns/packet` : '');
    lines.push(`    ${tid} ${b.name}: user ${((user / secs) * 100).toFixed(1)}%${perPacket(user)}, system ${((system / secs) * 100).toFixed(1)}%${perPacket(system)}, ${((b.wakeups - a.wakeups) / secs).toFixed(0)} wake-ups/s`);
  }
  lines.unshift(`  process: ${((total / secs) * 100).toFixed(1)}% of a core${pps > 0 ? `, ${((total / secs / pps) * 1e9).toFixed(0)} ns/packet` : ''}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rates = (process.env.DP_PROBE_RATES ?? '50000,200000').split(',').map(Number);
  const seconds = Number(process.env.DP_PROBE_SECONDS ?? 5);
  const mode = (process.env.DP_PROBE_MODE ?? 'dsr-l2') as LbModeName;
  const io = process.env.DP_PROBE_IO === 'afpacket' ? undefined : 'afxdp';
  const runArgs = (process.env.DP_PROBE_RUN_ARGS ?? '--spin-us 0').split(/\s+/).filter((a) => a !== '');
  const prefix = process.env.DP_PROBE_PREFIX ?? 'dp-lb-probe';
  const tmp = mkdtempSync(join(os.tmpdir(), 'lb-probe-'));
  const pacer = buildPacer(tmp);
  if (typeof pacer !== 'string') throw new Error(pacer.error);
  console.log(`lb-probe: ${mode} over ${io ?? 'afpacket'}, dataplane run ${runArgs.join(' ')}; ${FLOWS} established flows; ${seconds} s windows; files in ${tmp}`);
  await lbLabDown(prefix);
  const lab = await lbLabUp({ prefix, engine: 'dataplane', vip: { mode, protocol: 'udp', port: VIP_PORT, weights: [1, 1, 1] }, workers: 1, io, extraConfig: 'conntrack: { capacity: 2097152 }\n', readyTimeoutMs: 60_000, runArgs });
  try {
    const pid = balancerProc(lab).pid;
    const n = lab.names;
    for (const ns of n.backends) {
      const why = sinkDiscard(ns, LB_LAB.hostIf, VIP_PORT);
      if (why !== undefined) throw new Error(`backend ${ns}: ${why}`);
    }
    const dstMac = neighborMac(n.clients[0], LB_LAB.clients[0].portAddr);
    if (dstMac === undefined) throw new Error(`the client has no neighbor entry for ${LB_LAB.clients[0].portAddr}`);
    const srcMac = (JSON.parse(inNs(n.clients[0], ['ip', '-j', 'link', 'show', 'dev', LB_LAB.hostIf]).out) as { address: string }[])[0].address;
    await sleep(1000);
    let before = threads(pid);
    await sleep(seconds * 1000);
    console.log(`idle:\n${report(before, threads(pid), seconds, 0)}`);
    for (const [i, rate] of rates.entries()) {
      const frames = { bin: pacer, dstMac, srcMac, src: LB_LAB.clients[0].addr, dst: LB_LAB.vip, flags: ['-d', String(VIP_PORT), '-f', String(FLOWS), '-s', '10000'] };
      const gen = nsSpawn(n.clients[0], pacer, pacerArgv(frames, LB_LAB.hostIf, rate), { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
      try {
        // Past the first seconds (V8 compiles the path) before the window.
        await sleep(2000);
        const tx0 = Number(inNs(n.clients[0], ['cat', `/sys/class/net/${LB_LAB.hostIf}/statistics/tx_packets`]).out);
        before = threads(pid);
        if (process.env.DP_PROBE_PERF === '1' && i === rates.length - 1) {
          spawnSync('perf', ['record', '-g', '-F', '2000', '-p', String(pid), '-o', join(tmp, 'perf.data'), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
        } else await sleep(seconds * 1000);
        const after = threads(pid);
        const sent = (Number(inNs(n.clients[0], ['cat', `/sys/class/net/${LB_LAB.hostIf}/statistics/tx_packets`]).out) - tx0) / seconds;
        console.log(`${rate} pps asked, ${Math.round(sent)} sent:\n${report(before, after, seconds, sent)}`);
      } finally {
        if (gen.pid !== undefined) process.kill(-gen.pid, 'SIGINT');
      }
      await sleep(1000);
    }
  } finally {
    await lbLabDown(prefix);
  }
}

main().catch((e: unknown) => {
  console.error(`lb-probe: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

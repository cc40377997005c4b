// Where an AF_XDP router loses frames and spends CPU: A/B of run options on
// one lab setup, alternating variants round by round (a 2-core machine shared
// with other jobs: only interleaved rounds compare). For each variant and
// rate it reports what the generator offered, what reached the sink, the
// router process's CPU per forwarded packet, and where the missing frames
// went: the generator veth's tx_dropped (veth's XDP ring full), the XSK
// statistics (fill ring empty, RX ring full), the router veth counters.
//
// What it found (AMD EPYC 2 vCPU, load 12-17, 2-3 alternating rounds): every
// frame lost was rx_fill_ring_empty_descs (the worker, at normal priority,
// waited for a core longer than its ~3500 fill-ring frames lasted; never the
// veth ring, never RX ring full): loss in 11 of 12 runs at normal priority,
// in 1 of 36 with --realtime 10 --spin-us 0; 16384 frames cut it without
// ending it (3 of 6).
//
// Issue 13's collapse at 100% of the generator (trafgen unlimited, one 1 s
// window: 0.097 Mpps "of 0.097 offered" without busy polling, 0.82 with it),
// looked at on 2026-12-02 (AMD EPYC 2 vCPU, other jobs at load 2-9): every
// collapsed run lost nothing (0 XSK drops, 0 veth drops): the router
// forwarded all that came; the generator sent less. At load 5-6, 1 s windows
// (DP_PROBE_TRAFGEN=1, 4 alternating rounds) gave medians base 0.32,
// --busy-poll 0.26, realtime 0.37 Mpps, and a live quick run had busy-poll's
// 100% row at 0.10: trafgen (a CFS task pinned to CPU 0 by --cpus 1, paying
// the veth NAPI, the XDP program and the XSK copy in its own sendto) starved
// of CPU, whichever router. With trafgen at nice -20 (3 s steady windows):
// base 1.11/1.02/0.98/0.86, busy-poll 1.17/0.94/0.73/0.68, realtime
// 1.81/1.96/1.10/1.21 Mpps, 0 loss: no collapse. What is ours: the sleeping
// worker ends up on trafgen's CPU (src/runtime/worker.ts DATAPLANE_XSK_WAIT).
// `run --cpus 1` keeps it off (2026-12-02, DP_PROBE_TRAFGEN=1 DP_PROBE_RATES=0
// DP_PROBE_SECONDS=3 DP_PROBE_GEN_CPU=0 DP_PROBE_VARIANTS='base:;pin:--cpus 1',
// 4 rounds, load 2.7-3.8): sink 0.44/0.44/0.46/0.45 Mpps base against
// 0.52/0.65/0.74/0.53 pinned, router CPU 878 vs 568 ns/packet (medians);
// again with DP_PROBE_SECONDS=2, 8 rounds, load 2.9-4.3: base 0.58 (0.32 to
// 0.73), pinned 0.54 (0.33 to 0.65) Mpps, 616 vs 600 ns/packet, loss 0 vs
// 0.5%: on this shared machine the run-to-run spread is larger than the
// effect; over all 12 rounds 0.49 vs 0.54 Mpps.
//
// usage (root, after `npm run build`):
//   node dist/bench/live/afxdp-probe.js [ROUNDS]
// env: DP_PROBE_RATES=600000,1200000 (pps, paced by pacer.c; 0: as fast as it goes)
//      DP_PROBE_SECONDS=2
//      DP_PROBE_VARIANTS='base:;rt:--realtime 10 --spin-us 0' (name:run args; of
//        --realtime N, --spin-us N, --coalesce-us N, --busy-poll, --cpus LIST, --frames N: the ports' UMEM frames, --env K=V: in the dataplane's environment)
//      DP_PROBE_GEN_CPU=0: pacer.c pinned to that CPU (trafgen pins itself to CPU 0), as the live bench runs it
//      DP_PROBE_PREFIX=dp-afxdp-probe
//      DP_PROBE_TRAFGEN=1: rate 0 is trafgen unlimited, as the live bench's 100% row (default: pacer.c at its maximum)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { buildPacer, cpuSeconds, inNs, linkStats, macOf, neighborMac, sinkDiscard, trafgenConfig, trafgenLoad } from './measure.js';

interface Variant {
  name: string;
  realtime?: number;
  spinUs?: number;
  coalesceUs?: number;
  busyPoll?: boolean;
  /** `run --cpus LIST`. */
  cpus?: string;
  frames?: number;
  /** Environment variables the dataplane starts with (native experiment switches). */
  env: Record<string, string>;
}

function parseVariants(spec: string): Variant[] {
  return spec.split(';').filter((s) => s.trim() !== '').map((s) => {
    const [name, rest = ''] = s.split(':');
    const v: Variant = { name: name.trim(), env: {} };
    const a = rest.trim().split(/\s+/).filter((x) => x !== '');
    for (let i = 0; i < a.length; i++) {
      if (a[i] === '--realtime') v.realtime = Number(a[++i]);
      else if (a[i] === '--spin-us') v.spinUs = Number(a[++i]);
      else if (a[i] === '--coalesce-us') v.coalesceUs = Number(a[++i]);
      else if (a[i] === '--busy-poll') v.busyPoll = true;
      else if (a[i] === '--frames') v.frames = Number(a[++i]);
      else if (a[i] === '--cpus') v.cpus = a[++i];
      else if (a[i] === '--env') {
        const [k, val = '1'] = a[++i].split('=');
        v.env[k] = val;
      }
      else throw new Error(`variant ${v.name}: unknown argument ${a[i]}`);
    }
    return v;
  });
}

/** XDP_STATISTICS summed over the router's XSKs (bench/live/xsk-peek.c). */
function xskDrops(peek: string, pid: number): { fillEmpty: number; ringFull: number; dropped: number } {
  const r = spawnSync(peek, [String(pid)], { encoding: 'utf8' });
  const sum = (re: RegExp) => [...(r.stdout ?? '').matchAll(re)].reduce((t, m) => t + Number(m[1]), 0);
  return { fillEmpty: sum(/rx_fill_ring_empty_descs[ =]+(\d+)/g), ringFull: sum(/rx_ring_full[ =]+(\d+)/g), dropped: sum(/rx_dropped[ =]+(\d+)/g) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const rates = (process.env.DP_PROBE_RATES ?? '600000,1200000').split(',').map(Number);
  const seconds = Number(process.env.DP_PROBE_SECONDS ?? 2);
  const variants = parseVariants(process.env.DP_PROBE_VARIANTS ?? 'base:;rt:--realtime 10 --spin-us 0');
  const prefix = process.env.DP_PROBE_PREFIX ?? 'dp-afxdp-probe';
  const genCpu = process.env.DP_PROBE_GEN_CPU ?? '';
  const tmp = mkdtempSync(join(os.tmpdir(), 'afxdp-probe-'));
  const pacer = buildPacer(tmp);
  if (typeof pacer !== 'string') throw new Error(pacer.error);
  const peek = join(tmp, 'xsk-peek');
  const cc = spawnSync('cc', ['-O2', '-o', peek, join(process.cwd(), 'bench/live/xsk-peek.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`xsk-peek: ${cc.stderr}`);
  const results = new Map<string, { loss: number[]; ns: number[]; sink: number[]; offered: number[]; where: string[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        await labDown(prefix);
        for (const [k, val] of Object.entries(v.env)) process.env[k] = val;
        const lab: LabState = await labUp({ prefix, ports: 'afxdp', engine: 'dataplane', workers: 1, readyTimeoutMs: 10_000, realtime: v.realtime, spinUs: v.spinUs, coalesceUs: v.coalesceUs, busyPoll: v.busyPoll, cpus: v.cpus, xskFrames: v.frames });
        for (const k of Object.keys(v.env)) delete process.env[k];
        try {
          const n = lab.names;
          inNs(n.client, ['ping', '-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
          const routerMac = neighborMac(n.client, LAB.lan.addr);
          if (routerMac === undefined) throw new Error('no ARP entry for the router');
          inNs(n.server, ['sysctl', '-qw', 'net.ipv4.icmp_msgs_per_sec=10']);
          sinkDiscard(n.server, LAB.hostIf);
          const clientMac = macOf(n.client, LAB.hostIf);
          const cfg = trafgenConfig(routerMac, clientMac, LAB.client.addr, LAB.server.addr);
          const paced = { bin: pacer, dstMac: routerMac, srcMac: clientMac, src: LAB.client.addr, dst: LAB.server.addr };
          const load = (rate: number, secs: number) =>
            trafgenLoad({ genNs: n.client, sinkNs: n.server, dev: LAB.hostIf, cfgFile: join(tmp, 'trafgen.cfg'), cfg, rate, seconds: secs, routerPid: lab.pid, paced, pacedMax: process.env.DP_PROBE_TRAFGEN !== '1', genCpu: genCpu === '' ? undefined : Number(genCpu) });
          await load(rates[0], 2); // warm-up
          for (const rate of rates) {
            const g0 = linkStats(n.client, LAB.hostIf);
            const l0 = linkStats(n.router, 'lan');
            const w0 = linkStats(n.router, 'wan');
            const x0 = xskDrops(peek, lab.pid);
            const c0 = cpuSeconds(lab.pid);
            const r = await load(rate, seconds);
            const c1 = cpuSeconds(lab.pid);
            const x1 = xskDrops(peek, lab.pid);
            const g1 = linkStats(n.client, LAB.hostIf);
            const l1 = linkStats(n.router, 'lan');
            const w1 = linkStats(n.router, 'wan');
            const loss = r.offered > 0 ? (100 * (r.offered - r.got)) / r.offered : NaN;
            const ns = ((c1 - c0) * 1e9) / r.got;
            const where =
              `gen tx_drop ${g1.txDropped - g0.txDropped}, lan rx ${l1.rxPackets - l0.rxPackets} rx_drop ${l1.rxDropped - l0.rxDropped}, wan tx ${w1.txPackets - w0.txPackets} tx_drop ${w1.txDropped - w0.txDropped}, ` +
              `xsk fill-empty ${x1.fillEmpty - x0.fillEmpty} ring-full ${x1.ringFull - x0.ringFull} dropped ${x1.dropped - x0.dropped}`;
            const key = `${v.name} @${rate}`;
            const e = results.get(key) ?? { loss: [], ns: [], sink: [], offered: [], where: [] };
            e.loss.push(loss);
            e.ns.push(ns);
            e.sink.push(r.got / r.sendSecs);
            e.offered.push(r.offered / r.sendSecs);
            e.where.push(where);
            results.set(key, e);
            console.log(`round ${round} ${key}: offered ${Math.round(r.offered / r.sendSecs)} sink ${Math.round(r.got / r.sendSecs)} loss ${loss.toFixed(2)}% cpu ${ns.toFixed(0)} ns/pkt; ${where}; load ${os.loadavg()[0].toFixed(1)}`);
          }
        } finally {
          await labDown(prefix);
        }
      }
    }
  } finally {
    await labDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log('\nmedians:');
  for (const [k, e] of results) {
    console.log(`${k}: offered ${Math.round(median(e.offered))} sink ${Math.round(median(e.sink))} loss ${median(e.loss).toFixed(2)}% (${e.loss.map((x) => x.toFixed(1)).join(' ')}) cpu ${median(e.ns).toFixed(0)} ns/pkt (${e.ns.map((x) => x.toFixed(0)).join(' ')})`);
  }
}

await main();

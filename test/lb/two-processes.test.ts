// Issue 11, item 7: two dataplane processes with the same config send every
// flow of a capture to the same backend (ECMP in front of several
// balancers: any of them may get any packet of a flow). A capture of 4,000
// new TCP flows to the VIP goes through `dataplane replay` in separate
// processes, in each mode; what each sent out is read back and every flow's
// backend compared. A third process gets the flows in reverse order: the
// choice must depend on the flow, not on what came before it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import type { LbModeName } from '../../src/lb/lb-config.js';
import { dataplane } from '../cli-run.js';
import { tcpSynFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-lb-two-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VIP = '203.0.113.10';
const LAN_MAC = '02:00:00:00:00:01';
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15'];
const WEIGHTS = [1, 2, 3, 1, 1];
const backendMac = (i: number) => `02:bb:00:00:00:${(0x11 + i).toString(16)}`;
const TUNNEL_PEER = { addr: '198.18.0.2', mac: '02:cc:00:00:00:02' };
const FLOWS = 4000;
const GUE_PORT = 6080;

/** The balancer's config for `mode`: backends on a connected subnet (dsr-l2, nat) or behind a tunnel peer (dsr-ipip, dsr-gue); static neighbors (replay has nobody to answer ARP). */
function config(mode: LbModeName): string {
  const tunnel = mode === 'dsr-ipip' || mode === 'dsr-gue';
  const egress = tunnel ? `  - { name: transit, mac: "02:00:00:00:00:02", address: 198.18.0.1/24 }` : `  - { name: be, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }`;
  const neighbors = tunnel ? [`  - { address: ${TUNNEL_PEER.addr}, mac: "${TUNNEL_PEER.mac}" }`] : BACKENDS.map((a, i) => `  - { address: ${a}, mac: "${backendMac(i)}" }`);
  return `ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/24 }
${egress}
${tunnel ? `routes:\n  - 198.51.100.0/24 via ${TUNNEL_PEER.addr}\n` : ''}neighbors:
${neighbors.join('\n')}
loadBalancer:
  vips:
    - name: web
      address: ${VIP}
      protocol: tcp
      port: 80
      mode: ${mode}
      tableSize: 65537
      backends:
${BACKENDS.map((a, i) => `        - { address: ${a}, weight: ${WEIGHTS[i]} }`).join('\n')}
`;
}

interface Flow {
  src: string;
  sport: number;
}

/** Flows from 192.0.2.2-254 with pseudo-random source ports (a fixed seed: the same capture each run). */
function flows(): Flow[] {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const seen = new Set<string>();
  const out: Flow[] = [];
  while (out.length < FLOWS) {
    const f = { src: `192.0.2.${2 + (next() % 253)}`, sport: 1024 + (next() % 64512) };
    const k = `${f.src}:${f.sport}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(f);
    }
  }
  return out;
}

function writeCapture(path: string, fs: readonly Flow[]): void {
  const w = new PcapngWriter(path, { interfaces: [{ name: 'lan', linkType: LINKTYPE_ETHERNET }] });
  fs.forEach((f, i) => w.write(0, tcpSynFrame({ src: f.src, dst: VIP, dstMac: LAN_MAC }, f.sport, 80), 1_700_000_000, i * 10_000));
  w.close();
}

const ipAt = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const macAt = (b: Uint8Array, o: number) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** The inner packet's flow (client address and port) at IPv4 offset `ip`. */
function flowAt(b: Uint8Array, ip: number): string {
  const ihl = (b[ip] & 0x0f) * 4;
  return `${ipAt(b, ip + 12)}:${(b[ip + ihl] << 8) | b[ip + ihl + 1]}`;
}

/** What one frame the balancer sent says: the client's flow and the backend it went to, as each mode marks it. */
function decodeOut(mode: LbModeName, b: Uint8Array): { flow: string; backend: string } | string {
  if (((b[12] << 8) | b[13]) !== 0x0800) return 'not IPv4';
  const ip = 14;
  const ihl = (b[ip] & 0x0f) * 4;
  const proto = b[ip + 9];
  const dst = ipAt(b, ip + 16);
  switch (mode) {
    case 'dsr-l2':
      // The packet is unchanged but for the MACs: the backend is the destination MAC.
      if (dst !== VIP || proto !== 6) return `dsr-l2: to ${dst} (protocol ${proto}), not the VIP`;
      return { flow: flowAt(b, ip), backend: macAt(b, 0) };
    case 'nat':
      if (proto !== 6) return `nat: protocol ${proto}`;
      return { flow: flowAt(b, ip), backend: dst };
    case 'dsr-ipip':
      if (proto !== 4) return `dsr-ipip: outer protocol ${proto}, not 4`;
      return { flow: flowAt(b, ip + ihl), backend: dst };
    case 'dsr-gue': {
      if (proto !== 17) return `dsr-gue: outer protocol ${proto}, not UDP`;
      const udp = ip + ihl;
      if (((b[udp + 2] << 8) | b[udp + 3]) !== GUE_PORT) return `dsr-gue: outer UDP port ${(b[udp + 2] << 8) | b[udp + 3]}`;
      const gue = udp + 8;
      // GUE version 1 carries the IPv4 packet directly (its first bits 01); version 0 has a 4-byte header and hlen words of options.
      const inner = b[gue] >> 6 === 1 ? gue : gue + 4 + (b[gue] & 0x1f) * 4;
      return { flow: flowAt(b, inner), backend: dst };
    }
  }
}

/** Runs the capture through a separate `dataplane replay` process; flow -> backend, from what it sent. */
function replay(mode: LbModeName, cfg: string, input: string, tag: string): Map<string, string> {
  const out = join(dir, `${mode}-${tag}.pcapng`);
  const r = dataplane(['replay', input, '--config', cfg, '--out', out, '--json']);
  expect(r.status, `replay (${tag}): ${r.stderr}`).toBe(0);
  const egress = mode === 'dsr-ipip' || mode === 'dsr-gue' ? 'transit' : 'be';
  const m = new Map<string, string>();
  const bad: string[] = [];
  const reader = CaptureReader.open(out);
  try {
    while (reader.next()) {
      const rec = reader.record;
      const port = reader.interfaces[rec.interfaceId]?.name;
      const d = port === egress ? decodeOut(mode, rec.data) : `a frame out of ${port}`;
      if (typeof d === 'string') bad.push(d);
      else m.set(d.flow, d.backend);
    }
  } finally {
    reader.close();
  }
  // Everything the balancer sent went to a backend, one frame per flow.
  expect(bad.slice(0, 5), `frames that are not a balanced flow (${tag}); summary: ${r.stdout.slice(0, 800)}`).toEqual([]);
  expect(m.size, tag).toBe(FLOWS);
  // The summary counts every flow against a backend of the VIP.
  const summary = JSON.parse(r.stdout) as { lb?: { newFlows: number }[] };
  expect(summary.lb?.reduce((n, b) => n + b.newFlows, 0), tag).toBe(FLOWS);
  return m;
}

describe('two dataplane processes with the same config pick the same backend for every flow', () => {
  const fs = flows();
  const input = join(dir, 'flows.pcapng');
  const reversed = join(dir, 'flows-reversed.pcapng');
  writeCapture(input, fs);
  writeCapture(reversed, [...fs].reverse());
  const keys = fs.map((f) => `${f.src}:${f.sport}`);

  for (const mode of ['dsr-l2', 'dsr-ipip', 'dsr-gue', 'nat'] as const) {
    it(`${mode}: ${FLOWS} flows, three processes (one with the flows reversed)`, () => {
      const cfg = join(dir, `${mode}.yaml`);
      writeFileSync(cfg, config(mode));
      const a = replay(mode, cfg, input, 'a');
      const b = replay(mode, cfg, input, 'b');
      const c = replay(mode, cfg, reversed, 'reversed');
      // Every flow balanced by each process, to one of the backends.
      for (const m of [a, b, c]) expect(keys.filter((k) => !m.has(k)).length).toBe(0);
      const names = mode === 'dsr-l2' ? BACKENDS.map((_, i) => backendMac(i)) : BACKENDS;
      expect([...new Set(a.values())].sort()).toEqual([...names].sort());
      const differ = (x: Map<string, string>, y: Map<string, string>) => keys.filter((k) => x.get(k) !== y.get(k));
      expect(differ(a, b)).toEqual([]);
      expect(differ(a, c)).toEqual([]);
    }, 60_000);
  }
});

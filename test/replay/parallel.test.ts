// `dataplane replay --workers N` against `--workers 1`, through the built
// command (the shards run dist/src/replay/shard-worker.js on a piscina
// pool): the same frames out (each flow's in the same order, on the same
// port, at the same time), the same counters, rule hits and backend figures,
// on captures with routing, a stateful firewall and a load balancer, on
// real captures, and a one-worker replay (said on stderr) where sharding
// cannot give a one-worker replay's result.
//
// One difference is expected and masked: the IPv4 ID of a header the router
// makes (an ICMP error, a dsr-ipip tunnel header) comes from a counter of the
// worker that made it (as live with several workers), so the ID and header
// checksum of ICMP errors and IPIP packets are not compared.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { readCapture } from '../../src/pcap/reader.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { CLI, dataplane } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { BASE_CONFIG } from '../pipeline/harness.js';
import { echoFrame, icmpErrorFrame, tcpFrame, tcpSynFrame, udpFrame } from '../pipeline/build.js';
import { CASES, PODS, probes } from '../firewall/truth/cases.js';
import { podMac, portName, routerMac, truthConfigYaml } from '../firewall/truth/config.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-par-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAN_MAC = '02:00:00:00:00:01';
const WAN_MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:aa:00:00:00:01';
const GW_MAC = '02:bb:00:00:00:fe';
const T0 = 1_700_000_000;

interface Frame {
  port: number;
  at: number; // microseconds from T0
  bytes: Uint8Array;
}

function writeCapture(name: string, ports: string[], frames: Frame[]): string {
  const path = join(dir, name);
  const w = new PcapngWriter(path, { interfaces: ports.map((n) => ({ name: n, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  for (const f of frames) w.write(f.port, f.bytes, T0 + Math.floor(f.at / 1e6), (f.at % 1e6) * 1000);
  w.close();
  return path;
}

function writeConfig(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

interface Summary {
  framesRead: number;
  framesOut: number;
  skipped: Record<string, number>;
  ports: Record<string, unknown>;
  counters: Record<string, { packets: number; bytes: number }>;
  firewall?: unknown;
  lb?: unknown;
  workers?: number;
}

function replay(input: string, config: string, workers: number, extra: string[] = []): { summary: Summary; out: string; stderr: string } {
  const out = join(dir, `out-${workers}-${Math.random().toString(36).slice(2)}.pcapng`);
  const r = dataplane(['replay', input, '--config', config, '--out', out, '--json', '--workers', String(workers), ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return { summary: JSON.parse(r.stdout) as Summary, out, stderr: r.stderr };
}

/** An output frame as compared: ICMP errors and IPIP packets without their (outer) IPv4 ID and header checksum (see the header). */
function normalized(data: Uint8Array): string {
  const b = data.slice();
  if (b.length >= 14 + 20 + 1 && b[12] === 0x08 && b[13] === 0x00) {
    const icmpError = b[14 + 9] === 1 && [3, 4, 5, 11, 12].includes(b[14 + ((b[14] & 0x0f) << 2)]);
    if (icmpError || b[14 + 9] === 4) b.fill(0, 14 + 4, 14 + 6).fill(0, 14 + 10, 14 + 12);
  }
  return Buffer.from(b).toString('hex');
}

function frameLine(r: { interfaceId: number; tsSec: number; tsNsec: number; data: Uint8Array }): string {
  return `${r.interfaceId} ${r.tsSec}.${String(r.tsNsec).padStart(9, '0')} ${normalized(r.data)}`;
}

/** The output's frames in file order. */
function allFrames(path: string | Uint8Array): string[] {
  return [...readCapture(path)].map(frameLine);
}

/**
 * The output's frames by flow, each flow's in file order. A flow is what
 * replay shards by (shard-key.ts): the unordered IPv4 address pair and
 * protocol; an ICMP error belongs to the flow of the datagram it quotes, an
 * IPIP packet (dsr-ipip) to the flow it carries; 'other' for the rest.
 */
function framesByFlow(path: string | Uint8Array): Map<string, string[]> {
  const flows = new Map<string, string[]>();
  for (const r of readCapture(path)) {
    const d = r.data;
    let key = 'other';
    if (d.length >= 34 && d[12] === 0x08 && d[13] === 0x00) {
      let l3 = d[23] === 4 && d.length >= 54 ? 34 : 14;
      const icmp = l3 + ((d[l3] & 0x0f) << 2);
      if (d[l3 + 9] === 1 && [3, 4, 5, 11, 12].includes(d[icmp]) && d.length >= icmp + 8 + 20) l3 = icmp + 8;
      const a = d.subarray(l3 + 12, l3 + 16).join('.');
      const z = d.subarray(l3 + 16, l3 + 20).join('.');
      key = `${a < z ? a : z} ${a < z ? z : a} ${d[l3 + 9]}`;
    }
    const list = flows.get(key) ?? [];
    list.push(frameLine(r));
    flows.set(key, list);
  }
  return flows;
}

/**
 * Replays on 1 worker and on each of `many`, and expects the same result:
 * the summary, each flow's frames in the same order, and the whole file's
 * order. Returns the one-worker summary.
 */
function expectSameAsOneWorker(input: string, config: string, many: number[], extra: string[] = []): Summary {
  const one = replay(input, config, 1, extra);
  const oneFlows = framesByFlow(one.out);
  for (const n of many) {
    const par = replay(input, config, n, extra);
    expect(par.stderr, 'no fallback to one worker').toBe('');
    expect(par.summary.workers).toBe(n);
    const { workers: _w, ...rest } = par.summary;
    expect(rest).toEqual(one.summary);
    const parFlows = framesByFlow(par.out);
    expect([...parFlows.keys()].sort()).toEqual([...oneFlows.keys()].sort());
    for (const [flow, frames] of oneFlows) expect(parFlows.get(flow), `flow ${flow}, ${n} workers`).toEqual(frames);
    // The whole file in one worker's order, not only each flow's.
    expect(allFrames(par.out)).toEqual(allFrames(one.out));
  }
  return one.summary;
}

/** Routing: flows from one client to many hosts and back, with what makes a router answer (TTL, no route, DF, echo, fragments, an ICMP error about a flow). */
function routingCapture(): string {
  const frames: Frame[] = [];
  const fromLan = (dst: string, extra: object = {}) => ({ src: '192.0.2.10', dst, srcMac: CLIENT_MAC, dstMac: LAN_MAC, ...extra });
  for (let i = 0; i < 3000; i++) {
    const f = i % 40;
    const host = `192.0.2.${130 + f}`;
    const at = i * 200;
    if (i % 97 === 5) frames.push({ port: 0, at, bytes: udpFrame(fromLan(host, { ttl: 1 }), 40000 + f, 33434) });
    else if (i % 211 === 7) frames.push({ port: 0, at, bytes: udpFrame(fromLan(`198.18.200.${f}`), 40000 + f, 53) });
    else if (i % 173 === 9) frames.push({ port: 0, at, bytes: udpFrame(fromLan(host, { df: true }), 40000 + f, 9, 1472) });
    else if (i % 151 === 3) frames.push({ port: 0, at, bytes: udpFrame(fromLan(host), 40000 + f, 9, 1472) }); // fragmented to the wan MTU
    else if (i % 89 === 1) frames.push({ port: 0, at, bytes: echoFrame(fromLan('192.0.2.1'), f, i) });
    else if (i % 131 === 2) {
      // A host on the wan side reports a flow's packet unreachable: keyed by the quoted flow, so it meets it.
      const quote = udpFrame({ src: '192.0.2.10', dst: host }, 40000 + f, 5).subarray(14, 14 + 28);
      frames.push({ port: 1, at, bytes: icmpErrorFrame({ src: '198.51.100.254', dst: '192.0.2.10', srcMac: GW_MAC, dstMac: WAN_MAC }, 3, 3, quote) });
    } else if (i % 2 === 0) frames.push({ port: 0, at, bytes: tcpFrame(fromLan(host), 40000 + f, 80, 0x18, 100, 1000 + i) });
    else frames.push({ port: 1, at, bytes: tcpFrame({ src: host, dst: '192.0.2.10', srcMac: GW_MAC, dstMac: WAN_MAC }, 80, 40000 + f, 0x18, 300, 5000 + i) });
  }
  return writeCapture('routing.pcapng', ['lan', 'wan', 'dmz'], frames);
}

describe('dataplane replay --workers', () => {
  it('routing: 2 and 4 workers give one worker\'s frames, per-flow order and counters', () => {
    const s = expectSameAsOneWorker(routingCapture(), writeConfig('routing.yaml', BASE_CONFIG), [2, 4]);
    // The capture exercises what it claims to.
    for (const c of ['ip4-rewrite/ttl-expired', 'ip4-lookup/no-route', 'ip4-rewrite/fragmentation-needed', 'ip4-frag/fragments-made', 'ip4-local/echo-replies']) {
      expect(s.counters[c]?.packets, c).toBeGreaterThan(0);
    }
    expect(s.framesOut).toBeGreaterThan(2900);
  });

  it('firewall (NetworkPolicy truth cases): SYN, SYN-ACK, ACK per probe; same verdicts and rule hits on 2 workers', () => {
    for (const c of CASES.slice(0, 3)) {
      const frames: Frame[] = [];
      let n = 0;
      for (const { from, to, port } of probes()) {
        const sport = 20000 + n;
        const at = n * 300;
        frames.push({ port: from.index, at, bytes: tcpSynFrame({ src: from.address, dst: to.address, srcMac: podMac(from), dstMac: routerMac(from) }, sport, port) });
        frames.push({ port: to.index, at: at + 100, bytes: tcpFrame({ src: to.address, dst: from.address, srcMac: podMac(to), dstMac: routerMac(to) }, port, sport, 0x12, 0, 7000, 1001) });
        frames.push({ port: from.index, at: at + 200, bytes: tcpFrame({ src: from.address, dst: to.address, srcMac: podMac(from), dstMac: routerMac(from) }, sport, port, 0x10, 0, 1001, 7001) });
        n++;
      }
      const input = writeCapture(`fw-${n}.pcapng`, PODS.map(portName), frames);
      const s = expectSameAsOneWorker(input, writeConfig('fw.yaml', truthConfigYaml(c)), [2]);
      expect(s.firewall, c.name).toBeDefined();
    }
  });

  it('load balancer (dsr-l2 and dsr-ipip): the same backend per flow and the same per-backend figures on 2 workers', () => {
    for (const mode of ['dsr-l2', 'dsr-ipip']) {
      const yaml = `
ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/24 }
  - { name: wan, mac: "${WAN_MAC}", address: 198.51.100.1/24, mtu: 1500 }
neighbors:
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
  - { address: 198.51.100.13, mac: "02:bb:00:00:00:13" }
conntrack: { capacity: 4096 }
loadBalancer:
  vips:
    - name: web
      address: 203.0.113.10
      protocol: tcp
      port: 80
      mode: ${mode}
      backends:
        - { address: 198.51.100.11, weight: 100 }
        - { address: 198.51.100.12, weight: 200 }
        - { address: 198.51.100.13, weight: 100 }
`;
      const frames: Frame[] = [];
      for (let i = 0; i < 1500; i++) {
        const client = `192.0.2.${100 + (i % 50)}`;
        const sport = 30000 + (i % 300);
        const flags = i < 300 ? 0x02 : 0x10;
        frames.push({ port: 0, at: i * 150, bytes: tcpFrame({ src: client, dst: '203.0.113.10', srcMac: CLIENT_MAC, dstMac: LAN_MAC }, sport, 80, flags, i < 300 ? 0 : 200) });
      }
      const s = expectSameAsOneWorker(writeCapture(`lb-${mode}.pcapng`, ['lan', 'wan'], frames), writeConfig(`lb-${mode}.yaml`, yaml), [2]);
      expect(s.lb, mode).toBeDefined();
      expect(s.framesOut).toBe(1500);
    }
  });

  it('NAT: replays on one worker and says why (a translated reply has another address pair)', () => {
    const yaml = `${BASE_CONFIG}nat:\n  masquerade:\n    - { outPort: wan, ports: 40000-40100 }\n`;
    const input = routingCapture();
    const config = writeConfig('nat.yaml', yaml);
    const par = replay(input, config, 2);
    expect(par.stderr).toMatch(/--workers 2: replayed on one worker: the config translates addresses \(nat:\)/);
    expect(par.summary.workers).toBe(1);
    // NAT ports are handed out in random order, so two one-worker replays differ in them too: the figures are compared.
    const { workers: _w, ...rest } = par.summary;
    expect(rest).toEqual(replay(input, config, 1).summary);
    expect(rest.counters['nat-output/packets']?.packets).toBeGreaterThan(0);
  });

  it('state shared between flows (ARP resolution): replays again on one worker and says why', () => {
    // 198.19.0.0/16 goes via 198.51.100.253, which has no static neighbor: the first packet waits for ARP.
    const frames: Frame[] = [];
    for (let i = 0; i < 200; i++) {
      frames.push({ port: 0, at: i * 500, bytes: udpFrame({ src: '192.0.2.10', dst: `198.19.0.${i % 20}`, srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000 + (i % 20), 53) });
    }
    const input = writeCapture('arp.pcapng', ['lan', 'wan', 'dmz'], frames);
    const config = writeConfig('arp.yaml', BASE_CONFIG);
    const par = replay(input, config, 2);
    expect(par.stderr).toMatch(/replayed on one worker: a next hop needed ARP resolution .*arp-resolve\//);
    expect(par.summary.workers).toBe(1);
    const one = replay(input, config, 1);
    const { workers: _w, ...rest } = par.summary;
    expect(rest).toEqual(one.summary);
    expect(framesByFlow(par.out)).toEqual(framesByFlow(one.out));
  });

  const REAL = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'pcaps', 'tcpreplay');
  it('real captures (tcpreplay test.pcap, test_fragroute.pcap): 2 workers give one worker\'s result', skipIf(existsSync(REAL) ? undefined : `no capture corpus at ${REAL}`), () => {
    // Every frame comes in on lan and is routed out of wan to one static next hop; the capture's MACs are another host's: --promisc.
    const yaml = stringify({
      ports: [
        { name: 'lan', mac: LAN_MAC, address: '192.0.2.1/24' },
        { name: 'wan', mac: WAN_MAC, address: '198.51.100.1/24', mtu: 1400 },
      ],
      routes: ['0.0.0.0/0 via 198.51.100.254'],
      neighbors: [{ address: '198.51.100.254', mac: GW_MAC }],
      icmp: { ratePerSecond: 10000, burst: 1000 },
    });
    const config = writeConfig('real.yaml', yaml);
    for (const [name, routed] of [['test.pcap', 100], ['test_fragroute.pcap', 10]] as const) {
      const s = expectSameAsOneWorker(join(REAL, name), config, [2, 4], ['--in-port', 'lan', '--promisc']);
      expect(s.counters['ip4-output/packets']?.packets, name).toBeGreaterThan(routed);
    }
  });

  it('writes the file a one-worker replay writes, byte for byte', () => {
    // Only forwarded TCP (no header the router makes, whose IPv4 ID is per worker): nothing to mask.
    const frames: Frame[] = [];
    for (let i = 0; i < 4000; i++) {
      const host = `192.0.2.${130 + (i % 60)}`;
      if (i % 2 === 0) frames.push({ port: 0, at: i * 3, bytes: tcpFrame({ src: '192.0.2.10', dst: host, srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000 + (i % 60), 80, 0x18, 50 + (i % 700), i) });
      else frames.push({ port: 1, at: i * 3, bytes: tcpFrame({ src: host, dst: '192.0.2.10', srcMac: GW_MAC, dstMac: WAN_MAC }, 80, 40000 + (i % 60), 0x18, 300, i) });
    }
    const input = writeCapture('bytes.pcapng', ['lan', 'wan', 'dmz'], frames);
    const config = writeConfig('bytes.yaml', BASE_CONFIG);
    const one = readFileSync(replay(input, config, 1).out);
    for (const n of [2, 3]) {
      const par = replay(input, config, n);
      expect(par.stderr).toBe('');
      expect(Buffer.compare(readFileSync(par.out), one), `${n} workers`).toBe(0);
    }
  });

  it('--out /dev/stdout (piped to another tool): stdout holds the capture alone, the summary goes to stderr', () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 300; i++) frames.push({ port: 0, at: i * 3, bytes: tcpFrame({ src: '192.0.2.10', dst: `192.0.2.${130 + (i % 20)}`, srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000 + (i % 20), 80, 0x18, 60, i) });
    const input = writeCapture('piped.pcapng', ['lan', 'wan', 'dmz'], frames);
    const config = writeConfig('piped.yaml', BASE_CONFIG);
    const file = readFileSync(replay(input, config, 1).out);
    for (const n of [1, 2]) {
      // A shell pipe, as a user writes it (node's own child stdio is a socket, which /dev/stdout cannot open).
      const piped = join(dir, `piped-${n}.pcapng`);
      const cmd = `set -o pipefail; "$0" "$1" replay "$2" --config "$3" --out /dev/stdout --workers ${n} | cat > "$4"`;
      const r = spawnSync('bash', ['-c', cmd, process.execPath, CLI, input, config, piped], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(Buffer.compare(readFileSync(piped), file), `${n} workers: stdout is the capture, byte for byte`).toBe(0);
      expect(r.stderr).toMatch(/^frames read: 300, frames out: 300$/m);
    }
  });

  it('a corrupt capture: the good frames, then the error naming the byte offset, as with one worker (exit 1, no OUT)', () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 500; i++) frames.push({ port: 0, at: i * 100, bytes: udpFrame({ src: '192.0.2.10', dst: `192.0.2.${130 + (i % 9)}`, srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000 + i, 53) });
    const whole = readFileSync(writeCapture('whole.pcapng', ['lan', 'wan', 'dmz'], frames));
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const config = writeConfig('cut.yaml', BASE_CONFIG);
    const runs = [1, 2].map((n) => {
      const out = join(dir, `cut-out-${n}.pcapng`);
      return { out, r: dataplane(['replay', cut, '--config', config, '--out', out, '--workers', String(n)]) };
    });
    for (const { out, r } of runs) {
      expect(r.status, r.stderr).toBe(1);
      expect(existsSync(out)).toBe(false);
    }
    expect(runs[1].r.stderr).toMatch(/^dataplane replay: .*cut\.pcapng: truncated .* at byte \d+/);
    expect(runs[1].r.stderr).toBe(runs[0].r.stderr);
    expect(readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('interrupted (SIGINT), one worker or two: the replay stops, no OUT and no temporary file is left, the process ends by the signal', async () => {
    // Enough frames that the replay is still running when the signal comes.
    const frames: Frame[] = [];
    for (let i = 0; i < 600_000; i++) frames.push({ port: 0, at: i * 2, bytes: tcpFrame({ src: '192.0.2.10', dst: `192.0.2.${130 + (i % 90)}`, srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000 + (i % 90), 80, 0x10, 0, i) });
    const input = writeCapture('long.pcapng', ['lan', 'wan', 'dmz'], frames);
    const config = writeConfig('long.yaml', BASE_CONFIG);
    for (const workers of [1, 2]) {
      const outDir = mkdtempSync(join(dir, 'sigint-'));
      const out = join(outDir, 'out.pcapng');
      const child = spawn(process.execPath, [CLI, 'replay', input, '--config', config, '--out', out, '--workers', String(workers)], { stdio: 'ignore' });
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      // The temporary file appears once the shards are being started.
      const t0 = Date.now();
      while (!readdirSync(outDir).some((f) => f.endsWith('.partial')) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
      expect(readdirSync(outDir).some((f) => f.endsWith('.partial')), `--workers ${workers}: the replay started`).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const { code, signal } = await ended;
      expect({ workers, code, signal }).toEqual({ workers, code: null, signal: 'SIGINT' });
      expect(readdirSync(outDir), `--workers ${workers}`).toEqual([]);
    }
  }, 60_000);

  it('API: a capture in memory into a ByteSink (memory, a pipe): one worker\'s frames', async () => {
    // The built modules: the shards run dist/src/replay/shard-worker.js.
    const dist = (p: string) => pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'src', p)).href;
    const { replayParallel } = (await import(dist('replay/parallel-replay.js'))) as typeof import('../../src/replay/parallel-replay.js');
    const { loadConfig } = (await import(dist('config/load.js'))) as typeof import('../../src/config/load.js');
    const { MemorySink } = (await import(dist('pcap/writer.js'))) as typeof import('../../src/pcap/writer.js');
    const config = loadConfig(writeConfig('api.yaml', BASE_CONFIG));
    const input = readFileSync(routingCapture());
    const one = new MemorySink();
    const base = await replayParallel(config, input, one, 1);
    const sink = new MemorySink();
    const par = await replayParallel(config, input, sink, 2);
    expect(par.workers).toBe(2);
    expect(par.summary).toEqual(base.summary);
    expect(allFrames(sink.bytes())).toEqual(allFrames(one.bytes()));
  });

  it('--workers 2 and a mistake found before the shards run (the config, OUT\'s directory): one worker\'s status and message', () => {
    // The CLI starts the shards' pool before it reads the config (shard-pool.ts): it must not change what is reported.
    const input = writeCapture('early.pcapng', ['lan', 'wan', 'dmz'], [{ port: 0, at: 0, bytes: tcpFrame({ src: '192.0.2.10', dst: '198.51.100.20', srcMac: CLIENT_MAC, dstMac: LAN_MAC }, 40000, 80, 0x02, 0, 1) }]);
    const good = writeConfig('early.yaml', BASE_CONFIG);
    const bad = writeConfig('early-bad.yaml', 'ports: 3\n');
    for (const args of [
      ['--config', bad, '--out', join(dir, 'early-out.pcapng')],
      ['--config', good, '--out', join(dir, 'no-such-dir', 'early-out.pcapng')],
    ]) {
      const one = dataplane(['replay', input, ...args, '--workers', '1']);
      const two = dataplane(['replay', input, ...args, '--workers', '2']);
      expect(one.status, args.join(' ')).toBeGreaterThan(0);
      expect(two.status, args.join(' ')).toBe(one.status);
      // The temporary file's name holds the process id.
      const unpid = (t: string) => t.replace(/\.\d+\.partial/g, '.PID.partial');
      expect(unpid(two.stderr)).toBe(unpid(one.stderr));
    }
    expect(existsSync(join(dir, 'early-out.pcapng'))).toBe(false);
  });

  it('a bad --workers is a usage error that names the range', () => {
    const config = writeConfig('bad-workers.yaml', BASE_CONFIG);
    for (const bad of ['0', 'two', '65', '1.5']) {
      const r = dataplane(['replay', 'whatever.pcap', '--config', config, '--out', join(dir, 'x.pcapng'), '--workers', bad]);
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`--workers must be a whole number from 1 to 64, got '${bad.replace('.', '\\.')}'`));
    }
  });
});

// AF_PACKET ports with offload (PACKET_VNET_HDR) on veths that keep the
// kernel's default offloads, as a Docker container's eth0 does: TSO/GSO and
// checksum offload on, so the peer's stack hands over TCP super-frames of up
// to 64 KiB and partial checksums.
//
// First the port alone (this namespace's veth end, the peer in a throwaway
// namespace): what rx puts in the slot's offload words, what it refuses and
// counts, what tx does with bad words. Then TCP through `dataplane run`
// between two namespaces: the bytes arrive (sha256 on both ends, in bounded
// time) with the default offloads, with them off, with GRO on the router's
// ends, and towards a TAP without offload (segmented in software); and GSO
// inside a VXLAN tunnel, which is not supported, is counted. Root only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfPacketPort } from '../../src/io/af-packet-port.js';
import { IoCounter, loadNative } from '../../src/io/native.js';
import { PortWaiter } from '../../src/io/wait.js';
import { Batch, OffloadMeta, VNET_HDR_F_NEEDS_CSUM } from '../../src/pipeline/batch.js';
import { completeChecksum } from '../../src/pipeline/offload.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { skipIf } from '../skip.js';
import { formatMac, onesComplement, parseIp, parseMac, udpOf } from './frames.js';
import { ip } from '../../src/host/commands.js';
import { Lab, rootSkipReason, sendRawFrom, tick, udpFrom } from './netns.js';
import { averageRxFrame, averageTxFrame, dataplaneTransfer, withDataplane } from './transfer.js';

const skip = rootSkipReason(true);
const ROUTER_MAC = parseMac('02:00:5e:00:33:02');
const ROUTER_IP = '198.51.100.1';
const PEER_IP = '198.51.100.2';

/**
 * A UDP listener on addr:port inside `ns` (a node child) that prints the
 * first datagram it gets and exits; resolves once it is bound. `got()` is
 * what it printed; `closed` resolves when it exited and its output is read.
 */
async function listenIn(ns: string, addr: string, port: number): Promise<{ child: ChildProcess; got: () => string; closed: Promise<void> }> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    `const s = require('node:dgram').createSocket('udp4'); s.on('message', (m) => { console.log(m.toString()); process.exit(0); }); s.bind(${port}, '${addr}', () => console.log('ready'));`]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  // Under load, starting node in the namespace takes seconds, and a datagram sent before the bind is lost.
  const deadline = Date.now() + 30_000;
  while (!out.includes('ready') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(out, 'the listener in the namespace never bound its socket').toContain('ready');
  return { child, got: () => out, closed };
}

/** An IPv4/UDP frame from the router to the peer, UDP checksum 0 (none). */
function udpFrame(peerMac: Uint8Array, dstPort: number, text: string, id = 0): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const f = new Uint8Array(42 + payload.length);
  f.set(peerMac, 0);
  f.set(ROUTER_MAC, 6);
  f.set([0x08, 0x00], 12);
  const ipLen = 28 + payload.length;
  const src = parseIp(ROUTER_IP);
  const dst = parseIp(PEER_IP);
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, id, 0, 0, 64, 17, 0, 0, src >>> 24, (src >> 16) & 0xff, (src >> 8) & 0xff, src & 0xff, dst >>> 24, (dst >> 16) & 0xff, (dst >> 8) & 0xff, dst & 0xff], 14);
  const ipSum = ~onesComplement(f, 14, 20) & 0xffff;
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  f.set([0x9c, 0x40, dstPort >> 8, dstPort & 0xff, (8 + payload.length) >> 8, (8 + payload.length) & 0xff, 0, 0], 34);
  f.set(payload, 42);
  return f;
}

/** Receives from `port` into `batch` (from empty) until `until` holds or `ms` pass; returns the slots whose frames `keep` picks. */
async function collect(port: AfPacketPort, batch: Batch, keep: (f: Uint8Array) => boolean, until: (kept: number) => boolean, ms: number): Promise<number[]> {
  const waiter = new PortWaiter([port]);
  const kept: number[] = [];
  const deadline = Date.now() + ms;
  batch.reset();
  while (!until(kept.length) && Date.now() < deadline && batch.rxCount < batch.rxCapacity) {
    waiter.wait(20);
    const from = batch.rxCount;
    port.rx(batch);
    for (let s = from; s < batch.rxCount; s++) if (keep(batch.bytes(s))) kept.push(s);
    await tick();
  }
  return kept;
}

// Both ways in: through an RX ring (copied from the ring into the slot) and
// without one (rxRing false, the default of `dataplane run`'s offload ports:
// recvmmsg straight into the slot).
for (const rxRing of [true, false]) describe(`AfPacketPort with offload on a veth with default offloads, ${rxRing ? 'through an RX ring' : 'no ring (recvmmsg into the slots)'}`, skipIf(skip), () => {
  let lab: Lab;
  let ns: string;
  let hostEnd: string;
  let peer: string;
  const open: AfPacketPort[] = [];
  const mode = rxRing ? 'r' : 'd';

  beforeAll(() => {
    lab = new Lab();
    ns = lab.netns(`afo${mode}`);
    hostEnd = lab.ifname(`o${mode}`);
    peer = lab.ifname(`p${mode}`);
    lab.veth(hostEnd, peer, ns, `${PEER_IP}/24`);
    ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', peer, 'nud', 'permanent');
  });

  afterAll(() => {
    for (const p of open) p.close();
    lab?.cleanup();
  });

  it('refuses blocks too small for a super-frame, batches without 64 KiB slots, and bursts without offload words', () => {
    expect(() => AfPacketPort.open(hostEnd, { offload: true, blockSize: 65536 })).toThrow(/at least 128 KiB with offload/);
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    expect(() => port.rx(new Batch({ rxCapacity: 4 }))).toThrow(/needs a batch with 64 KiB slots/);
    port.close();
    const io = loadNative();
    const b = new Batch({ rxCapacity: 4, largeSlots: true });
    const withOffload = io.packetOpen(hostEnd, { offload: true, rxRing });
    const without = io.packetOpen(hostEnd, { rxRing });
    try {
      expect(() => io.packetRxBurst(withOffload, b.arena, b.start, b.length, b.maxFrame, 4, 0, null, null, null, null)).toThrow(/an offload ring needs meta/);
      expect(() => io.packetRxBurst(without, b.arena, b.start, b.length, b.maxFrame, 4, 0, null, null, null, b.offload)).toThrow(/meta is for rings opened with offload/);
      expect(() => io.packetTxBurst(without, b.arena, b.start, b.length, 0, null, undefined, b.offload)).toThrow(/meta is for rings opened with offload/);
    } finally {
      io.packetClose(withOffload);
      io.packetClose(without);
    }
  });

  it('hands the peer stack\'s partial UDP checksums over as offload words (NEEDS_CSUM at the UDP header); completing them gives valid datagrams', async () => {
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    const batch = new Batch({ rxCapacity: 64, largeSlots: true });
    const sending = udpFrom(ns, ROUTER_IP, 9004, 20, 4);
    const got = await collect(port, batch, (f) => udpOf(f)?.dstPort === 9004, (n) => n >= 20, 5000);
    await sending;
    expect(got.length).toBe(20);
    for (const s of got) {
      const m = s * OffloadMeta.WORDS;
      const meta = Array.from(batch.offload.subarray(m, m + OffloadMeta.WORDS));
      // flags, gso_type, hdr_len, gso_size, csum_start (14 + 20), csum_offset (UDP's checksum field).
      expect(meta).toEqual([VNET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 6]);
      // The field holds the pseudo-header sum, as the sender's stack left it.
      const f = batch.bytes(s);
      const pseudo = new Uint8Array(12);
      pseudo.set(f.subarray(26, 34), 0);
      pseudo[9] = 17;
      pseudo[10] = f[38];
      pseudo[11] = f[39];
      expect((f[40] << 8) | f[41]).toBe(onesComplement(pseudo, 0, 12));
      completeChecksum(batch, s);
      expect(udpOf(batch.bytes(s))?.checksumOk).toBe(true);
      expect(batch.hasOffload(s)).toBe(false);
    }
    // Carried, not completed in native code: the pipeline does it only where it must.
    expect(port.counters[IoCounter.RX_CHECKSUM_FIXED]).toBe(0);
    expect(port.counters[IoCounter.RX_OFFLOAD_UNSUPPORTED]).toBe(0);
    port.close();
  });

  it('drops a UDP GSO (USO) super-frame and counts it as rx-offload-unsupported; a plain datagram after it still arrives', skipIf(missingToolsMessage(['python3'])), async () => {
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    // UDP_SEGMENT (103): one 8000-byte send leaves as one super-frame of 8 segments (the veth does tx-udp-segmentation).
    const script = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, 1000)
s.sendto(b'u' * 8000, ('${ROUTER_IP}', 9005))
s.setsockopt(socket.IPPROTO_UDP, 103, 0)
s.sendto(b'dp-io plain', ('${ROUTER_IP}', 9005))`;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    const batch = new Batch({ rxCapacity: 64, largeSlots: true });
    const got = await collect(port, batch, (f) => udpOf(f)?.dstPort === 9005, (n) => n >= 1 && port.counters[IoCounter.RX_OFFLOAD_UNSUPPORTED] >= 1, 3000);
    expect(port.counters[IoCounter.RX_OFFLOAD_UNSUPPORTED]).toBe(1);
    expect(got.map((s) => udpOf(batch.bytes(s))?.payload)).toEqual(['dp-io plain']);
    port.close();
  });

  it('hands over an 802.1Q-tagged frame as it was sent (the tag the kernel took out of the frame put back in place)', async () => {
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    const peerMac = parseMac(JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer))[0].address as string);
    const payload = new TextEncoder().encode('dp-io tagged');
    const f = new Uint8Array(46 + payload.length);
    f.set(ROUTER_MAC, 0);
    f.set(peerMac, 6);
    f.set([0x81, 0x00, 0x00, 0x07, 0x08, 0x00], 12);
    const ipLen = 28 + payload.length;
    const src = parseIp(PEER_IP);
    const dst = parseIp(ROUTER_IP);
    f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0, 0, 64, 17, 0, 0, src >>> 24, (src >> 16) & 0xff, (src >> 8) & 0xff, src & 0xff, dst >>> 24, (dst >> 16) & 0xff, (dst >> 8) & 0xff, dst & 0xff], 18);
    const ipSum = ~onesComplement(f, 18, 20) & 0xffff;
    f[28] = ipSum >> 8;
    f[29] = ipSum & 0xff;
    f.set([0x9c, 0x40, 9007 >> 8, 9007 & 0xff, (8 + payload.length) >> 8, (8 + payload.length) & 0xff, 0, 0], 38);
    f.set(payload, 46);
    const batch = new Batch({ rxCapacity: 64, largeSlots: true });
    const sending = sendRawFrom(ns, peer, [f, f]);
    const got = await collect(port, batch, (g) => g[12] === 0x81 && g[13] === 0x00, (n) => n >= 2, 5000);
    await sending;
    expect(got.length).toBe(2);
    for (const s of got) {
      expect(Array.from(batch.bytes(s))).toEqual(Array.from(f));
      expect(batch.hasOffload(s)).toBe(false);
    }
    port.close();
  });

  // The kernel leaves ENETDOWN on a packet socket when its link goes down
  // and reports it once, to the next call on the socket, even after the link
  // came back: a send took it for a link still down (the burst counted as
  // tx-link-down, nothing sent), a recvmmsg for a gone port (the port ended
  // for good).
  it('after its link went down and up again, sends the next burst and keeps receiving (the error the kernel left on the socket is not a down link nor a gone port)', async () => {
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    const listener = await listenIn(ns, PEER_IP, 9008);
    const peerMac = parseMac(JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer))[0].address as string);
    const batch = new Batch({ rxCapacity: 4, largeSlots: true });
    batch.pushView(udpFrame(peerMac, 9008, 'dp-io after down-up'), 0, 0, 0);
    const flap = () => {
      ip('link', 'set', 'dev', hostEnd, 'down');
      ip('link', 'set', 'dev', hostEnd, 'up');
    };
    flap();
    const txBefore = Number(readFileSync(`/sys/class/net/${hostEnd}/statistics/tx_packets`, 'utf8'));
    expect(port.tx(batch, Uint16Array.of(0), 1)).toBe(1);
    expect(port.counters[IoCounter.TX_LINK_DOWN]).toBe(0);
    expect(Number(readFileSync(`/sys/class/net/${hostEnd}/statistics/tx_packets`, 'utf8'))).toBe(txBefore + 1);
    await Promise.race([listener.closed, new Promise((r) => setTimeout(r, 20_000))]);
    if (listener.child.exitCode === null) listener.child.kill('SIGKILL');
    expect(listener.got().split('\n')).toContain('dp-io after down-up');
    flap();
    const rxBatch = new Batch({ rxCapacity: 16, largeSlots: true });
    expect(() => port.rx(rxBatch)).not.toThrow();
    // The peer sends only once its end is up again (the kernel brings its queue back a moment after the carrier).
    const upBy = Date.now() + 10_000;
    while (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer))[0].operstate !== 'UP' && Date.now() < upBy) await new Promise((r) => setTimeout(r, 20));
    const sending = udpFrom(ns, ROUTER_IP, 9009, 3, 1);
    const got = await collect(port, rxBatch, (f) => udpOf(f)?.dstPort === 9009, (n) => n >= 1, 10_000);
    await sending;
    expect(got.length).toBeGreaterThanOrEqual(1);
    port.close();
  }, 70_000);

  it('sends frames behind their offload words: one the kernel refuses (checksum field past the end) is counted as tx-rejected, the next goes out', async () => {
    const port = AfPacketPort.open(hostEnd, { offload: true, rxRing });
    open.push(port);
    // A listener in the namespace prints the first datagram it gets on 9006 (bound before anything is sent).
    const listener = await listenIn(ns, PEER_IP, 9006);
    const peerMac = parseMac(JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer))[0].address as string);
    const batch = new Batch({ rxCapacity: 4, largeSlots: true });
    for (const [k, text] of ['dp-io refused', 'dp-io sent'].entries()) {
      const s = batch.pushView(udpFrame(peerMac, 9006, text, k), 0, 0, 0);
      if (k === 0) {
        // NEEDS_CSUM with the field 200 bytes past a 50-byte frame: the kernel says EINVAL.
        batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] = VNET_HDR_F_NEEDS_CSUM;
        batch.offload[s * OffloadMeta.WORDS + OffloadMeta.CSUM_START] = 200;
        batch.offload[s * OffloadMeta.WORDS + OffloadMeta.CSUM_OFFSET] = 6;
      }
    }
    const hostTx = () => Number(readFileSync(`/sys/class/net/${hostEnd}/statistics/tx_packets`, 'utf8'));
    const txBefore = hostTx();
    expect(port.tx(batch, Uint16Array.of(0, 1), 2)).toBe(2);
    expect(port.counters[IoCounter.TX_REJECTED]).toBe(1);
    expect(port.counters[IoCounter.TX_REJECTED_BYTES]).toBe(42 + 'dp-io refused'.length);
    const firstBurst = `the first burst: tx-link-down ${port.counters[IoCounter.TX_LINK_DOWN]}, ${hostTx() - txBefore} frame(s) through ${hostEnd}`;
    // Delivery through a veth is immediate; the listener still needs the CPU to print and exit, which a loaded machine may take seconds to give.
    // About one run in seven, on the project VM (Intel Xeon), the first burst's datagram never reached the listener although the
    // kernel took it (cause not found; none in 120 runs, 75 of them without a ring, on the AMD EPYC VM, some with namespace churn beside); the same
    // burst, the refused frame first, is sent again each second until one arrives, and every burst counts its refused frame once.
    // One way to get exactly that was the stale ENETDOWN a down/up of the link leaves on the socket (counted as tx-link-down,
    // nothing sent; fixed, see the test above); when the first burst is lost, the log says whether the frame left the veth.
    let bursts = 1;
    const deadline = Date.now() + 20_000;
    while (listener.child.exitCode === null && Date.now() < deadline) {
      await Promise.race([listener.closed, new Promise((r) => setTimeout(r, 1000))]);
      if (listener.child.exitCode !== null || listener.got().includes('dp-io sent')) break;
      if (bursts === 1) console.warn(`af-packet-offload (${mode}): no datagram 1 s after ${firstBurst}; sending again`);
      expect(port.tx(batch, Uint16Array.of(0, 1), 2)).toBe(2);
      bursts++;
    }
    expect(port.counters[IoCounter.TX_REJECTED]).toBe(bursts);
    if (listener.child.exitCode === null) listener.child.kill('SIGKILL');
    await listener.closed;
    expect(listener.got().split('\n'), firstBurst).toContain('dp-io sent');
    port.close();
  }, 70_000);
});

/** How a variant sets up its two legs. */
type Variant = 'default' | 'off' | 'gro' | 'to-tap' | 'vxlan';

// Every transfer ends with a short iperf3 run (transfer.ts).
describe('TCP through afpacket ports on veths', skipIf(rootSkipReason(true, ['iperf3'])), () => {
  const BYTES = 64 * 1024 * 1024;
  let lab: Lab;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    lab = new Lab();
    dir = mkdtempSync(join(tmpdir(), 'dp-afp-offload-'));
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ethtoolOff = (ns: string, dev: string) => ip('netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off');

  /** client --veth-- [router: lan, wan] --veth (or a TAP)-- server, configured as `v` says; returns the config path. */
  function topology(v: Variant): { router: string; client: string; server: string; config: string } {
    const router = lab.netns(`${v}-r`);
    const client = lab.netns(`${v}-c`);
    const server = lab.netns(`${v}-s`);
    const leg = (end: string, host: string, cidr: string, gw: string) => {
      ip('link', 'add', end, 'netns', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
      ip('-n', router, 'link', 'set', 'dev', end, 'up');
      ip('-n', host, 'addr', 'add', cidr, 'dev', 'eth0');
      ip('-n', host, 'link', 'set', 'dev', 'eth0', 'up');
      ip('-n', host, 'route', 'add', 'default', 'via', gw);
    };
    leg('lan', client, '192.0.2.10/24', '192.0.2.1');
    if (v !== 'to-tap') leg('wan', server, '198.51.100.10/24', '198.51.100.1');
    if (v === 'off') {
      for (const [ns, dev] of [[router, 'lan'], [router, 'wan'], [client, 'eth0'], [server, 'eth0']]) ethtoolOff(ns, dev);
    }
    if (v === 'gro') {
      // The client segments in software; the router's ends aggregate (GRO): super-frames with no partial checksum.
      ip('netns', 'exec', client, 'ethtool', '-K', 'eth0', 'tso', 'off', 'gso', 'off');
      ip('netns', 'exec', server, 'ethtool', '-K', 'eth0', 'tso', 'off', 'gso', 'off');
      ip('netns', 'exec', router, 'ethtool', '-K', 'lan', 'gro', 'on');
      ip('netns', 'exec', router, 'ethtool', '-K', 'wan', 'gro', 'on');
    }
    const offload = v === 'off' ? ', offload: false' : '';
    const wan = v === 'to-tap'
      ? `{ type: tap, ifname: dpt${process.pid.toString(36)}, netns: ${server}, peerAddress: 198.51.100.10/24, peerName: eth0 }`
      : `{ type: afpacket, interface: wan${offload} }`;
    const config = join(dir, `${v}.yaml`);
    writeFileSync(config, `ports:
  - name: lan
    address: 192.0.2.1/24
    io: { type: afpacket, interface: lan${offload} }
  - name: wan
    address: 198.51.100.1/24
    io: ${wan}
`);
    return { router, client, server, config };
  }

  async function transfer(v: Variant) {
    const t = topology(v);
    const r = await dataplaneTransfer({ ...t, serverAddr: '198.51.100.10', bytes: BYTES, children });
    const [lan, wan] = r.ports;
    console.log(`afpacket ${v}: iperf3 ${(r.iperfBitsPerSecond / 1e9).toFixed(2)} Gbit/s, lan rx ${lan.rxPackets} frames of ${Math.round(averageRxFrame(lan))} B average, wan tx ${Math.round(averageTxFrame(wan))} B average`);
    return { ...r, lan, wan };
  }

  it('default offloads: the bytes arrive, in TCP super-frames routed whole (lan in and wan out average > 2000 B)', async () => {
    const r = await transfer('default');
    expect(r.received, r.log).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    expect(averageRxFrame(r.lan)).toBeGreaterThan(2000);
    expect(averageTxFrame(r.wan)).toBeGreaterThan(2000);
    expect(r.counters['ip4-gso/segments-made']).toBeUndefined();
    expect(r.counters['io/lan/rx-offload-unsupported']).toBeUndefined();
    expect(r.counters['io/lan/rx-oversize']).toBeUndefined();
    expect(r.counters['ethernet-input/too-big']).toBeUndefined();
  }, 25_000);

  it('offloads off on every end and offload: false: the bytes arrive in MTU-sized frames', { ...skipIf(missingToolsMessage(['ethtool'])), timeout: 25_000 }, async () => {
    const r = await transfer('off');
    expect(r.received, r.log).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(averageRxFrame(r.lan)).toBeLessThanOrEqual(1514);
  });

  it('GRO on the router\'s ends, TSO off at the hosts: aggregated super-frames are routed whole too', { ...skipIf(missingToolsMessage(['ethtool'])), timeout: 25_000 }, async () => {
    const r = await transfer('gro');
    expect(r.received, r.log).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(averageRxFrame(r.lan)).toBeGreaterThan(2000);
    expect(r.counters['io/lan/rx-offload-unsupported']).toBeUndefined();
  });

  it('towards a TAP without offload: super-frames are segmented in software (ip4-gso) and the bytes arrive', async () => {
    const r = await transfer('to-tap');
    expect(r.received, r.log).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(averageRxFrame(r.lan)).toBeGreaterThan(2000);
    expect(r.counters['ip4-gso/segments-made']?.packets ?? 0).toBeGreaterThan(BYTES / 1500);
  }, 25_000);

  it('GSO inside a tunnel (TCP over VXLAN between the hosts) is not routed: said at start, dropped and counted, never silent', { ...skipIf(missingToolsMessage(['ping', 'nc'])), timeout: 25_000 }, async (ctx) => {
    const t = topology('vxlan');
    for (const [ns, local, remote, inner] of [[t.client, '192.0.2.10', '198.51.100.10', '203.0.113.1'], [t.server, '198.51.100.10', '192.0.2.10', '203.0.113.2']]) {
      try {
        ip('-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', 'eth0');
      } catch (e) {
        ctx.skip(`this kernel makes no VXLAN device: ${e instanceof Error ? e.message : String(e)}`);
      }
      ip('-n', ns, 'addr', 'add', `${inner}/24`, 'dev', 'vx0');
      ip('-n', ns, 'link', 'set', 'dev', 'vx0', 'up');
    }
    const run = await withDataplane(t.router, t.config, children, async () => {
      // The tunnel carries small frames (ping); a TCP stream inside it leaves the client in VXLAN-wrapped super-frames.
      const ping = spawnSync('ip', ['netns', 'exec', t.client, 'ping', '-n', '-c1', '-W2', '203.0.113.2'], { encoding: 'utf8', timeout: 5000 });
      const sink = spawn('ip', ['netns', 'exec', t.server, 'timeout', '5', 'nc', '-l', '203.0.113.2', '5002'], { stdio: 'ignore' });
      children.push(sink);
      await new Promise((r) => setTimeout(r, 300));
      spawnSync('ip', ['netns', 'exec', t.client, 'timeout', '3', 'sh', '-c', 'head -c 2000000 /dev/zero | nc -N 203.0.113.2 5002'], { timeout: 6000 });
      return ping.status;
    });
    expect(run.result, run.log).toBe(0);
    expect(run.portLines.find((l) => l.startsWith('lan: afpacket lan'))).toMatch(/unsupported on lan: .*GSO over tunnels.*io\/lan\/rx-offload-unsupported/);
    expect(run.counters['io/lan/rx-offload-unsupported']?.packets ?? 0).toBeGreaterThan(0);
    // Counted where a user looks: in the port's receive drops too.
    expect(run.ports[0].rxLost).toBeGreaterThanOrEqual(run.counters['io/lan/rx-offload-unsupported'].packets);
  });
});

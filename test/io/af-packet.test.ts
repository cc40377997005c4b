// AfPacketPort on a veth pair: the host end (this namespace, up, no address)
// carries the AF_PACKET sockets; the peer end sits in a throwaway namespace
// with 198.51.100.2/24. We answer as 198.51.100.1 with a MAC of our own, so
// the host's stack ignores the frames (not addressed to it) and only our
// sockets act on them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfPacketPort } from '../../src/io/af-packet-port.js';
import { IoCounter, isPortGone } from '../../src/io/native.js';
import { PortWaiter } from '../../src/io/wait.js';
import { Batch } from '../../src/pipeline/batch.js';
import { formatHex, formatMac, parseIp, parseMac, udpOf, vlanFrame } from './frames.js';
import { ip } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { skipIf } from '../skip.js';
import { Lab, rootSkipReason, sendRawFrom, tick, udpFrom } from './netns.js';
import { answerPing } from './serve.js';

const skip = rootSkipReason(false);
const noPing = missingToolsMessage(['ping']);
const ROUTER_MAC = parseMac('02:00:5e:00:33:01');
const ROUTER_IP = '198.51.100.1';
const FANOUT_GROUP = 1000 + (process.pid % 60000);

describe('AfPacketPort on a veth', skipIf(skip), () => {
  let lab: Lab;
  let ns: string;
  let hostEnd: string;
  let peer: string;
  const open: AfPacketPort[] = [];

  beforeAll(() => {
    lab = new Lab();
    ns = lab.netns('pkt');
    hostEnd = lab.ifname('a');
    peer = lab.ifname('b');
    lab.veth(hostEnd, peer, ns, '198.51.100.2/24');
  });

  afterAll(() => {
    for (const p of open) p.close();
    lab?.cleanup();
  });

  it('receives a ping from the namespace and sends the ARP and echo replies back (ping succeeds)', skipIf(noPing), async () => {
    const port = AfPacketPort.open(hostEnd, { index: 1 });
    open.push(port);
    const { exit, output, responder } = await answerPing(port, ns, ROUTER_MAC, parseIp(ROUTER_IP), ROUTER_IP);
    expect(exit, output).toBe(0);
    expect(responder.seen.arpRequests).toBeGreaterThanOrEqual(1);
    expect(responder.seen.echoRequests).toBe(1);
    // Our own replies are not read back (PACKET_IGNORE_OUTGOING / PACKET_OUTGOING skipped).
    expect(responder.seen.frames).toBe(responder.seen.arpRequests + responder.seen.echoRequests);
    const b = responder.batch;
    expect(b.rxPort[0]).toBe(1);
    expect(Math.abs(b.tsSec[0] - Date.now() / 1000)).toBeLessThan(10); // kernel timestamp
    expect(ip('-n', ns, 'neigh', 'show', ROUTER_IP)).toContain(formatMac(ROUTER_MAC));
    port.close();
  });

  it('spreads flows over a fanout group: every datagram read once, by one socket, checksum completed', async () => {
    const a = AfPacketPort.open(hostEnd, { fanoutGroup: FANOUT_GROUP, fanoutMode: 'hash' });
    const b = AfPacketPort.open(hostEnd, { fanoutGroup: FANOUT_GROUP });
    open.push(a, b);
    ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', peer, 'nud', 'permanent');
    const sent = 200;
    const flows = 32;
    const sending = udpFrom(ns, ROUTER_IP, 9002, sent, flows);
    const ports = [a, b];
    const waiter = new PortWaiter(ports);
    const batch = new Batch({ rxCapacity: 256, shared: true });
    const perSocket = [0, 0];
    const flowSocket = new Map<number, number>();
    const seen = new Map<string, number>();
    let senderDone = false;
    void sending.then(() => (senderDone = true));
    const deadline = Date.now() + 5000;
    while (seen.size < sent && Date.now() < deadline) {
      const mask = waiter.wait(20);
      for (let k = 0; k < 2; k++) {
        if (((mask >>> k) & 1) === 0 && !senderDone) continue;
        batch.reset();
        ports[k].rx(batch);
        for (let i = 0; i < batch.rxCount; i++) {
          const u = udpOf(batch.bytes(i));
          if (!u || u.dstPort !== 9002) continue;
          expect(u.checksumOk).toBe(true);
          perSocket[k]++;
          seen.set(u.payload, (seen.get(u.payload) ?? 0) + 1);
          // One flow, one socket.
          expect(flowSocket.get(u.srcPort) ?? k).toBe(k);
          flowSocket.set(u.srcPort, k);
        }
      }
      await tick();
    }
    await sending;
    expect(perSocket[0] + perSocket[1]).toBe(sent);
    expect(seen.size).toBe(sent);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(flowSocket.size).toBe(flows);
    // 32 flows all hashing to one socket: probability 2^-31.
    expect(perSocket[0]).toBeGreaterThan(0);
    expect(perSocket[1]).toBeGreaterThan(0);
    // veth hands the peer stack's UDP over with the checksum left to "hardware".
    expect(a.counters[IoCounter.RX_CHECKSUM_FIXED] + b.counters[IoCounter.RX_CHECKSUM_FIXED]).toBeGreaterThanOrEqual(sent);
    expect(a.stats().drops + b.stats().drops).toBe(0);
  });

  it.each([2, 3] as const)('TPACKET_V%i: puts back the VLAN tag the kernel took out of the frame (802.1Q and 802.1ad), byte for byte', async (ringVersion) => {
    const port = AfPacketPort.open(hostEnd, { ringVersion });
    open.push(port);
    // Tagged frames sent in the namespace by an AF_PACKET socket of its own;
    // the host end's receive path moves the tag into skb metadata.
    const sent = [vlanFrame(0x8100, 7, 1), vlanFrame(0x88a8, 9, 2), vlanFrame(0x8100, 0x2007, 3)];
    await sendRawFrom(ns, peer, sent);
    const batch = new Batch({ rxCapacity: 64 });
    const got: Uint8Array[] = [];
    const waiter = new PortWaiter([port]);
    for (let k = 0; k < 50 && got.length < sent.length; k++) {
      waiter.wait(20);
      batch.reset();
      port.rx(batch);
      for (let i = 0; i < batch.rxCount; i++) got.push(batch.bytes(i).slice());
    }
    expect(got.map(formatHex)).toEqual(sent.map(formatHex));
    port.close();
  });

  it('hands a lone frame over at once with TPACKET_V2, where a V3 block waits for its retire timeout', async () => {
    const v2 = AfPacketPort.open(hostEnd, { ringVersion: 2 });
    const v3 = AfPacketPort.open(hostEnd, { ringVersion: 3, retireTimeoutMs: 1000 });
    open.push(v2, v3);
    const sent = [vlanFrame(0x8100, 5, 4)];
    await sendRawFrom(ns, peer, sent);
    const b2 = new Batch({ rxCapacity: 4 });
    const b3 = new Batch({ rxCapacity: 4 });
    // The V2 socket is woken by the frame itself (well before 500 ms) ...
    const t0 = Date.now();
    expect(new PortWaiter([v2]).wait(500)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(400);
    expect(v2.rx(b2)).toBe(1);
    expect(formatHex(b2.bytes(0))).toBe(formatHex(sent[0]));
    // ... while the same frame sits in the V3 socket's open block until the block retires (1 s after the frame).
    expect(v3.rx(b3)).toBe(0);
    expect(new PortWaiter([v3]).wait(2000)).toBe(1);
    expect(v3.rx(b3)).toBe(1);
    expect(formatHex(b3.bytes(0))).toBe(formatHex(sent[0]));
    v2.close();
    v3.close();
  });

  it('refuses a ring version other than 2 or 3', () => {
    expect(() => AfPacketPort.open(hostEnd, { ringVersion: 1 as 2 })).toThrow(/ringVersion must be 2 \(TPACKET_V2\) or 3/);
  });

  it('refuses to join a fanout group bound to another interface, naming the group', () => {
    expect(() => AfPacketPort.open('lo', { fanoutGroup: FANOUT_GROUP })).toThrow(new RegExp(`fanout group ${FANOUT_GROUP} is in use`));
  });

  it('reports PORT_GONE from rx and tx once the interface is deleted', () => {
    const gone = lab.ifname('x');
    lab.veth(gone, lab.ifname('y'), ns, '203.0.113.2/24');
    const port = AfPacketPort.open(gone);
    open.push(port);
    ip('link', 'del', gone);
    const batch = new Batch({ rxCapacity: 4 });
    let err: unknown;
    try {
      port.rx(batch);
    } catch (e) {
      err = e;
    }
    expect(isPortGone(err)).toBe(true);
    expect((err as Error).message).toContain(`interface ${gone} is gone`);
    batch.pushFrame(new Uint8Array(60), 0, 60, 0, 0, 0);
    expect(() => port.tx(batch, Uint16Array.of(0), 1)).toThrow(/is gone/);
  });
});

// TapPort against the real kernel: the TAP is created here, its kernel side
// is moved into a throwaway namespace (the fd keeps working), and that
// namespace's stack talks to us: ping, ARP, UDP over several flows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortGone } from '../../src/io/native.js';
import { TapPort } from '../../src/io/tap-port.js';
import { Batch } from '../../src/pipeline/batch.js';
import { formatMac, parseIp, parseMac, udpOf } from './frames.js';
import { ip } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { skipIf } from '../skip.js';
import { Lab, rootSkipReason, udpFrom } from './netns.js';
import { answerPing } from './serve.js';

const skip = rootSkipReason(true);
const noPing = missingToolsMessage(['ping']);
const ROUTER_MAC = parseMac('02:00:5e:00:02:01');
const ROUTER_IP = '192.0.2.1';

for (const vnetHdr of [false, true]) {
  const label = vnetHdr ? ' (IFF_VNET_HDR)' : '';
  describe(`TapPort${label} with the kernel side in a namespace`, skipIf(skip), () => {
    let lab: Lab;
    let ns: string;
    let port: TapPort;

    beforeAll(() => {
      lab = new Lab();
      ns = lab.netns(vnetHdr ? 'tapv' : 'tap');
      port = TapPort.open(lab.ifname(vnetHdr ? 'v' : 't'), { index: 3, vnetHdr });
      ip('link', 'set', 'dev', port.name, 'netns', ns);
      ip('-n', ns, 'addr', 'add', '192.0.2.2/24', 'dev', port.name);
      ip('-n', ns, 'link', 'set', 'dev', port.name, 'up');
    });

    afterAll(() => {
      port?.close();
      lab?.cleanup();
    });

    it('receives the ARP request and echo request of a ping, and the kernel takes our replies (ping succeeds)', skipIf(noPing), async () => {
      expect(port.vnetHdrLen).toBe(vnetHdr ? 10 : 0);
      const { exit, output, responder } = await answerPing(port, ns, ROUTER_MAC, parseIp(ROUTER_IP), ROUTER_IP);
      expect(exit, output).toBe(0);
      expect(responder.seen.arpRequests).toBeGreaterThanOrEqual(1);
      expect(responder.seen.echoRequests).toBe(1);
      expect(responder.batch.rxPort[0]).toBe(3);
      expect(ip('-n', ns, 'neigh', 'show', ROUTER_IP)).toContain(formatMac(ROUTER_MAC));
    });

    it('reads a burst of UDP datagrams, each exactly once, with the UDP checksum intact', async () => {
      ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', port.name, 'nud', 'permanent');
      const sent = 100;
      await udpFrom(ns, ROUTER_IP, 9000, sent, 8);
      const batch = new Batch({ rxCapacity: 256, shared: true });
      const seen = new Map<string, number>();
      // Everything is queued by now: bursts of up to 256 without waiting.
      for (let burst = 0; burst < 10 && seen.size < sent; burst++) {
        batch.reset();
        port.rx(batch);
        for (let i = 0; i < batch.rxCount; i++) {
          const u = udpOf(batch.bytes(i));
          if (!u || u.dstPort !== 9000) continue;
          expect(u.checksumOk).toBe(true);
          seen.set(u.payload, (seen.get(u.payload) ?? 0) + 1);
        }
      }
      expect(seen.size).toBe(sent);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    });
  });
}

describe('multi-queue TAP', skipIf(skip), () => {
  let lab: Lab;
  let ns: string;
  let queues: TapPort[] = [];

  beforeAll(() => {
    lab = new Lab();
    ns = lab.netns('mq');
    // Every queue is attached before the kernel side moves (TUNSETIFF looks the name up here).
    queues = TapPort.openQueues(lab.ifname('q'), 2);
    const name = queues[0].name;
    ip('link', 'set', 'dev', name, 'netns', ns);
    ip('-n', ns, 'addr', 'add', '192.0.2.2/24', 'dev', name);
    ip('-n', ns, 'link', 'set', 'dev', name, 'up');
    ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', name, 'nud', 'permanent');
  });

  afterAll(() => {
    for (const q of queues) q.close();
    lab?.cleanup();
  });

  it('opens two queues of one TAP, and flows are spread over them with each frame on exactly one', async () => {
    expect(queues).toHaveLength(2);
    expect(queues[0].fd).not.toBe(queues[1].fd);
    expect(queues[1].name).toBe(queues[0].name);
    const sent = 128;
    await udpFrom(ns, ROUTER_IP, 9001, sent, 32);
    const batch = new Batch({ rxCapacity: 256 });
    const perQueue = [0, 0];
    const seen = new Map<string, number>();
    for (let burst = 0; burst < 10 && seen.size < sent; burst++) {
      queues.forEach((q, k) => {
        batch.reset();
        q.rx(batch);
        for (let i = 0; i < batch.rxCount; i++) {
          const u = udpOf(batch.bytes(i));
          if (!u || u.dstPort !== 9001) continue;
          perQueue[k]++;
          seen.set(u.payload, (seen.get(u.payload) ?? 0) + 1);
        }
      });
    }
    expect(perQueue[0] + perQueue[1]).toBe(sent);
    expect(seen.size).toBe(sent);
    // 32 flows all hashing to one queue: probability 2^-31.
    expect(perQueue[0]).toBeGreaterThan(0);
    expect(perQueue[1]).toBeGreaterThan(0);
  });
});

describe('a TAP that disappears', skipIf(skip), () => {
  let lab: Lab;
  let port: TapPort | undefined;

  afterAll(() => {
    port?.close();
    lab?.cleanup();
  });

  it('drops and counts frames sent while the link is down, then reports PORT_GONE once it is deleted', () => {
    lab = new Lab();
    const ns = lab.netns('gone');
    port = TapPort.open(lab.ifname('g'));
    const batch = new Batch({ rxCapacity: 4 });
    batch.pushFrame(new Uint8Array(60).fill(0xff), 0, 60, 0, 0, 0);
    const slots = Uint16Array.of(0);
    expect(port.tx(batch, slots, 1)).toBe(1); // down: consumed, counted
    expect(port.counters[2]).toBe(1);
    ip('link', 'set', 'dev', port.name, 'netns', ns);
    ip('-n', ns, 'link', 'del', port.name);
    batch.reset();
    let err: unknown;
    try {
      port.rx(batch);
    } catch (e) {
      err = e;
    }
    expect(isPortGone(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^${port.name}: rxBurst\\(fd \\d+\\): the interface is gone`));
    expect(() => port?.tx(batch, slots, 1)).toThrow(/interface is gone/);
  });
});

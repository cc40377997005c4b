// AfXdpPort on a veth pair: the host end (this namespace, up, no address)
// gets the XDP program and one AF_XDP socket on queue 0; the peer sits in a
// throwaway namespace with 198.51.100.2/24. We answer as 198.51.100.1 with a
// MAC of our own. What is checked: frames arrive inside the batch arena's
// port area (the UMEM: no copy), chunks are recycled (more frames than the
// UMEM holds get through), the kernel's rings hold a burst of all the frames
// but the TX reserve while nobody receives, that reserve still sends when
// the receive side has run dry, and both send paths work: an echo reply
// written over the request and sent from its chunk, an ARP reply from a
// generated slot copied into the UMEM (ping only succeeds when both do); a
// 256-frame burst leaves in one call.
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AfXdpPort, XSK_FRAME_BYTES, XSK_MAX_FRAME_BYTES } from '../../src/io/af-xdp-port.js';
import { IoCounter, loadNative, type XdpAttachment } from '../../src/io/native.js';
import { PortWaiter } from '../../src/io/wait.js';
import { ip } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { Batch, slotBytesForMtu } from '../../src/pipeline/batch.js';
import { skipIf } from '../skip.js';
import { arpReplyFor, echoReplyFor, formatMac, onesComplement, parseIp, parseMac, udpOf } from './frames.js';
import { Lab, nativeSkipReason, pingFrom, rootSkipReason, tick, udpFrom } from './netns.js';

const skip = rootSkipReason(false) ?? nativeSkipReason();
const noPing = missingToolsMessage(['ping']);
const ROUTER_MAC = parseMac('02:00:5e:00:33:02');
const ROUTER_IP = '198.51.100.1';

/** UDP 198.51.100.1 -> 198.51.100.2:9, 60 bytes, from our MAC to `peerMac`. */
function udpFrame(peerMac: Uint8Array): Uint8Array {
  const frame = new Uint8Array(60);
  frame.set(peerMac, 0);
  frame.set(ROUTER_MAC, 6);
  frame.set([0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 51, 100, 1, 198, 51, 100, 2, 0x9c, 0x40, 0, 9, 0, 26, 0, 0], 12);
  const sum = ~onesComplement(frame, 14, 20) & 0xffff;
  frame[24] = sum >> 8;
  frame[25] = sum & 0xff;
  return frame;
}

describe('AfXdpPort on a veth', skipIf(skip), () => {
  let lab: Lab;
  let ns: string;
  let hostEnd: string;
  let attached: XdpAttachment | undefined;
  let port: AfXdpPort | undefined;
  let batch: Batch;
  const FRAMES = 2048; // fill and RX rings of 2048, a TX reserve of 512: the kernel holds up to 1536 frames

  beforeAll(() => {
    lab = new Lab();
    ns = lab.netns('xdp');
    hostEnd = lab.ifname('x');
    const peer = lab.ifname('y');
    lab.veth(hostEnd, peer, ns, '198.51.100.2/24');
    ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', peer, 'nud', 'permanent');
    attached = loadNative().xdpAttach(hostEnd, { mode: 'generic' });
    batch = new Batch({ rxCapacity: 256, generatedCapacity: 64, portAreaBytes: AfXdpPort.areaBytes(FRAMES) });
    port = AfXdpPort.open(hostEnd, { queue: 0, mapFd: attached.mapFd, batch, frames: FRAMES, bind: 'copy', index: 1 });
  });

  afterAll(() => {
    port?.close();
    if (attached !== undefined) loadNative().xdpDetach(attached.linkFd, attached.progFd, attached.mapFd);
    lab?.cleanup();
  });

  it('receives datagrams in the UMEM inside the batch arena, and recycles its chunks (3 x 800 datagrams through a UMEM of 2048)', async () => {
    const p = port as AfXdpPort;
    expect(p.zerocopy).toBe(false); // veth: copy mode
    expect(p.bindMode).toBe('copy with need_wakeup');
    const waiter = new PortWaiter([p]);
    const areaEnd = batch.portAreaStart + batch.portAreaBytes;
    const seen = new Set<string>();
    let outsideArea = 0;
    for (let round = 0; round < 3; round++) {
      const want = (round + 1) * 800;
      const sending = udpFrom(ns, ROUTER_IP, 9100 + round, 800, 8);
      let done = false;
      void sending.then(() => (done = true));
      const deadline = Date.now() + 5000;
      while (seen.size < want && Date.now() < deadline) {
        if (waiter.wait(20) === 0 && done) break;
        batch.reset();
        const n = p.rx(batch);
        for (let i = 0; i < n; i++) {
          if (batch.start[i] < batch.portAreaStart || batch.start[i] + batch.length[i] > areaEnd) outsideArea++;
          expect(batch.rxPort[i]).toBe(1);
          const u = udpOf(batch.bytes(i));
          if (u !== undefined && u.dstPort === 9100 + round) seen.add(`${round}:${u.payload}`);
        }
        await tick();
      }
      await sending;
      expect(seen.size, `round ${round}: ${JSON.stringify(p.stats())}`).toBe(want);
    }
    expect(outsideArea).toBe(0);
    expect(p.counters[5], 'rx-kernel-drops').toBe(0);
  }, 30_000);

  it('starts its UMEM on a 2 MiB boundary of memory, so that it can take huge pages (a frame per 4 KiB page missed the TLB on every first read)', () => {
    const p = port as AfXdpPort;
    const io = loadNative();
    if (io.addressMod === undefined) return;
    const huge = 2 << 20;
    expect((io.addressMod(batch.arena, huge) + p.umemOffset) % huge).toBe(0);
    expect(p.umemOffset).toBeGreaterThanOrEqual(batch.portAreaStart);
    expect(p.umemOffset + FRAMES * XSK_FRAME_BYTES).toBeLessThanOrEqual(batch.portAreaStart + batch.portAreaBytes);
  });

  /** Kernel drops since bind (XDP_STATISTICS): no fill-ring frame, RX ring full, or dropped otherwise. */
  const kernelDrops = (p: AfXdpPort) => {
    const st = p.stats();
    return (st?.rxDropped ?? 0) + (st?.rxRingFull ?? 0);
  };

  /** Receives until nothing has come for 200 ms; the datagrams to `dstPort` seen. */
  const drain = async (p: AfXdpPort, dstPort: number): Promise<number> => {
    const waiter = new PortWaiter([p]);
    let got = 0;
    let quietSince = Date.now();
    while (Date.now() - quietSince < 200) {
      waiter.wait(20);
      batch.reset();
      const n = p.rx(batch);
      if (n > 0) quietSince = Date.now();
      for (let i = 0; i < n; i++) if (udpOf(batch.bytes(i))?.dstPort === dstPort) got++;
      await tick();
    }
    return got;
  };

  it('holds a burst of 1400 datagrams in its rings while nobody receives: all but the TX reserve of the UMEM is the kernel\'s', async () => {
    const p = port as AfXdpPort;
    expect(p.stats()).toMatchObject({ ringSize: FRAMES, txReserve: 512 });
    await drain(p, 0);
    const before = kernelDrops(p);
    await udpFrom(ns, ROUTER_IP, 9200, 1400, 8); // nobody calls rx meanwhile
    expect(kernelDrops(p) - before, JSON.stringify(p.stats())).toBe(0);
    expect(await drain(p, 9200)).toBe(1400);
  }, 30_000);

  it('naps in slices bounded by its fill ring: a whole nap while the ring is stocked, none once it is down to an eighth (1400 datagrams waiting)', async () => {
    const p = port as AfXdpPort;
    const nap = AfXdpPort.ringBoundedNap([p]);
    expect(nap).toBeDefined();
    const io = loadNative();
    const handles = Int32Array.of(p.xskHandle);
    await drain(p, 0);
    // Stocked: the kernel holds 1536 frames, 1280 above the mark of 256, which last 512 us at 2.5 frames/us: a slice.
    // A slice that oversleeps past the nap's end (a loaded machine wakes a thread milliseconds late: at
    // load 15 a 400 us nap took 3.7-4 ms in 2 of 6 tries) leaves one slice: the most of three naps counts.
    let slices = 0;
    for (let attempt = 0; attempt < 3 && slices < 2; attempt++) {
      const napStart = performance.now();
      slices = Math.max(slices, io.xskNapUs?.(handles, 1, 3000) ?? 0);
      expect(performance.now() - napStart).toBeGreaterThanOrEqual(2.9);
    }
    expect(slices).toBeGreaterThanOrEqual(2);
    // 1400 datagrams waiting leave 136 frames in the fill ring, under the mark: a nap of 100 ms ends at once.
    await udpFrom(ns, ROUTER_IP, 9250, 1400, 8); // nobody calls rx meanwhile
    const t0 = performance.now();
    expect(io.xskNapUs?.(handles, 1, 100_000)).toBe(0);
    const elapsedMs = performance.now() - t0;
    expect(elapsedMs).toBeLessThan(50);
    expect(await drain(p, 9250)).toBe(1400);
  }, 30_000);

  it('sends from its TX reserve while the kernel holds every other frame (2000 datagrams waiting, then a 256-frame burst of copies)', async () => {
    const p = port as AfXdpPort;
    const peer = lab.ifname('y');
    const peerMac = parseMac((JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer)) as { address: string }[])[0].address);
    const rxPackets = () => (JSON.parse(ip('-n', ns, '-s', '-j', 'link', 'show', 'dev', peer)) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
    await udpFrom(ns, ROUTER_IP, 9300, 2000, 8); // more than the kernel's 1536 frames: its fill ring runs dry
    expect(p.stats()?.rxFillRingEmpty).toBeGreaterThan(0);
    const frame = udpFrame(peerMac);
    batch.reset();
    const slots = new Uint16Array(256);
    for (let i = 0; i < 256; i++) slots[i] = batch.pushFrame(frame, 0, frame.length, 1, 0, 0);
    const sent = rxPackets();
    expect(p.tx(batch, slots, 256)).toBe(256);
    const deadline = Date.now() + 2000;
    while (rxPackets() - sent < 256 && Date.now() < deadline) await tick();
    expect(rxPackets() - sent).toBe(256);
    expect(await drain(p, 9300)).toBe(1536);
  }, 30_000);

  it('answers a ping: the echo reply from the request\'s own chunk, the ARP reply copied in (ping succeeds)', skipIf(noPing), async () => {
    const p = port as AfXdpPort;
    ip('-n', ns, 'neigh', 'del', ROUTER_IP, 'dev', lab.ifname('y'));
    const waiter = new PortWaiter([p]);
    const slots = new Uint16Array(64);
    const ipNum = parseIp(ROUTER_IP);
    let arps = 0;
    let echoes = 0;
    const ping = pingFrom(ns, ROUTER_IP);
    const deadline = Date.now() + 5000;
    while (!ping.done() && Date.now() < deadline) {
      if (waiter.wait(20) !== 0) {
        batch.reset();
        const n = p.rx(batch);
        let out = 0;
        for (let i = 0; i < n; i++) {
          const f = batch.bytes(i);
          const arp = arpReplyFor(f, ROUTER_MAC, ipNum);
          if (arp !== undefined) {
            const s = batch.allocGenerated(i);
            batch.arena.set(arp, batch.start[s]);
            batch.length[s] = arp.length;
            slots[out++] = s;
            arps++;
            continue;
          }
          const echo = echoReplyFor(f, ROUTER_MAC, ipNum);
          if (echo !== undefined && echo.length <= batch.length[i]) {
            batch.arena.set(echo, batch.start[i]); // in place: the slot still points into the UMEM
            batch.length[i] = echo.length;
            slots[out++] = i;
            echoes++;
          }
        }
        if (out > 0) expect(p.tx(batch, slots, out)).toBe(out);
      }
      await tick();
    }
    const exit = await ping.exit;
    expect(exit, ping.output()).toBe(0);
    expect(arps).toBeGreaterThanOrEqual(1);
    expect(echoes).toBe(1);
  });

  it('sends a whole 256-frame burst in one call; copy-mode sendto() takes the ring (XDP_MAX_TX_SKB_BUDGET) where the kernel has it', async () => {
    const p = port as AfXdpPort;
    const peer = lab.ifname('y');
    const peerMac = parseMac((JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peer)) as { address: string }[])[0].address);
    const rxPackets = () => (JSON.parse(ip('-n', ns, '-s', '-j', 'link', 'show', 'dev', peer)) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
    // Built in the batch's own slots, so each is copied into a UMEM chunk.
    const frame = udpFrame(peerMac);
    batch.reset();
    const slots = new Uint16Array(256);
    for (let i = 0; i < 256; i++) slots[i] = batch.pushFrame(frame, 0, frame.length, 1, 0, 0);
    const before = rxPackets();
    expect(p.tx(batch, slots, 256)).toBe(256);
    const deadline = Date.now() + 2000;
    while (rxPackets() - before < 256 && Date.now() < deadline) await tick();
    expect(rxPackets() - before).toBe(256);
    // Linux 6.17 added the option (budget 32 .. TX ring entries); before, the kernel's 32 and a kick per 32 frames.
    const [major, minor] = release().split('.').map(Number);
    expect(p.stats()?.txBudget).toBe(major > 6 || (major === 6 && minor >= 17) ? FRAMES / 2 : 32);
  });

  describe('a frame longer than a UMEM chunk carries (the batch\'s slots are as large as the largest port needs)', () => {
    const peerEnd = () => lab.ifname('y');
    const peerMac = () => parseMac((JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', peerEnd())) as { address: string }[])[0].address);
    const peerRx = () => (JSON.parse(ip('-n', ns, '-s', '-j', 'link', 'show', 'dev', peerEnd())) as { stats64: { rx: { packets: number; bytes: number } } }[])[0].stats64.rx;
    /** A frame of `len` bytes to the peer (an EtherType its stack ignores), its payload all `fill`. */
    const rawFrame = (len: number, fill: number) => {
      const f = new Uint8Array(len).fill(fill);
      f.set(peerMac(), 0);
      f.set(ROUTER_MAC, 6);
      f.set([0x88, 0xb5], 12);
      return f;
    };
    /** 64-byte lines of the UMEM's port area that are all `fill`: where a copy of a frame of that payload would show. */
    const linesOf = (fill: number) => {
      const a = batch.arena;
      let n = 0;
      for (let o = batch.portAreaStart; o + 64 <= batch.portAreaStart + batch.portAreaBytes; o += 64) {
        let k = 0;
        while (k < 64 && a[o + k] === fill) k++;
        if (k === 64) n++;
      }
      return n;
    };
    /** Waits until the peer has counted `want` more frames than `before` (or 1 s), then 100 ms more for any stray one. */
    const peerGot = async (before: { packets: number; bytes: number }, want: number) => {
      const deadline = Date.now() + 1000;
      while (peerRx().packets - before.packets < want && Date.now() < deadline) await tick();
      const end = Date.now() + 100;
      while (Date.now() < end) await tick();
      const now = peerRx();
      return { packets: now.packets - before.packets, bytes: now.bytes - before.bytes };
    };
    /** Both veth ends at `mtu` for the length of `fn`: the link itself would carry what the socket must refuse. */
    const withMtu = async (mtu: number, fn: () => Promise<void>) => {
      ip('link', 'set', 'dev', hostEnd, 'mtu', String(mtu));
      ip('-n', ns, 'link', 'set', 'dev', peerEnd(), 'mtu', String(mtu));
      try {
        await fn();
      } finally {
        ip('link', 'set', 'dev', hostEnd, 'mtu', '1500');
        ip('-n', ns, 'link', 'set', 'dev', peerEnd(), 'mtu', '1500');
      }
    };

    it('copied in from a jumbo slot: a 5000-byte frame is counted tx-oversize, never copied into the UMEM nor sent; a frame of exactly a chunk\'s 3840 bytes and the rest of the burst go out', async () => {
      const p = port as AfXdpPort;
      expect(XSK_MAX_FRAME_BYTES).toBe(3840);
      await withMtu(9000, async () => {
        const jumbo = new Batch({ rxCapacity: 8, generatedCapacity: 8, slotBytes: slotBytesForMtu(9000) });
        const slots = Uint16Array.of(
          jumbo.pushView(rawFrame(60, 0x5a), 0, 0, 0),
          jumbo.pushView(rawFrame(5000, 0xa5), 0, 0, 0),
          jumbo.pushView(rawFrame(XSK_MAX_FRAME_BYTES + 1, 0xa5), 0, 0, 0),
          jumbo.pushView(rawFrame(XSK_MAX_FRAME_BYTES, 0x5a), 0, 0, 0),
        );
        expect(Math.min(...slots)).toBeGreaterThanOrEqual(0);
        const before = peerRx();
        const oversize = [p.counters[IoCounter.TX_OVERSIZE], p.counters[IoCounter.TX_OVERSIZE_BYTES]];
        const rejected = p.counters[IoCounter.TX_REJECTED];
        expect(p.tx(jumbo, slots, 4)).toBe(4);
        expect([p.counters[IoCounter.TX_OVERSIZE] - oversize[0], p.counters[IoCounter.TX_OVERSIZE_BYTES] - oversize[1]]).toEqual([2, 5000 + XSK_MAX_FRAME_BYTES + 1]);
        expect(p.counters[IoCounter.TX_REJECTED]).toBe(rejected);
        expect(await peerGot(before, 2)).toEqual({ packets: 2, bytes: 60 + XSK_MAX_FRAME_BYTES });
        expect(linesOf(0xa5), 'a line of the oversize frames\' payload in the UMEM').toBe(0);
        expect(linesOf(0x5a), 'the 3840-byte frame was copied into a chunk').toBeGreaterThan(50);
      });
    });

    it('received into the UMEM and lengthened past its chunk: dropped the same way, not sent from where it lies', async () => {
      const p = port as AfXdpPort;
      const waiter = new PortWaiter([p]);
      const sending = udpFrom(ns, ROUTER_IP, 9400, 1, 1);
      let n = 0;
      const deadline = Date.now() + 2000;
      batch.reset();
      while (n === 0 && Date.now() < deadline) {
        waiter.wait(20);
        n = p.rx(batch);
        await tick();
      }
      await sending;
      expect(n).toBe(1);
      // In its chunk, 256 bytes in: a chunk's 3840 bytes fit from there, one more does not.
      expect(batch.start[0]).toBeGreaterThanOrEqual(p.umemOffset);
      expect((batch.start[0] - p.umemOffset) % XSK_FRAME_BYTES).toBe(256);
      batch.length[0] = XSK_MAX_FRAME_BYTES + 1;
      const before = peerRx();
      const oversize = p.counters[IoCounter.TX_OVERSIZE];
      expect(p.tx(batch, Uint16Array.of(0), 1)).toBe(1);
      expect(p.counters[IoCounter.TX_OVERSIZE] - oversize).toBe(1);
      expect((await peerGot(before, 0)).packets).toBe(0);
    });

    it('sent by a worker without a queue (send-only): the same limit, although the kernel would take a 5000-byte frame on this link', async () => {
      const sendOnly = AfXdpPort.open(hostEnd, { queue: -1, mapFd: (attached as XdpAttachment).mapFd, batch, index: 1 });
      try {
        await withMtu(9000, async () => {
          const jumbo = new Batch({ rxCapacity: 8, generatedCapacity: 8, slotBytes: slotBytesForMtu(9000) });
          const slots = Uint16Array.of(jumbo.pushView(rawFrame(5000, 0xa5), 0, 0, 0), jumbo.pushView(rawFrame(XSK_MAX_FRAME_BYTES, 0x5a), 0, 0, 0));
          const before = peerRx();
          expect(sendOnly.tx(jumbo, slots, 2)).toBe(2);
          expect([sendOnly.counters[IoCounter.TX_OVERSIZE], sendOnly.counters[IoCounter.TX_OVERSIZE_BYTES], sendOnly.counters[IoCounter.TX_REJECTED]]).toEqual([1, 5000, 0]);
          expect(await peerGot(before, 1)).toEqual({ packets: 1, bytes: XSK_MAX_FRAME_BYTES });
        });
      } finally {
        sendOnly.close();
      }
    });
  });

  it('names the interface when a queue does not exist', () => {
    expect(() => AfXdpPort.open(hostEnd, { queue: 5, mapFd: -1, batch: new Batch({ portAreaBytes: AfXdpPort.areaBytes(64) }), frames: 64 })).toThrow(
      new RegExp(`${hostEnd}: .*queue 5 does not exist on ${hostEnd}`),
    );
  });
});

// The offload metadata layout is defined twice: native/src/vnet.h (what the
// bursts read and write) and OffloadMeta / VNET_HDR_* in pipeline/batch.ts
// (what the nodes read and write). The addon exports its side; they must be
// equal, word for word and flag for flag. No root needed for that. Both the
// AF_PACKET and the TAP bursts use vnet.h; as root, a frame through an
// offload TAP and back checks the TAP bursts against the TypeScript words,
// and frames the TAP drops (words the kernel refuses, link down) are counted
// with their bytes, which the run loop needs to tell them from frames sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, sysctl } from '../../src/host/commands.js';
import { IoCounter, loadNative } from '../../src/io/native.js';
import { TapPort } from '../../src/io/tap-port.js';
import { PortWaiter } from '../../src/io/wait.js';
import { Batch, OffloadMeta, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_ECN, VNET_HDR_GSO_NONE, VNET_HDR_GSO_TCPV4 } from '../../src/pipeline/batch.js';
import { formatMac, onesComplement, parseIp, parseMac } from './frames.js';
import { Lab, nativeSkipReason, rootSkipReason } from './netns.js';
import { skipIf } from '../skip.js';

const skip = rootSkipReason(true);
const ROUTER_MAC = parseMac('02:00:5e:00:44:01');
const ROUTER_IP = '192.0.2.1';
const PEER_IP = '192.0.2.2';
const FAR_IP = '198.51.100.9';

describe('offload metadata layout: addon (vnet.h) = TypeScript (batch.ts)', skipIf(nativeSkipReason()), () => {
  it('has the same words per slot and the same word for each virtio_net_hdr field', () => {
    const l = loadNative().offloadLayout;
    expect({
      words: l.words,
      flags: l.flags,
      gsoType: l.gsoType,
      hdrLen: l.hdrLenWord,
      gsoSize: l.gsoSize,
      csumStart: l.csumStart,
      csumOffset: l.csumOffset,
    }).toEqual({
      words: OffloadMeta.WORDS,
      flags: OffloadMeta.FLAGS,
      gsoType: OffloadMeta.GSO_TYPE,
      hdrLen: OffloadMeta.HDR_LEN,
      gsoSize: OffloadMeta.GSO_SIZE,
      csumStart: OffloadMeta.CSUM_START,
      csumOffset: OffloadMeta.CSUM_OFFSET,
    });
  });

  it('has the same flag and GSO type values', () => {
    const l = loadNative().offloadLayout;
    expect([l.fNeedsCsum, l.gsoNone, l.gsoTcpV4, l.gsoEcn]).toEqual([VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_NONE, VNET_HDR_GSO_TCPV4, VNET_HDR_GSO_ECN]);
  });

  it('keeps the words in the field order of the 10-byte struct virtio_net_hdr (linux/virtio_net.h)', () => {
    const l = loadNative().offloadLayout;
    expect(l.hdrLen).toBe(10);
    // u8 flags, u8 gso_type, then __virtio16 hdr_len, gso_size, csum_start, csum_offset.
    expect([l.hdrFlagsAt, l.hdrGsoTypeAt, l.hdrHdrLenAt, l.hdrGsoSizeAt, l.hdrCsumStartAt, l.hdrCsumOffsetAt]).toEqual([0, 1, 2, 4, 6, 8]);
    const byOffset = [l.flags, l.gsoType, l.hdrLenWord, l.gsoSize, l.csumStart, l.csumOffset];
    expect(byOffset).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

// The same words on the TAP path, end to end: a TCP super-packet sent through
// an offload TAP with its offload words set comes back forwarded by the
// namespace's stack, and the words rxBurst writes name the same fields. A TAP
// burst that read or wrote another layout than offloadLayout's could not
// make the round trip: the kernel would refuse the frame or hand back other
// values.
describe('offload words through a TAP and back', skipIf(skip), () => {
  let lab: Lab;
  let ns: string;
  let port: TapPort;

  beforeAll(() => {
    lab = new Lab();
    ns = lab.netns('lay');
    port = TapPort.open(lab.ifname('l'), { offload: true });
    ip('link', 'set', 'dev', port.name, 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${PEER_IP}/24`, 'dev', port.name);
    ip('-n', ns, 'link', 'set', 'dev', port.name, 'up');
    ip('-n', ns, 'neigh', 'replace', ROUTER_IP, 'lladdr', formatMac(ROUTER_MAC), 'dev', port.name, 'nud', 'permanent');
    // Back to us: the namespace forwards what we send to 198.51.100.0/24 out the same TAP.
    ip('-n', ns, 'route', 'add', '198.51.100.0/24', 'via', ROUTER_IP);
    sysctl(ns, 'net.ipv4.ip_forward', '1');
    sysctl(ns, 'net.ipv4.conf.all.send_redirects', '0');
  });

  afterAll(() => {
    port?.close();
    lab?.cleanup();
  });

  it('a TCP super-packet with NEEDS_CSUM and GSO_TCPV4 words goes out and comes back with the same words', async () => {
    const tapMac = parseMac(JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', port.name))[0].address as string);
    const PAYLOAD = 3000;
    const MSS = 1000;
    const f = new Uint8Array(54 + PAYLOAD);
    f.set(tapMac, 0);
    f.set(ROUTER_MAC, 6);
    f.set([0x08, 0x00], 12);
    const ipLen = 40 + PAYLOAD;
    const src = parseIp(ROUTER_IP);
    const dst = parseIp(FAR_IP);
    f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0], 14);
    f.set([src >>> 24, (src >> 16) & 0xff, (src >> 8) & 0xff, src & 0xff, dst >>> 24, (dst >> 16) & 0xff, (dst >> 8) & 0xff, dst & 0xff], 26);
    const ipSum = ~onesComplement(f, 14, 20) & 0xffff;
    f[24] = ipSum >> 8;
    f[25] = ipSum & 0xff;
    // TCP 40000 -> 9, seq 1, ack 1, data offset 5, ACK|PSH, window 1024; the checksum field holds the pseudo-header sum.
    f.set([0x9c, 0x40, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x04, 0x00], 34);
    const pseudo = new Uint8Array(12);
    pseudo.set(f.subarray(26, 34), 0);
    pseudo[9] = 6;
    pseudo[10] = (20 + PAYLOAD) >> 8;
    pseudo[11] = (20 + PAYLOAD) & 0xff;
    const partial = onesComplement(pseudo, 0, 12);
    f[50] = partial >> 8;
    f[51] = partial & 0xff;
    for (let i = 54; i < f.length; i++) f[i] = i & 0xff;

    const batch = new Batch({ rxCapacity: 16, largeSlots: true, shared: true });
    const s = batch.pushView(f, 0, 0, 0);
    const m = s * OffloadMeta.WORDS;
    batch.offload[m + OffloadMeta.FLAGS] = VNET_HDR_F_NEEDS_CSUM;
    batch.offload[m + OffloadMeta.GSO_TYPE] = VNET_HDR_GSO_TCPV4;
    batch.offload[m + OffloadMeta.HDR_LEN] = 54;
    batch.offload[m + OffloadMeta.GSO_SIZE] = MSS;
    batch.offload[m + OffloadMeta.CSUM_START] = 34;
    batch.offload[m + OffloadMeta.CSUM_OFFSET] = 16;
    expect(port.tx(batch, Uint16Array.of(s), 1)).toBe(1);
    expect(port.counters[IoCounter.TX_REJECTED]).toBe(0);

    const waiter = new PortWaiter([port]);
    const back: { len: number; meta: number[] }[] = [];
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && back.length === 0) {
      waiter.wait(20);
      batch.reset();
      port.rx(batch);
      for (let i = 0; i < batch.rxCount; i++) {
        const g = batch.bytes(i);
        if (g.length < 54 || g[23] !== 6 || g[36] !== 0 || g[37] !== 9) continue;
        back.push({ len: g.length, meta: Array.from(batch.offload.subarray(i * OffloadMeta.WORDS, (i + 1) * OffloadMeta.WORDS)) });
      }
      await new Promise((r) => setImmediate(r));
    }
    // Still one super-packet (the TAP does TSO4), forwarded unchanged in length.
    expect(back.map((x) => x.len)).toEqual([f.length]);
    const [flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset] = back[0].meta;
    expect({ flags, gsoType, gsoSize, csumStart, csumOffset }).toEqual({ flags: VNET_HDR_F_NEEDS_CSUM, gsoType: VNET_HDR_GSO_TCPV4, gsoSize: MSS, csumStart: 34, csumOffset: 16 });
    // The kernel's hint: its linear part, at least the headers.
    expect(hdrLen).toBeGreaterThanOrEqual(54);
  });

  it('a frame whose checksum field lies past its end is refused by the kernel and counted with its bytes; with the link down both are', () => {
    const tapMac = parseMac(JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', port.name))[0].address as string);
    const batch = new Batch({ rxCapacity: 4, largeSlots: true, shared: true });
    for (const len of [60, 90]) {
      const f = new Uint8Array(len);
      f.set(tapMac, 0);
      f.set(ROUTER_MAC, 6);
      f.set([0x88, 0xb5], 12); // local experimental EtherType: nothing in the namespace takes it
      batch.pushView(f, 0, 0, 0);
    }
    // NEEDS_CSUM with the field 200 bytes in: the kernel says EINVAL.
    batch.offload[OffloadMeta.FLAGS] = VNET_HDR_F_NEEDS_CSUM;
    batch.offload[OffloadMeta.CSUM_START] = 200;
    batch.offload[OffloadMeta.CSUM_OFFSET] = 6;
    const rejected = port.counters[IoCounter.TX_REJECTED];
    const rejectedBytes = port.counters[IoCounter.TX_REJECTED_BYTES];
    expect(port.tx(batch, Uint16Array.of(0, 1), 2)).toBe(2);
    expect([port.counters[IoCounter.TX_REJECTED] - rejected, port.counters[IoCounter.TX_REJECTED_BYTES] - rejectedBytes]).toEqual([1, 60]);
    batch.clearOffload(0);
    ip('-n', ns, 'link', 'set', 'dev', port.name, 'down');
    try {
      expect(port.tx(batch, Uint16Array.of(0, 1), 2)).toBe(2);
      expect([port.counters[IoCounter.TX_LINK_DOWN], port.counters[IoCounter.TX_LINK_DOWN_BYTES]]).toEqual([2, 150]);
    } finally {
      ip('-n', ns, 'link', 'set', 'dev', port.name, 'up');
    }
  });
});

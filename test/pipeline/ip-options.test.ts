// IPv4 options on the full graph (a datagram with options never takes the
// fused fast path): Record Route and Timestamp recorded as the datagram
// leaves (RFC 1812 5.3.13.5, 5.3.13.6), Parameter Problem for a malformed
// option (4.3.3.5), source-routed datagrams refused with source route failed
// (RFC 7126 4.3/4.4), fragments carrying the updated options (RFC 791), and
// the router's echo reply recording itself (4.3.3.6). Frames are built with
// the project's frame builder; tshark decodes what came out where it is
// installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../src/wire/address.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { parseIcmp, type IcmpErrorRepr } from '../../src/wire/icmp.js';
import {
  IPOPT_LSRR, IPOPT_RA, IPOPT_RR, IPOPT_SSRR, IPOPT_TS, msSinceMidnightUt, parseIpv4, parseIpv4RouteOption, parseIpv4TimestampOption,
  type Ipv4Option, type Ipv4Repr,
} from '../../src/wire/ipv4.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { skipIf } from '../skip.js';
import { pcapFile } from '../decode/packets.js';
import { hasTools } from '../decode/tally.js';
import { echoFrame, HOST_MAC, ROUTER_MAC, udpFrame } from './build.js';
import { BASE_CONFIG, Harness } from './harness.js';

/** 2023-11-14 22:13:20 UT: the router's clock (epoch ms), so its timestamps read 80 000 000 ms since midnight. */
const NOW = 1_700_000_000_000;
const STAMP = msSinceMidnightUt(NOW);
const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

function harness(yaml = BASE_CONFIG): Harness {
  return new Harness(yaml, {}, { clock: new ManualClock(NOW) });
}

function rr(pointer: number, ...slots: string[]): Ipv4Option {
  const data = new Uint8Array(1 + slots.length * 4);
  data[0] = pointer;
  slots.forEach((a, i) => new DataView(data.buffer).setUint32(1 + i * 4, parseIpv4Address(a)));
  return { type: IPOPT_RR, data };
}

function sourceRoute(type: number, pointer: number, ...hops: string[]): Ipv4Option {
  return { ...rr(pointer, ...hops), type };
}

/** A Timestamp option: pointer, overflow, flag and `words` 32-bit words of data (addresses or timestamps). */
function ts(pointer: number, overflow: number, flag: number, ...words: number[]): Ipv4Option {
  const data = new Uint8Array(2 + words.length * 4);
  data[0] = pointer;
  data[1] = (overflow << 4) | flag;
  words.forEach((w, i) => new DataView(data.buffer).setUint32(2 + i * 4, w));
  return { type: IPOPT_TS, data };
}

/** The IPv4 header of a frame out, its checksum held against one recomputed from scratch. */
function ipOut(bytes: Uint8Array): Ipv4Repr {
  const r = parseIpv4(bytes, 14, bytes.length - 14);
  if (!r.ok) throw new Error(`bad ipv4 ${r.reason}`);
  const hl = r.repr.ihl * 4;
  const h = bytes.slice(14, 14 + hl);
  h[10] = h[11] = 0;
  expect(r.repr.checksum, 'header checksum against one recomputed').toBe(internetChecksum(h, 0, hl));
  return r.repr;
}

function option(ip: Ipv4Repr, type: number): Ipv4Option {
  const o = ip.options.find((x) => x.type === type);
  if (o === undefined) throw new Error(`no option ${type}`);
  return o;
}

/** The ICMP error of a frame out: its header and the datagram it quotes (byte for byte). */
function icmpErrorOut(bytes: Uint8Array): { ip: Ipv4Repr; err: IcmpErrorRepr } {
  const ip = ipOut(bytes);
  const m = parseIcmp(bytes, 14 + ip.ihl * 4, ip.totalLength - ip.ihl * 4);
  if (!m.ok) throw new Error('bad icmp');
  return { ip, err: m.repr as IcmpErrorRepr };
}

describe('Record Route on forwarded datagrams (RFC 1812 5.3.13.5)', () => {
  it('records the address of the port it leaves by at the pointer: wan for a gateway route, dmz for an attached host', () => {
    const h = harness();
    for (const [dst, port, addr] of [['192.0.2.200', 'wan', '198.51.100.1'], ['203.0.113.2', 'dmz', '203.0.113.1']] as const) {
      const input = udpFrame({ ...FROM_LAN, dst, options: [rr(4, '0.0.0.0', '0.0.0.0', '0.0.0.0')] }, 40000, 53, 32);
      const { out, counters } = h.one('lan', input);
      expect(out.map((o) => o.port)).toEqual([port]);
      const ip = ipOut(out[0].bytes);
      expect(parseIpv4RouteOption(option(ip, IPOPT_RR).data)).toEqual({ pointer: 8, addresses: [addr, '0.0.0.0', '0.0.0.0'] });
      expect(ip.ttl).toBe(63);
      // Nothing moved: same header length, the UDP datagram byte for byte.
      expect(Array.from(out[0].bytes.subarray(14 + 36))).toEqual(Array.from(input.subarray(14 + 36)));
      expect(counters['ip4-rewrite/packets']).toBe(1);
    }
  });

  it('a full option is forwarded as it came but for the TTL', () => {
    const h = harness();
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [rr(12, '203.0.113.9', '198.18.0.1')] }, 40000, 53);
    const { out } = h.one('lan', input);
    const ip = ipOut(out[0].bytes);
    expect(option(ip, IPOPT_RR)).toEqual(rr(12, '203.0.113.9', '198.18.0.1'));
    expect(ip.ttl).toBe(63);
  });

  it('with masquerade: the source is translated and the recorded hop is still the egress port', () => {
    const h = harness(`${BASE_CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n`);
    const { out } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [rr(4, '0.0.0.0')] }, 40000, 53));
    const ip = ipOut(out[0].bytes);
    expect(ip.src).toBe('198.51.100.1');
    expect(parseIpv4RouteOption(option(ip, IPOPT_RR).data).addresses).toEqual(['198.51.100.1']);
  });
});

describe('Timestamp on forwarded datagrams (RFC 1812 5.3.13.6, RFC 791)', () => {
  it('flag 0: the time in ms since midnight UT; flag 1: with the egress address', () => {
    const h = harness();
    const a = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(5, 0, 0, 0, 0)] }, 1, 2)).out;
    expect(parseIpv4TimestampOption(option(ipOut(a[0].bytes), IPOPT_TS).data)).toEqual({ pointer: 9, overflow: 0, flag: 0, entries: [{ timestamp: STAMP }, { timestamp: 0 }] });
    const b = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(5, 0, 1, 0, 0)] }, 1, 2)).out;
    expect(parseIpv4TimestampOption(option(ipOut(b[0].bytes), IPOPT_TS).data)).toEqual({ pointer: 13, overflow: 0, flag: 1, entries: [{ address: '198.51.100.1', timestamp: STAMP }] });
  });

  it('flag 3: stamps when the next prespecified address is any of its own (here the port it came in by), not another host\'s', () => {
    const h = harness();
    const lan = parseIpv4Address('192.0.2.1');
    const other = parseIpv4Address('198.51.100.254');
    const { out } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(5, 0, 3, lan, 0, other, 0)] }, 1, 2));
    expect(parseIpv4TimestampOption(option(ipOut(out[0].bytes), IPOPT_TS).data)).toEqual({
      pointer: 13, overflow: 0, flag: 3, entries: [{ address: '192.0.2.1', timestamp: STAMP }, { address: '198.51.100.254', timestamp: 0 }],
    });
    const next = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(13, 0, 3, lan, 7, other, 0)] }, 1, 2)).out;
    expect(option(ipOut(next[0].bytes), IPOPT_TS)).toEqual(ts(13, 0, 3, lan, 7, other, 0));
  });

  it('a full option counts the hop in its overflow count', () => {
    const h = harness();
    const { out } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(13, 4, 1, parseIpv4Address('192.0.2.99'), 5)] }, 1, 2));
    expect(option(ipOut(out[0].bytes), IPOPT_TS)).toEqual(ts(13, 5, 1, parseIpv4Address('192.0.2.99'), 5));
  });

  it('a full option whose overflow count is 15: dropped, parameter problem pointing at the overflow byte, the datagram quoted as it came', () => {
    const h = harness();
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(9, 15, 0, 1)] }, 1, 2);
    const { out, counters } = h.one('lan', input);
    expect(out.map((o) => o.port)).toEqual(['lan']);
    const { ip, err } = icmpErrorOut(out[0].bytes);
    expect([ip.src, ip.dst, err.type, err.code, err.pointer]).toEqual(['192.0.2.1', '192.0.2.10', 12, 0, 23]);
    expect(Array.from(err.quote)).toEqual(Array.from(input.subarray(14)));
    expect(counters).toMatchObject({ 'ip4-input/timestamp-overflow': 1, 'icmp-error/sent': 1 });
  });
});

describe('malformed options: parameter problem (RFC 1812 4.3.3.5)', () => {
  it.each([
    ['Record Route pointer 3', [rr(3, '0.0.0.0')], 22],
    ['Record Route with room for half an address', [{ type: IPOPT_RR, data: Uint8Array.of(4, 0, 0) }], 22],
    ['a second Record Route', [rr(4, '0.0.0.0'), rr(4, '0.0.0.0')], 27],
    ['Timestamp flag 1 with room for an address only', [ts(5, 0, 1, 0)], 22],
  ])('%s: the pointer names the byte, the quote is the datagram unchanged, and nothing is forwarded', (_name, options, pointer) => {
    const h = harness();
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: options as Ipv4Option[] }, 1, 2);
    const { out, counters } = h.one('lan', input);
    expect(out.map((o) => o.port)).toEqual(['lan']);
    const { ip, err } = icmpErrorOut(out[0].bytes);
    expect([ip.dst, ip.ihl, err.type, err.code, err.pointer]).toEqual(['192.0.2.10', 5, 12, 0, pointer]);
    expect(Array.from(err.quote)).toEqual(Array.from(input.subarray(14)));
    expect(counters).toMatchObject({ 'ip4-input/bad-options': 1, 'icmp-error/sent': 1 });
  });

  it('to the router itself as well (an echo request)', () => {
    const h = harness();
    const { out, counters } = h.one('lan', echoFrame({ ...FROM_LAN, dst: '192.0.2.1', options: [rr(2, '0.0.0.0')] }, 7, 1));
    expect(icmpErrorOut(out[0].bytes).err).toMatchObject({ type: 12, code: 0, pointer: 22 });
    expect(counters['ip4-local/echo-replies'] ?? 0).toBe(0);
  });

  it('silently dropped when the header checksum fails too (RFC 1812 5.2.2), or the datagram went to a subnet broadcast (4.3.2.7)', () => {
    const h = harness();
    const bad = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [rr(3, '0.0.0.0')] }, 1, 2);
    bad[24] ^= 0xff;
    expect(h.one('lan', bad)).toMatchObject({ out: [], counters: { 'ip4-input/bad-checksum': 1 } });
    const broadcast = h.one('lan', udpFrame({ ...FROM_LAN, dst: '203.0.113.63', options: [rr(3, '0.0.0.0')] }, 1, 2));
    expect(broadcast.out).toEqual([]);
    expect(broadcast.counters['ip4-input/bad-options']).toBe(1);
    expect(broadcast.counters['icmp-error/sent'] ?? 0).toBe(0);
  });
});

describe('source routes: not followed, refused with source route failed (RFC 7126 4.3/4.4; RFC 1812 4.3.2.6)', () => {
  it.each([
    ['LSRR through the router to another host', IPOPT_LSRR, '192.0.2.200', 4],
    ['LSRR addressed to the router, pointing on to a dmz host', IPOPT_LSRR, '192.0.2.1', 4],
    ['SSRR addressed to the router, pointing on', IPOPT_SSRR, '192.0.2.1', 4],
    ['SSRR complete, the router its final destination', IPOPT_SSRR, '192.0.2.1', 8],
  ])('%s: dropped, answered with 3/5 carrying no source route, nothing sent on', (_name, type, dst, pointer) => {
    const h = harness();
    const input = udpFrame({ ...FROM_LAN, dst, options: [sourceRoute(type, pointer, '203.0.113.2')] }, 1, 2);
    const { out, counters } = h.one('lan', input);
    expect(out.map((o) => o.port)).toEqual(['lan']);
    const { ip, err } = icmpErrorOut(out[0].bytes);
    expect([ip.src, ip.dst, ip.ihl, ip.options, err.type, err.code]).toEqual(['192.0.2.1', '192.0.2.10', 5, [], 3, 5]);
    expect(Array.from(err.quote)).toEqual(Array.from(input.subarray(14)));
    expect(counters).toMatchObject({ 'ip4-input/source-route': 1, 'icmp-error/sent': 1 });
    expect(counters['ip4-lookup/packets'] ?? 0).toBe(1); // the error's own lookup, back to the sender
  });

  it('with connection tracking: refused before ct-input, so no flow starts', () => {
    const h = harness(`${BASE_CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n`);
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [sourceRoute(IPOPT_LSRR, 4, '198.51.100.9')] }, 1, 2));
    expect(out.map((o) => o.port)).toEqual(['lan']);
    expect(counters['ip4-input/source-route']).toBe(1);
    expect(FlowTable.stats(h.router.natTables!.buffers.flows).reduce((n, w) => n + w.live, 0)).toBe(0);
  });
});

describe('fragments carry the updated options (RFC 791 3.1, 3.2)', () => {
  it('the first fragment keeps every option, Record Route recorded; later ones only the copied Router Alert', () => {
    const h = harness();
    const ra: Ipv4Option = { type: IPOPT_RA, data: Uint8Array.of(0, 0) };
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', id: 0x4242, options: [rr(4, '0.0.0.0', '0.0.0.0'), ra] }, 1, 2, 1400);
    const { out, counters } = h.one('lan', input);
    expect(out.map((o) => o.port)).toEqual(['wan', 'wan']);
    const [first, second] = out.map((o) => ipOut(o.bytes));
    expect(first.options).toEqual([rr(8, '198.51.100.1', '0.0.0.0'), ra]);
    expect(second.options).toEqual([ra]);
    expect([first.mf, first.fragOffset, second.mf, second.ihl]).toEqual([true, 0, false, 6]);
    expect(counters['ip4-frag/fragments-made']).toBe(2);
    // The payload, put back together, is the original's.
    const data = (f: Uint8Array, ip: Ipv4Repr) => Array.from(f.subarray(14 + ip.ihl * 4, 14 + ip.totalLength));
    expect([...data(out[0].bytes, first), ...data(out[1].bytes, second)]).toEqual(Array.from(input.subarray(14 + 36)));
  });
});

describe('the router\'s own echo reply (RFC 1812 4.3.3.6)', () => {
  it('carries the request\'s Record Route and Timestamp with this router recorded (the port the reply leaves by)', () => {
    const h = harness();
    const { out } = h.one('lan', echoFrame({ ...FROM_LAN, dst: '198.51.100.1', options: [rr(4, '0.0.0.0', '0.0.0.0'), ts(5, 0, 0, 0)] }, 9, 1));
    expect(out.map((o) => o.port)).toEqual(['lan']);
    const ip = ipOut(out[0].bytes);
    expect([ip.src, ip.dst]).toEqual(['198.51.100.1', '192.0.2.10']);
    expect(parseIpv4RouteOption(option(ip, IPOPT_RR).data).addresses).toEqual(['192.0.2.1', '0.0.0.0']);
    expect(parseIpv4TimestampOption(option(ip, IPOPT_TS).data).entries).toEqual([{ timestamp: STAMP }]);
  });
});

describe('tshark reads what the router sent', skipIf(hasTools(['tshark']) ? undefined : 'needs tshark: apt-get install -y tshark'), () => {
  it('recorded route, pointers, timestamps, the overflow count and the header checksum', () => {
    const h = harness();
    const lan = parseIpv4Address('192.0.2.1');
    const frames = [
      udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [rr(4, '0.0.0.0', '0.0.0.0')] }, 1, 2),
      udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(5, 0, 1, 0, 0)] }, 1, 2),
      udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(5, 0, 3, lan, 0)] }, 1, 2),
      udpFrame({ ...FROM_LAN, dst: '192.0.2.200', options: [ts(9, 2, 0, 1)] }, 1, 2),
    ];
    const out = frames.map((f) => h.one('lan', f).out[0].bytes);
    const dir = mkdtempSync(join(tmpdir(), 'ip-options-'));
    try {
      const file = join(dir, 'out.pcap');
      writeFileSync(file, pcapFile(1, out));
      const fields = ['ip.checksum.status', 'ip.rec_rt', 'ip.empty_rt', 'ip.opt.ptr', 'ip.opt.flag', 'ip.opt.overflow', 'ip.opt.time_stamp_addr', 'ip.opt.time_stamp'];
      const r = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
      // Checksum status 1: good (tshark verified it).
      expect(rows).toEqual([
        ['1', '198.51.100.1', '0.0.0.0', '8', '', '', '', ''],
        ['1', '', '', '13', '0x01', '0', '198.51.100.1', String(STAMP)],
        ['1', '', '', '13', '0x03', '0', '192.0.2.1', String(STAMP)],
        ['1', '', '', '9', '0x00', '3', '', '1'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

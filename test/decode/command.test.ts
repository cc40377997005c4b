import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDecode, tsDigits } from '../../src/decode/command.js';
import { bytes, ethernet, ipv4Packet, pcapFile, udpDatagram } from './packets.js';
import { concat, epb, idb, shb } from '../pcap/build.js';

const dir = mkdtempSync(join(tmpdir(), 'decode-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(name: string, data: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const frame = (i: number) => ethernet(0x0800, ipv4Packet({ id: i, payload: udpDatagram({ sport: 1000 + i, payload: bytes(4) }) }));
const frames = Array.from({ length: 5 }, (_, i) => frame(i));
const good = capture('good.pcap', pcapFile(1, frames));

async function decode(file: string, opts: { json: boolean; count?: number }) {
  const out = sink();
  const err = sink();
  const code = await runDecode(file, opts, { out: out.stream, err: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('runDecode', () => {
  it('prints one text line per frame and returns 0', async () => {
    const r = await decode(good, { json: false });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('1490000000.123456 198.51.100.1.1000 > 203.0.113.5.53: UDP, length 4');
  });

  it('--json: one object per line, numbered from 1; --count stops early', async () => {
    const r = await decode(good, { json: true, count: 2 });
    const objs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { n: number; ts: string; udp: { sport: number } });
    expect(objs.map((o) => o.n)).toEqual([1, 2]);
    expect(objs[1]).toMatchObject({ ts: '1490000001.123456', udp: { sport: 1001 } });
  });

  it('a truncated file: every good frame, then the error naming the offset, status 1', async () => {
    const bytes = pcapFile(1, frames);
    const cut = capture('cut.pcap', bytes.subarray(0, bytes.length - 10));
    const r = await decode(cut, { json: false });
    expect(r.code).toBe(1);
    expect(r.out.trimEnd().split('\n')).toHaveLength(4);
    expect(r.err).toMatch(new RegExp(`^dataplane decode: ${cut}: .*byte \\d+`));
  });

  it('a missing file: a clear message, status 1', async () => {
    const r = await decode(join(dir, 'nope.pcap'), { json: false });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`dataplane decode: ${join(dir, 'nope.pcap')}: no such file\n`);
  });

  it('not a capture file: status 1 and the reader\'s reason', async () => {
    const r = await decode(capture('junk.pcap', new TextEncoder().encode('hello world, not a pcap')), { json: false });
    expect(r.code).toBe(1);
    expect(r.err).toContain('not a pcap or pcapng file');
  });

  it('stops quietly when the reader goes away (EPIPE)', async () => {
    const many = capture('many.pcap', pcapFile(1, Array.from({ length: 5000 }, (_, i) => frame(i))));
    let written = 0;
    const pipe = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        const e = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        cb(e);
      },
    });
    const err = sink();
    const code = await runDecode(many, { json: false }, { out: pipe, err: err.stream });
    expect(code).toBe(0);
    expect(err.text()).toBe('');
    expect(written).toBeGreaterThan(0);
  });

  it('timestamp digits follow the capture resolution', () => {
    expect(tsDigits(1000)).toBe(6);
    expect(tsDigits(1)).toBe(9);
    expect(tsDigits(1e6)).toBe(3);
    expect(tsDigits(0.1)).toBe(9);
    expect(tsDigits(1e9 / 2 ** 20)).toBe(9);
  });
});

describe('a record whose original length is below its captured length', () => {
  // Nothing captures more than was sent: the original length is the corrupt field. Classic pcap and pcapng alike.
  const arp = ethernet(0x0806, new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 10]));
  const classic = pcapFile(1, [arp, arp]);
  new DataView(classic.buffer).setUint32(24 + 12, 10, true); // the first record's original length: 10 of its 42 captured bytes
  const ng = concat(shb(true), idb(true, 1), epb(true, { ifid: 0, tsHi: 0, tsLo: 0, data: arp, len: 10 }), epb(true, { ifid: 0, tsHi: 0, tsLo: 1, data: arp }));

  it.each([
    ['classic pcap', 'short-orig.pcap', classic],
    ['pcapng', 'short-orig.pcapng', ng],
  ])('%s: the lengths shown are the captured bytes (not "length -4"), stderr says once how many records were so', async (_, name, bytes) => {
    const file = capture(name, bytes);
    const r = await decode(file, { json: false });
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'ARP, Request who-has 192.0.2.10 tell 192.0.2.1, length 28',
      'ARP, Request who-has 192.0.2.10 tell 192.0.2.1, length 28',
    ]);
    expect(r.err).toBe(`dataplane decode: ${file}: 1 record with an original length below the captured length (corrupt); the captured length is shown\n`);
    // --json keeps both fields as the file says (tshark's frame.len and frame.cap_len), for whoever checks the file itself.
    const j = await decode(file, { json: true });
    expect(j.out.trimEnd().split('\n').map((l) => { const o = JSON.parse(l) as { caplen: number; len: number }; return [o.caplen, o.len]; })).toEqual([[42, 10], [42, 42]]);
  });
});

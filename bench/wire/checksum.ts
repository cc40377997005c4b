// Checksum cost: recomputing a checksum from scratch versus patching it with
// RFC 1624 after a rewrite (what ip4-rewrite and NAT do per packet), and the
// reference ones-complement sum (sumWords) against the int32 fast variants
// the validating paths use (ip4-input, classifyFrame): the rows that justify
// keeping those variants.
import {
  foldSum,
  internetChecksum,
  ipv4AddressSum,
  ipv4FixedHeaderSum,
  pseudoHeaderSumFromIpv4,
  sumIsAllOnes,
  sumWords,
  sumWordsSplit,
  finishChecksum,
  updateChecksum16,
  updateChecksum32,
} from '../../src/wire/checksum.js';
import { decrementIpv4Ttl } from '../../src/wire/ipv4.js';
import { consume, measure } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';

/** An IPv4/UDP packet of `total` bytes (no Ethernet), with valid checksums. */
function udpPacket(total: number): Uint8Array {
  const b = new Uint8Array(total);
  b[0] = 0x45;
  b[2] = total >> 8;
  b[3] = total & 0xff;
  b[8] = 64;
  b[9] = 17;
  b.set([198, 51, 100, 1, 203, 0, 113, 5], 12);
  const udpLen = total - 20;
  b.set([0x9c, 0x40, 0x00, 0x35, udpLen >> 8, udpLen & 0xff], 20);
  for (let i = 28; i < total; i++) b[i] = (i * 7) & 0xff;
  const ipCsum = internetChecksum(b, 0, 20);
  b[10] = ipCsum >> 8;
  b[11] = ipCsum & 0xff;
  const udpCsum = finishChecksum(sumWords(b, 20, udpLen, pseudoHeaderSumFromIpv4(b, 0, 17, udpLen)));
  b[26] = udpCsum >> 8;
  b[27] = udpCsum & 0xff;
  return b;
}

const BATCH = 256;

/** Two rows, reference and fast variant, in ns per packet. */
function verifyRows(name: string, refSubject: string, fastSubject: string, ref: { hz: number; rmePct: number }, fast: { hz: number; rmePct: number }): BenchRow[] {
  const refNs = 1e9 / (ref.hz * BATCH);
  const fastNs = 1e9 / (fast.hz * BATCH);
  return [
    { name, subject: refSubject, value: refNs, unit: 'ns/op', nsPerOp: refNs, rmePct: ref.rmePct },
    { name, subject: fastSubject, value: fastNs, unit: 'ns/op', nsPerOp: fastNs, rmePct: fast.rmePct, notes: `${(refNs / fastNs).toFixed(1)}x faster than the reference` },
  ];
}

export function runChecksumBench(): BenchRow[] {
  const rows: BenchRow[] = [];

  // TTL decrement: full IPv4 header checksum vs RFC 1624 on the TTL/protocol word.
  {
    const pkts = Array.from({ length: BATCH }, () => udpPacket(64));
    const full = measure('ttl full', () => {
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        b[8] = (b[8] - 1) | 64;
        b[10] = 0;
        b[11] = 0;
        const c = internetChecksum(b, 0, 20);
        b[10] = c >> 8;
        b[11] = c & 0xff;
        consume(c);
      }
    });
    const incr = measure('ttl incremental', () => {
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        const oldWord = (b[8] << 8) | b[9];
        b[8] = (b[8] - 1) | 64;
        const c = updateChecksum16((b[10] << 8) | b[11], oldWord, (b[8] << 8) | b[9]);
        b[10] = c >> 8;
        b[11] = c & 0xff;
        consume(c);
      }
    });
    const wire = measure('ttl decrementIpv4Ttl', () => {
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        if (b[8] < 2) b[8] = 64; // keep the TTL from reaching 0 (decrementIpv4Ttl leaves 0 alone)
        consume(decrementIpv4Ttl(b, 0));
      }
    });
    rows.push(
      { name: 'checksum/ipv4-ttl-decrement', subject: 'full recompute (RFC 1071)', value: 1e9 / (full.hz * BATCH), unit: 'ns/op', nsPerOp: 1e9 / (full.hz * BATCH), rmePct: full.rmePct },
      {
        name: 'checksum/ipv4-ttl-decrement',
        subject: 'incremental (RFC 1624)',
        value: 1e9 / (incr.hz * BATCH),
        unit: 'ns/op',
        nsPerOp: 1e9 / (incr.hz * BATCH),
        rmePct: incr.rmePct,
        notes: `${(incr.hz / full.hz).toFixed(1)}x faster than full`,
      },
      {
        name: 'checksum/ipv4-ttl-decrement',
        subject: 'decrementIpv4Ttl (RFC 1624 for TTL - 1, as ip4-rewrite)',
        value: 1e9 / (wire.hz * BATCH),
        unit: 'ns/op',
        nsPerOp: 1e9 / (wire.hz * BATCH),
        rmePct: wire.rmePct,
        notes: `${(wire.hz / full.hz).toFixed(1)}x faster than full`,
      },
    );
  }

  // Verifying a checksum, as ip4-input (the 20-byte header) and classifyFrame
  // (the header, then the UDP datagram with its pseudo-header) do per packet:
  // the reference sumWords + foldSum against the int32 fast variants.
  {
    const pkts = Array.from({ length: BATCH }, () => udpPacket(64));
    const ref = measure('verify header sumWords', () => {
      let ok = 0;
      for (let i = 0; i < BATCH; i++) if (foldSum(sumWords(pkts[i], 0, 20, 0)) === 0xffff) ok++;
      consume(ok);
    });
    const fast = measure('verify header unrolled', () => {
      let ok = 0;
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        if (sumIsAllOnes(ipv4FixedHeaderSum(b, 0, ipv4AddressSum(b, 0)))) ok++;
      }
      consume(ok);
    });
    rows.push(...verifyRows('checksum/verify-ipv4-header', 'sumWords + foldSum (reference)', 'ipv4FixedHeaderSum + sumIsAllOnes', ref, fast));
  }
  for (const size of [64, 1500]) {
    const pkts = Array.from({ length: BATCH }, () => udpPacket(size));
    const udpLen = size - 20;
    const ref = measure(`verify udp ${size} sumWords`, () => {
      let ok = 0;
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        if (foldSum(sumWords(b, 20, udpLen, pseudoHeaderSumFromIpv4(b, 0, 17, udpLen))) === 0xffff) ok++;
      }
      consume(ok);
    });
    const fast = measure(`verify udp ${size} split`, () => {
      let ok = 0;
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        if (sumIsAllOnes(sumWordsSplit(b, 20, udpLen, ipv4AddressSum(b, 0) + 17 + udpLen))) ok++;
      }
      consume(ok);
    });
    rows.push(...verifyRows(`checksum/verify-udp-${size}B`, 'sumWords + foldSum (reference)', 'sumWordsSplit + sumIsAllOnes', ref, fast));
  }

  // Source address rewrite (SNAT) on UDP packets of 64 and 1500 bytes: both the
  // IPv4 header checksum and the UDP checksum (pseudo-header) change.
  for (const size of [64, 1500]) {
    const pkts = Array.from({ length: BATCH }, () => udpPacket(size));
    let addr = 0xc6336401;
    const full = measure(`snat full ${size}`, () => {
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        addr = (addr + 1) >>> 0;
        b[12] = addr >>> 24;
        b[13] = (addr >>> 16) & 0xff;
        b[14] = (addr >>> 8) & 0xff;
        b[15] = addr & 0xff;
        b[10] = 0;
        b[11] = 0;
        const ic = internetChecksum(b, 0, 20);
        b[10] = ic >> 8;
        b[11] = ic & 0xff;
        const udpLen = size - 20;
        b[26] = 0;
        b[27] = 0;
        let uc = finishChecksum(sumWords(b, 20, udpLen, pseudoHeaderSumFromIpv4(b, 0, 17, udpLen)));
        if (uc === 0) uc = 0xffff;
        b[26] = uc >> 8;
        b[27] = uc & 0xff;
        consume(uc);
      }
    });
    const incr = measure(`snat incremental ${size}`, () => {
      for (let i = 0; i < BATCH; i++) {
        const b = pkts[i];
        const old = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
        addr = (addr + 1) >>> 0;
        b[12] = addr >>> 24;
        b[13] = (addr >>> 16) & 0xff;
        b[14] = (addr >>> 8) & 0xff;
        b[15] = addr & 0xff;
        const ic = updateChecksum32((b[10] << 8) | b[11], old, addr);
        b[10] = ic >> 8;
        b[11] = ic & 0xff;
        const oldUc = (b[26] << 8) | b[27];
        let uc = oldUc === 0 ? 0 : updateChecksum32(oldUc, old, addr);
        if (oldUc !== 0 && uc === 0) uc = 0xffff;
        b[26] = uc >> 8;
        b[27] = uc & 0xff;
        consume(uc);
      }
    });
    const fullNs = 1e9 / (full.hz * BATCH);
    const incrNs = 1e9 / (incr.hz * BATCH);
    rows.push(
      { name: `checksum/snat-udp-${size}B`, subject: 'full recompute (RFC 1071)', value: fullNs, unit: 'ns/op', nsPerOp: fullNs, rmePct: full.rmePct },
      { name: `checksum/snat-udp-${size}B`, subject: 'incremental (RFC 1624)', value: incrNs, unit: 'ns/op', nsPerOp: incrNs, rmePct: incr.rmePct, notes: `${(fullNs / incrNs).toFixed(1)}x faster than full` },
    );
  }
  return rows;
}

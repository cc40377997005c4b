import { describe, expect, it } from 'vitest';
import {
  finishChecksum, foldSum, internetChecksum, pseudoHeaderSum, pseudoHeaderSumFromIpv4, sumWords,
  udpWireChecksum, updateChecksum16, updateChecksum32, updateUdpChecksum16, updateUdpChecksum32,
} from '../../src/wire/checksum.js';
import { SYN_PKT, SYN_PKT_IP } from './golden.js';
import { hex } from './helpers.js';

describe('checksum (RFC 1071 / RFC 1624)', () => {
  it('RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to 0xddf2, checksum 0x220d', () => {
    const b = hex('0001f203f4f5f6f7');
    expect(foldSum(sumWords(b, 0, 8, 0))).toBe(0xddf2);
    expect(internetChecksum(b, 0, 8)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(hex('0102 03'), 0, 3)).toBe(internetChecksum(hex('0102 0300'), 0, 4));
  });

  it('sums from an offset and chains regions split at even boundaries', () => {
    const b = hex('ffff 0001f203f4f5f6f7 ffff');
    const whole = foldSum(sumWords(b, 2, 8, 0));
    const chained = foldSum(sumWords(b, 6, 4, sumWords(b, 2, 4, 0)));
    expect(chained).toBe(whole);
    expect(whole).toBe(0xddf2);
  });

  it('a header carrying its own correct checksum sums to 0 after finishing', () => {
    expect(internetChecksum(SYN_PKT, SYN_PKT_IP, 20)).toBe(0);
  });

  it('finishChecksum complements the folded sum', () => {
    expect(finishChecksum(0x1fffe)).toBe(0x0000);
    expect(finishChecksum(0x1234)).toBe(0xedcb);
  });

  it('RFC 1624 section 4: eqn. 3 gives 0x0000 where eqn. 2 gives 0xffff (m 0x5555 -> 0x3285, HC 0xdd2f)', () => {
    expect(updateChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('updateChecksum32 equals two 16-bit updates', () => {
    const c = 0x1c46;
    const two = updateChecksum16(updateChecksum16(c, 0xc0a8, 0xc633), 0x010b, 0x6401);
    expect(updateChecksum32(c, 0xc0a8010b, 0xc6336401)).toBe(two);
  });

  it('pseudoHeaderSumFromIpv4 reads the same addresses as pseudoHeaderSum', () => {
    expect(pseudoHeaderSumFromIpv4(SYN_PKT, SYN_PKT_IP, 6, 40)).toBe(pseudoHeaderSum(0xc0a8010b, 0xd157f912, 6, 40));
  });

  it('RFC 768: a computed UDP checksum of 0 is sent as 0xffff, others unchanged', () => {
    expect(udpWireChecksum(0)).toBe(0xffff);
    expect(udpWireChecksum(0x1234)).toBe(0x1234);
  });

  it('RFC 768: incremental UDP updates keep an absent (0) checksum absent and never produce 0', () => {
    expect(updateUdpChecksum16(0, 1, 2)).toBe(0);
    expect(updateUdpChecksum32(0, 1, 2)).toBe(0);
    // 0xdd2f with 0x5555 -> 0x3285 would give 0x0000 (see above); UDP must send 0xffff.
    expect(updateUdpChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0xffff);
  });
});

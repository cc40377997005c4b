import { describe, expect, it } from 'vitest';
import { WireDrop } from '../../src/wire/drop-reason.js';
import {
  checkEthernet, copyEthAddr, emitEthernet, ETH_DST, ETH_HEADER_LEN, ETH_MAX_VLAN_TAGS, ETH_SRC, ethAddrEquals,
  ethDstIsBroadcast, ethDstIsMulticast, ethDstString, ethernetReprHeaderLen, ETHERTYPE_ARP, ETHERTYPE_IPV4,
  ETHERTYPE_QINQ, ETHERTYPE_QINQ_9100, ETHERTYPE_VLAN, ethHeaderLen, ethPayloadType, ethSrcString, ethType,
  ethVlanCount, ethVlanDei, ethVlanId, ethVlanPcp, ethVlanTci, ethVlanTpid, isVlanTpid, parseEthernet, setEthDst,
  setEthPayloadType, setEthSrc, setEthType, setEthVlanDei, setEthVlanId, setEthVlanPcp, setEthVlanTci, setEthVlanTpid,
  VLAN_TAG_LEN, type EthernetRepr,
} from '../../src/wire/ethernet.js';
import { QINQ_ARP_REQUEST, SYN_PKT, VLAN_TCP } from './golden.js';
import { at, filled, hex, toHex } from './helpers.js';

const QINQ_REPR: EthernetRepr = {
  dst: 'ff:ff:ff:ff:ff:ff',
  src: '00:20:d2:5a:fb:3f',
  vlans: [
    { pcp: 0, dei: false, id: 200, tpid: ETHERTYPE_QINQ },
    { pcp: 0, dei: false, id: 2001, tpid: ETHERTYPE_VLAN },
  ],
  ethertype: ETHERTYPE_ARP,
};

describe('Ethernet II', () => {
  it('deconstructs an untagged frame (dns_tcp.pcap frame 1)', () => {
    const b = at(SYN_PKT, 3);
    expect(checkEthernet(b, 3, SYN_PKT.length)).toBe(WireDrop.OK);
    expect(ethDstString(b, 3)).toBe('00:11:22:33:44:66');
    expect(ethSrcString(b, 3)).toBe('00:11:22:33:44:55');
    expect(ethType(b, 3)).toBe(ETHERTYPE_IPV4);
    expect(ethVlanCount(b, 3, SYN_PKT.length)).toBe(0);
    expect(ethPayloadType(b, 3, 0)).toBe(ETHERTYPE_IPV4);
    expect(ethHeaderLen(0)).toBe(ETH_HEADER_LEN);
    expect(ethDstIsMulticast(b, 3)).toBe(false);
    expect(ethDstIsBroadcast(b, 3)).toBe(false);
  });

  it('deconstructs 802.1ad + 802.1Q stacked tags (802.1ad_QinQ.pcap frame 1)', () => {
    const b = at(QINQ_ARP_REQUEST, 5);
    const len = QINQ_ARP_REQUEST.length;
    expect(checkEthernet(b, 5, len)).toBe(WireDrop.OK);
    expect(ethDstIsBroadcast(b, 5)).toBe(true);
    expect(ethDstIsMulticast(b, 5)).toBe(true);
    expect(ethType(b, 5)).toBe(ETHERTYPE_QINQ);
    expect(ethVlanCount(b, 5, len)).toBe(2);
    expect(ethHeaderLen(2)).toBe(22);
    expect(ethVlanTpid(b, 5, 0)).toBe(ETHERTYPE_QINQ);
    expect(ethVlanId(b, 5, 0)).toBe(200);
    expect(ethVlanTpid(b, 5, 1)).toBe(ETHERTYPE_VLAN);
    expect(ethVlanId(b, 5, 1)).toBe(2001);
    expect(ethVlanTci(b, 5, 1)).toBe(0x07d1);
    expect(ethPayloadType(b, 5, 2)).toBe(ETHERTYPE_ARP);
  });

  it('deconstructs PCP and DEI of an 802.1ad tag (test.rewrite_vlan802.1ad.pcap frame 1: TCI 0x502a)', () => {
    expect(ethVlanCount(VLAN_TCP, 0, VLAN_TCP.length)).toBe(1);
    expect(ethVlanPcp(VLAN_TCP, 0, 0)).toBe(2);
    expect(ethVlanDei(VLAN_TCP, 0, 0)).toBe(true);
    expect(ethVlanId(VLAN_TCP, 0, 0)).toBe(42);
    expect(ethPayloadType(VLAN_TCP, 0, 1)).toBe(ETHERTYPE_IPV4);
  });

  it('constructs the QinQ header with every setter on a 0xa5 buffer', () => {
    const b = filled(22);
    setEthDst(b, 0, 'ff:ff:ff:ff:ff:ff');
    setEthSrc(b, 0, '00:20:d2:5a:fb:3f');
    setEthType(b, 0, ETHERTYPE_QINQ);
    setEthVlanPcp(b, 0, 0, 0);
    setEthVlanDei(b, 0, 0, false);
    setEthVlanId(b, 0, 0, 200);
    setEthVlanTpid(b, 0, 1, ETHERTYPE_VLAN);
    setEthVlanTci(b, 0, 1, 0x07d1);
    setEthPayloadType(b, 0, 2, ETHERTYPE_ARP);
    expect(toHex(b)).toBe(toHex(QINQ_ARP_REQUEST.subarray(0, 22)));
  });

  it('constructs PCP 2 / DEI 1 / VID 42 bit by bit', () => {
    const b = filled(18);
    b.set(VLAN_TCP.subarray(0, 14), 0);
    setEthVlanPcp(b, 0, 0, 2);
    setEthVlanDei(b, 0, 0, true);
    setEthVlanId(b, 0, 0, 42);
    setEthPayloadType(b, 0, 1, ETHERTYPE_IPV4);
    expect(toHex(b)).toBe(toHex(VLAN_TCP.subarray(0, 18)));
    setEthVlanDei(b, 0, 0, false);
    expect(ethVlanTci(b, 0, 0)).toBe(0x402a);
  });

  it('copyEthAddr copies 6 bytes, including overlapping ranges of one buffer', () => {
    const b = at(SYN_PKT, 0);
    copyEthAddr(b, ETH_DST, b, ETH_SRC);
    expect(ethDstString(b, 0)).toBe('00:11:22:33:44:55');
    expect(ethAddrEquals(b, ETH_DST, b, ETH_SRC)).toBe(true);
    const c = hex('010203040506070809');
    copyEthAddr(c, 2, c, 0);
    expect(toHex(c)).toBe('010201020304050609');
    expect(ethAddrEquals(c, 0, c, 1)).toBe(false);
  });

  it('parses and emits the QinQ header byte for byte', () => {
    const r = parseEthernet(QINQ_ARP_REQUEST, 0, QINQ_ARP_REQUEST.length);
    expect(r).toEqual({ ok: true, repr: QINQ_REPR });
    const b = filled(24);
    expect(emitEthernet(QINQ_REPR, b, 1)).toBe(22);
    expect(ethernetReprHeaderLen(QINQ_REPR)).toBe(22);
    expect(toHex(b)).toBe('a5' + toHex(QINQ_ARP_REQUEST.subarray(0, 22)) + 'a5');
  });

  it('treats 0x8100, 0x88a8 and 0x9100 as tags and nothing else', () => {
    expect([ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_QINQ_9100].every(isVlanTpid)).toBe(true);
    expect([ETHERTYPE_IPV4, ETHERTYPE_ARP, 0x86dd, 0x9200, 0].some(isVlanTpid)).toBe(false);
  });

  it(`counts at most ${ETH_MAX_VLAN_TAGS} tags and reports the next TPID as the payload type`, () => {
    const tags = ETH_MAX_VLAN_TAGS + 2;
    const b = new Uint8Array(ETH_HEADER_LEN + VLAN_TAG_LEN * tags + 20);
    for (let i = 0; i < tags; i++) setEthVlanTpid(b, 0, i, ETHERTYPE_VLAN);
    setEthPayloadType(b, 0, tags, ETHERTYPE_IPV4);
    expect(ethVlanCount(b, 0, b.length)).toBe(ETH_MAX_VLAN_TAGS);
    expect(ethPayloadType(b, 0, ETH_MAX_VLAN_TAGS)).toBe(ETHERTYPE_VLAN);
    expect(checkEthernet(b, 0, b.length)).toBe(WireDrop.OK);
  });

  describe('bad input', () => {
    it('ETHERNET_TRUNCATED: 13 bytes', () => {
      expect(checkEthernet(SYN_PKT, 0, 13)).toBe(WireDrop.ETHERNET_TRUNCATED);
      expect(parseEthernet(SYN_PKT, 0, 13)).toEqual({ ok: false, reason: WireDrop.ETHERNET_TRUNCATED });
      expect(checkEthernet(SYN_PKT, 0, 14)).toBe(WireDrop.OK);
    });

    it('VLAN_TRUNCATED: the frame ends inside a tag', () => {
      expect(checkEthernet(QINQ_ARP_REQUEST, 0, 16)).toBe(WireDrop.VLAN_TRUNCATED);
      expect(checkEthernet(QINQ_ARP_REQUEST, 0, 14)).toBe(WireDrop.VLAN_TRUNCATED);
      expect(ethVlanCount(QINQ_ARP_REQUEST, 0, 16)).toBe(0);
    });

    it('VLAN_TRUNCATED: the frame ends before the EtherType after the last tag', () => {
      expect(checkEthernet(QINQ_ARP_REQUEST, 0, 21)).toBe(WireDrop.VLAN_TRUNCATED);
      expect(ethVlanCount(QINQ_ARP_REQUEST, 0, 21)).toBe(1);
      expect(parseEthernet(QINQ_ARP_REQUEST, 0, 21)).toEqual({ ok: false, reason: WireDrop.VLAN_TRUNCATED });
      expect(checkEthernet(QINQ_ARP_REQUEST, 0, 22)).toBe(WireDrop.OK);
    });
  });

  it('emit throws RangeError on a bad MAC text', () => {
    expect(() => emitEthernet({ ...QINQ_REPR, src: 'nope' }, filled(22), 0)).toThrow(RangeError);
  });
});

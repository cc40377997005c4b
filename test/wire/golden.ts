// Golden packets for the wire codec tests.
//
// "capture" packets are bytes of real frames from /work/shared/data/pcaps,
// dumped with scapy's rdpcap()/raw() and decoded with `tshark -V` to read the
// expected field values. "scapy" packets were built by hand with scapy 2.5
// (/usr/bin/python3) from the expression quoted next to them, which also
// computed their checksums.

import { hex } from './helpers.js';

/** capture: tcpdump/802.1ad_QinQ.pcap frame 1, 64 bytes. 802.1ad tag (VID 200) + 802.1Q tag (VID 2001), ARP who-has 172.21.79.100 tell 172.21.79.97. */
export const QINQ_ARP_REQUEST = hex(`
  ffffffffffff 0020d25afb3f 88a8 00c8 8100 07d1 0806
  0001 0800 06 04 0001 0020d25afb3f ac154f61 000000000000 ac154f64
  000000000000000000000000000000000000`);

/** capture: tcpdump/802.1ad_QinQ.pcap frame 2. ARP reply 172.21.79.100 is-at 00:80:ea:81:88:63. */
export const QINQ_ARP_REPLY = hex(`
  0020d25afb3f 0080ea818863 88a8 00c8 8100 07d1 0806
  0001 0800 06 04 0002 0080ea818863 ac154f64 0020d25afb3f ac154f61
  000000000000000000000000000000000000`);

/** capture: tcpreplay/test.rewrite_vlan802.1ad.pcap frame 1, 97 bytes. One 802.1ad tag, PCP 2, DEI 1, VID 42; IPv4 TCP PSH|ACK with timestamps and 27 bytes of TLS. */
export const VLAN_TCP = hex(`
  001ff33ce113 f81edfe5843a 88a8 502a 0800
  4500004fde534000400647abac100b0c4a7d1311
  fc3501bbc6d914d0c51e2dbf8018ffffcb8c00000101080a1a7d842c37c558b0
  1503010016431a881efa7abc226ee6327a534700a75dcc64ea8e92`);
export const VLAN_TCP_IP = 18;

/** capture: tcpdump/dns_tcp.pcap frame 1, 74 bytes. 192.168.1.11:33779 -> 209.87.249.18:53 SYN, MSS 1460, SACK_PERM, TS 2044906138/0, NOP, WS 7. */
export const SYN_PKT = hex(`
  001122334466 001122334455 0800
  4500003c9b28400040061376c0a8010bd157f912
  83f3003523fec80c00000000a002faf00c410000 020405b4 0402 080a79e2ca9a00000000 01 030307`);
export const SYN_PKT_IP = 14;
export const SYN_PKT_TCP = 34;

/** capture: tcpreplay/test.pcap frame 9, 78 bytes. 74.125.19.17:443 -> 172.16.11.12:64565 ACK, TOS 0x20, NOP NOP TS NOP NOP SACK 1 block (SLE=28 SRE=29 relative). */
export const TCP_SACK = hex(`
  f81edfe5843a 001ff33ce113 0800
  45200040ab5200003606c49b4a7d1311ac100b0c
  01bbfc35c51e2dc0c6d914ecb010011b90170000 0101080a37c740381a7d842c 0101050ac6d914ebc6d914ec`);
export const TCP_SACK_IP = 14;
export const TCP_SACK_TCP = 34;

/** capture: tcpdump/dns_udp.pcap frame 1, 98 bytes. 192.168.1.11:43966 -> 209.87.249.18:53, DNS query A www.tcpdump.org with EDNS. */
export const UDP_DNS = hex(`
  001122334466 001122334455 0800
  4500005459cd0000401194aec0a8010bd157f912
  abbe003500407824
  593401200001000000000001037777770774637064756d70036f72670000010001000029100000000000000c000a000842f5d00996f90b13`);
export const UDP_DNS_IP = 14;
export const UDP_DNS_UDP = 34;

/**
 * scapy: IP(src='198.51.100.1', dst='203.0.113.5', id=1, ttl=64)/UDP(sport=53, dport=40000)/Raw(b'\xfd\x29')
 * The payload makes the computed checksum 0x0000, which goes on the wire as 0xffff (RFC 768).
 */
export const UDP_CSUM_ZERO = hex('4500001e0001000040111494c6336401cb007105 00359c40000affff fd29');

/** capture: tcpdump/IGMP_V2.pcap frame 2, 46 bytes. IHL 6 with a Router Alert option (RFC 2113), TTL 1, IGMP. */
export const IGMP_ROUTER_ALERT = hex(`
  01005e7ffffa 001c23aabead 0800
  460000208c6200000102e692c0a80140effffffa 94040000
  1600fa04effffffa`);
export const IGMP_IP = 14;

/** scapy: IP(src='198.51.100.1', dst='203.0.113.5', tos=(46<<2)|1, id=0x1234, flags='MF', frag=185, ttl=64, proto=17)/Raw(bytes(range(16))) */
export const IPV4_FRAGMENT = hex('45b90024123420b94011e0e8c6336401cb007105 000102030405060708090a0b0c0d0e0f');

/**
 * scapy: IP(src='192.0.2.1', dst='198.51.100.9', id=0x0101, ttl=17, proto=1, options=[
 *   IPOption_RR(pointer=8, routers=['192.0.2.254','0.0.0.0','0.0.0.0']), IPOption_NOP(),
 *   IPOption_LSRR(pointer=4, routers=['203.0.113.1','198.51.100.9'])])  -- IHL 12, one EOL pad byte.
 */
export const IPV4_RR_LSRR = hex(`
  4c000030010100001101e149c0000201c6336409
  070f08 c00002fe 00000000 00000000 01 830b04 cb007101 c6336409 00`);

/**
 * scapy: IP(src='192.0.2.1', dst='198.51.100.9', id=0x0202, ttl=9, proto=6, options=[
 *   IPOption_Timestamp(pointer=13, oflw=1, flg=1, internet_address='192.0.2.1', timestamp=0x01020304),
 *   IPOption_SSRR(pointer=4, routers=['203.0.113.7'])])  -- IHL 10.
 */
export const IPV4_TS_SSRR = hex(`
  4a0000280202000009061228c0000201c6336409
  440c0d11 c0000201 01020304 890704 cb007107 00`);

/** capture: tcpdump/e1000g.pcap frame 1 from the IP header on (the capture's link header is 24 bytes). Echo request id 0x1af5 seq 0, 56 data bytes. */
export const ICMP_ECHO = hex(`
  45000054e58e0000f901fcd581926a370a05e975
  080032e21af50000
  ed760d4bb9630b0008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`);

/**
 * capture: tcpreplay/test.pcap frame 51, 70 bytes. Port unreachable from
 * 172.16.11.12 quoting a UDP datagram 172.16.11.1:53 -> 172.16.11.12:59368 whose
 * total length is 67 but of which only header + 8 bytes are quoted.
 */
export const ICMP_PORT_UNREACH = hex(`
  001ff33ce113 f81edfe5843a 0800
  450000 38f361000040011936ac100b0cac100b01
  030314b000000000
  45000043c180000040114afcac100b01ac100b0c 0035e7e8002f0000`);
export const ICMP_PORT_UNREACH_IP = 14;
export const ICMP_PORT_UNREACH_ICMP = 34;

/**
 * capture: tcpdump/mpls-traceroute.pcap frame 2 from the IP header on. TTL
 * exceeded in transit quoting 128 bytes of a UDP probe, then an RFC 4950 MPLS
 * label stack extension (outside RFC 4884's length field, as old routers send it).
 */
export const ICMP_TIME_EXCEEDED_MPLS = hex(`
  450000a813964000ff014db10a0500010c040404
  0b00cd0400000000
  45000028a54c00000111f76f0c0404040c010101a54b829b00140000
  ${'00'.repeat(100)}
  2000c55f0008010118960101`);

/**
 * scapy: IP(src='192.0.2.254', dst='198.51.100.7', id=7, ttl=64)/ICMP(type=3, code=4, nexthopmtu=1400)/Raw(quote)
 * quote = first 28 bytes of IP(src='198.51.100.7', dst='203.0.113.5', id=0xbeef, flags='DF', ttl=63, proto=6)
 *         /TCP(sport=40000, dport=443, seq=0x11223344, flags='S', window=64240)
 */
export const ICMP_FRAG_NEEDED = hex(`
  450000380007000040018d85c00002fec6336407
  0304152200000578
  45000028beef40003f0616a0c6336407cb007105 9c4001bb11223344`);

/** scapy: IP(src='192.0.2.254', dst='192.0.2.10', ttl=64, id=9)/ICMP(type=5, code=1, gw='192.0.2.1')/Raw(28 bytes of a UDP 192.0.2.10:5000 -> 203.0.113.5:53) */
export const ICMP_REDIRECT_HOST = hex(`
  45000038000900004001f5b3c00002fec000020a
  05013727c0000201
  4500001c000100003f117dc0c000020acb007105 138800350008ee10`);

/**
 * scapy: ICMP(type=12, code=0, ptr=20)/Raw(raw(IP(src='192.0.2.10', dst='203.0.113.5', ttl=63, id=2,
 *   options=[IPOption_RR(pointer=4, routers=['0.0.0.0'])])/ICMP(type=8, id=7, seq=1))[:32]) -- ICMP only.
 * The quoted header has IHL 7 (an RR option + EOL), so only 4 bytes of the echo header fit in the quote.
 */
export const ICMP_PARAM_PROBLEM = hex(`
  0c00e00714000000
  47000024000200003f0170c0c000020acb007105 07070400000000 00
  0800f7f7`);

/** scapy: ICMP(type=13, code=0, id=0x4242, seq=7, ts_ori=1000, ts_rx=2000, ts_tx=3000) -- ICMP only. */
export const ICMP_TIMESTAMP_REQUEST = hex('0d00994642420007 000003e8 000007d0 00000bb8');

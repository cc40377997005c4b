// What an AF_PACKET ring walk with PACKET_VNET_HDR does with the
// virtio_net_hdr the kernel wrote before each frame (tpacket_rcv:
// virtio_net_hdr_from_skb, at tp_mac - 10).
//
// A veth with the default offloads hands over what its peer's stack built:
// TCP super-frames of up to 64 KiB (TSO/GSO, or GRO'd) and partial
// checksums. The router routes what it can route whole and describes it to
// the pipeline in the slot's offload words (vnet.h), in the one form the
// pipeline and the TX side know, the one an offload TAP produces:
//
//   - TCP/IPv4 super-frame: gso_type TCPV4 (ECN bit kept), gso_size, NEEDS_CSUM
//     with csum_start at the TCP header and its checksum field holding the
//     pseudo-header sum. A GRO'd super-frame (DATA_VALID, no NEEDS_CSUM: the
//     field holds the first segment's checksum) is put in that form here.
//   - a partial TCP or UDP checksum over IPv4 (NEEDS_CSUM at the L4 header):
//     carried; the pipeline completes it only if the frame leaves by a port
//     without offload.
//   - any other partial checksum (inside a tunnel, IPv6): completed here, as
//     the kernel's skb_checksum_help would, so the frame is whole.
//
// Unsupported, dropped and counted (RX_OFFLOAD_UNSUPPORTED): UDP GSO (USO),
// TCP/IPv6 GSO, GSO over a tunnel (a TCPV4 super-frame whose IPv4 protocol
// is not TCP, or whose checksum start is not the outer TCP header), an IPv4
// SCTP partial checksum (CRC32c, which this code does not compute), and
// headers the description does not match. The pipeline cannot segment them
// and no egress could take them whole.
#pragma once

#include <cstdint>

#include "checksum.h"
#include "vnet.h"

namespace dpio {

enum class RxOffload { kPass, kChecksumFixed, kUnsupported };

// `f` is the frame as copied into the arena, `shift` the bytes CopyFrame
// inserted at offset 12 (a VLAN tag the kernel had taken out: 0 or 4), by
// which the header's offsets, counted without it, move. Writes the slot's
// kMetaWords words at `m` unless the frame is unsupported.
inline RxOffload TakeRxOffload(uint8_t* f, uint32_t len, const vnet::Hdr& h, uint32_t shift, uint16_t* m) {
  uint8_t flags = h.flags & vnet::kFNeedsCsum;  // DATA_VALID says nothing the pipeline needs
  uint8_t gso = h.gso_type;
  for (uint32_t i = 0; i < vnet::kMetaWords; i++) m[i] = 0;
  if (gso == vnet::kGsoNone && flags == 0) return RxOffload::kPass;
  uint32_t csumStart = uint32_t(h.csum_start) + shift;
  uint32_t csumOffset = h.csum_offset;

  // Find the IPv4 header behind any 802.1Q/802.1ad tags.
  uint32_t l3 = 12;
  uint32_t type = len >= 14 ? (uint32_t(f[12]) << 8) | f[13] : 0;
  while ((type == 0x8100 || type == 0x88a8) && l3 + 6 <= len) {
    l3 += 4;
    type = (uint32_t(f[l3]) << 8) | f[l3 + 1];
  }
  l3 += 2;
  bool ip4 = type == 0x0800 && l3 + 20 <= len && (f[l3] >> 4) == 4;
  uint32_t ihl = ip4 ? uint32_t(f[l3] & 15) * 4 : 0;
  uint32_t total = ip4 ? (uint32_t(f[l3 + 2]) << 8) | f[l3 + 3] : 0;
  ip4 = ip4 && ihl >= 20 && total >= ihl && l3 + total <= len;
  bool fragment = ip4 && ((f[l3 + 6] & 0x3f) != 0 || f[l3 + 7] != 0);
  uint8_t proto = ip4 ? f[l3 + 9] : 0;
  uint32_t l4 = l3 + ihl;

  if (gso != vnet::kGsoNone) {
    if ((gso & ~vnet::kGsoEcn) != vnet::kGsoTcpV4 || !ip4 || fragment || proto != 6 || h.gso_size == 0) {
      return RxOffload::kUnsupported;
    }
    if (l4 + 20 > l3 + total) return RxOffload::kUnsupported;
    uint32_t thl = uint32_t(f[l4 + 12] >> 4) * 4;
    if (thl < 20 || l4 + thl > l3 + total) return RxOffload::kUnsupported;
    if (flags != 0) {
      // A checksum start past the TCP header is an inner one: a tunnel.
      if (csumStart != l4 || csumOffset != 16) return RxOffload::kUnsupported;
    } else {
      // GRO'd: seed the field with the pseudo-header sum, as a sender's TSO would.
      uint64_t sum = SumWords(f + l3 + 12, 8, 0) + 6 + (total - ihl);
      uint16_t seed = Fold(sum);
      f[l4 + 16] = static_cast<uint8_t>(seed >> 8);
      f[l4 + 17] = static_cast<uint8_t>(seed);
    }
    m[vnet::kFlags] = vnet::kFNeedsCsum;
    m[vnet::kGsoType] = gso;
    m[vnet::kHdrLenWord] = static_cast<uint16_t>(l4 + thl);
    m[vnet::kGsoSize] = h.gso_size;
    m[vnet::kCsumStart] = static_cast<uint16_t>(l4);
    m[vnet::kCsumOffset] = 16;
    return RxOffload::kPass;
  }

  // A partial checksum on a whole frame.
  if (ip4 && !fragment && csumStart == l4 && ((proto == 6 && csumOffset == 16) || (proto == 17 && csumOffset == 6))) {
    m[vnet::kFlags] = vnet::kFNeedsCsum;
    m[vnet::kCsumStart] = static_cast<uint16_t>(csumStart);
    m[vnet::kCsumOffset] = static_cast<uint16_t>(csumOffset);
    return RxOffload::kPass;
  }
  if (ip4 && proto == 132) return RxOffload::kUnsupported;  // SCTP: CRC32c, not a ones-complement sum
  return CompleteChecksumAt(f, len, csumStart, csumOffset) ? RxOffload::kChecksumFixed : RxOffload::kUnsupported;
}

}  // namespace dpio

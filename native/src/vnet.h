// The offload metadata the bursts exchange with JavaScript, and the
// virtio_net_hdr it mirrors.
//
// A frame's offload state travels beside it as kMetaWords uint16 per slot
// (Batch.offload in src/pipeline/batch.ts, OffloadMeta there), in the field
// order of struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size,
// csum_start, csum_offset. FLAGS and GSO_TYPE both 0 means "a whole,
// checksummed frame". The addon exports this layout (offloadLayout) and a
// test holds it equal to the TypeScript constants, so the two cannot drift.
//
// The header is the legacy 10-byte struct virtio_net_hdr in host byte order
// (tun without TUNSETVNETLE/BE, AF_PACKET's PACKET_VNET_HDR: both use
// virtio_legacy_is_little_endian(), which is host order on little-endian hosts).
#pragma once

#include <cstdint>
#include <cstring>

namespace dpio {
namespace vnet {

// struct virtio_net_hdr of <linux/virtio_net.h> (whose header does not parse as C++).
struct Hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(Hdr) == 10, "virtio_net_hdr is 10 bytes");
constexpr uint32_t kHdrLen = sizeof(Hdr);

// Word indexes of one slot's metadata (OffloadMeta in batch.ts).
constexpr uint32_t kFlags = 0;
constexpr uint32_t kGsoType = 1;
constexpr uint32_t kHdrLenWord = 2;
constexpr uint32_t kGsoSize = 3;
constexpr uint32_t kCsumStart = 4;
constexpr uint32_t kCsumOffset = 5;
constexpr uint32_t kMetaWords = 6;

// VIRTIO_NET_HDR_F_* and VIRTIO_NET_HDR_GSO_* (the kernel's values).
constexpr uint8_t kFNeedsCsum = 1;
constexpr uint8_t kFDataValid = 2;  // receive only: the kernel checked the checksum; never in meta
constexpr uint8_t kGsoNone = 0;
constexpr uint8_t kGsoTcpV4 = 1;
constexpr uint8_t kGsoUdp = 3;
constexpr uint8_t kGsoTcpV6 = 4;
constexpr uint8_t kGsoUdpL4 = 5;
constexpr uint8_t kGsoEcn = 0x80;

inline void ToMeta(const Hdr& h, uint16_t* m) {
  m[kFlags] = h.flags;
  m[kGsoType] = h.gso_type;
  m[kHdrLenWord] = h.hdr_len;
  m[kGsoSize] = h.gso_size;
  m[kCsumStart] = h.csum_start;
  m[kCsumOffset] = h.csum_offset;
}

inline Hdr FromMeta(const uint16_t* m) {
  Hdr h;
  h.flags = static_cast<uint8_t>(m[kFlags]);
  h.gso_type = static_cast<uint8_t>(m[kGsoType]);
  h.hdr_len = m[kHdrLenWord];
  h.gso_size = m[kGsoSize];
  h.csum_start = m[kCsumStart];
  h.csum_offset = m[kCsumOffset];
  return h;
}

inline Hdr Read(const uint8_t* p) {
  Hdr h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

}  // namespace vnet
}  // namespace dpio

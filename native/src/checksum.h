// Completing an offloaded TCP/UDP checksum.
//
// A frame sent by a local stack through a veth keeps CHECKSUM_PARTIAL: its
// L4 checksum field holds only the pseudo-header sum, and AF_PACKET flags it
// TP_STATUS_CSUMNOTREADY. Forwarded as it is, the next host would drop it, so
// the ring walk computes the real checksum (RFC 1071) before handing it on.
#pragma once

#include <cstdint>

namespace dpio {

// Ones-complement sum of b[0, len) as big-endian 16-bit words (an odd last
// byte padded with zero), added to `sum`; fold it with Fold().
inline uint64_t SumWords(const uint8_t* b, uint32_t len, uint64_t sum) {
  uint32_t i = 0;
  for (; i + 1 < len; i += 2) sum += (uint32_t(b[i]) << 8) | b[i + 1];
  if (i < len) sum += uint32_t(b[i]) << 8;
  return sum;
}

inline uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// What the kernel's skb_checksum_help does for a CHECKSUM_PARTIAL packet: the
// checksum of f[start, len) (the field's seed, a pseudo-header sum or zero,
// included) goes at start + offset, 0 written as 0xffff. Returns false (and
// writes nothing) when the field lies outside the frame.
inline bool CompleteChecksumAt(uint8_t* f, uint32_t len, uint32_t start, uint32_t offset) {
  if (start > len || offset > len - start || len - start - offset < 2) return false;
  uint16_t c = static_cast<uint16_t>(~Fold(SumWords(f + start, len - start, 0)));
  if (c == 0) c = 0xffff;
  f[start + offset] = static_cast<uint8_t>(c >> 8);
  f[start + offset + 1] = static_cast<uint8_t>(c);
  return true;
}

// Returns true when `f` (an Ethernet frame, 802.1Q/802.1ad tags allowed) is an
// unfragmented IPv4 TCP or UDP packet whose checksum was rewritten.
inline bool CompleteL4Checksum(uint8_t* f, uint32_t len) {
  uint32_t o = 12;
  if (len < o + 2) return false;
  uint32_t type = (uint32_t(f[o]) << 8) | f[o + 1];
  while ((type == 0x8100 || type == 0x88a8) && o + 6 <= len) {
    o += 4;
    type = (uint32_t(f[o]) << 8) | f[o + 1];
  }
  o += 2;
  if (type != 0x0800 || o + 20 > len) return false;
  uint8_t* ip = f + o;
  if ((ip[0] >> 4) != 4) return false;
  uint32_t ihl = uint32_t(ip[0] & 15) * 4;
  uint32_t total = (uint32_t(ip[2]) << 8) | ip[3];
  if (ihl < 20 || total < ihl || o + total > len) return false;
  if ((ip[6] & 0x3f) != 0 || ip[7] != 0) return false;  // MF set or a later fragment
  uint8_t proto = ip[9];
  uint32_t l4len = total - ihl;
  uint32_t field;
  if (proto == 6 && l4len >= 20) {
    field = 16;
  } else if (proto == 17 && l4len >= 8) {
    field = 6;
  } else {
    return false;
  }
  uint8_t* l4 = ip + ihl;
  l4[field] = 0;
  l4[field + 1] = 0;
  uint64_t sum = 0;
  for (uint32_t i = 12; i < 20; i += 2) sum += (uint32_t(ip[i]) << 8) | ip[i + 1];
  sum += proto;
  sum += l4len;
  uint32_t i = 0;
  for (; i + 1 < l4len; i += 2) sum += (uint32_t(l4[i]) << 8) | l4[i + 1];
  if (i < l4len) sum += uint32_t(l4[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t csum = static_cast<uint16_t>(~sum & 0xffff);
  if (proto == 17 && csum == 0) csum = 0xffff;  // RFC 768: zero means "no checksum"
  l4[field] = static_cast<uint8_t>(csum >> 8);
  l4[field + 1] = static_cast<uint8_t>(csum);
  return true;
}

}  // namespace dpio

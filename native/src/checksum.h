// Completing an offloaded TCP/UDP checksum.
//
// A frame sent by a local stack through a veth keeps CHECKSUM_PARTIAL: its
// L4 checksum field holds only the pseudo-header sum, and AF_PACKET flags it
// TP_STATUS_CSUMNOTREADY. Forwarded as it is, the next host would drop it, so
// the ring walk computes the real checksum (RFC 1071) before handing it on.
#pragma once

#include <cstdint>
#include <cstring>

namespace dpio {

inline uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "SumWords reads little-endian words");

// Ones-complement sum of b[0, len) as big-endian 16-bit words (an odd last
// byte padded with zero), added to `sum`; fold it with Fold(). It reads
// host-order words (a 1500-byte payload in ~40 ns instead of ~140 byte pair
// by byte pair) and swaps the folded sum's bytes at the end: the
// ones-complement sum commutes with swapping bytes (RFC 1071 2(B)), and
// 2^16 = 1 in its arithmetic, so a 32- or 64-bit word adds what its 16-bit
// parts do. Frames are at most 64 KiB: the 4-byte tail cannot overflow.
inline uint64_t SumWords(const uint8_t* b, uint32_t len, uint64_t sum) {
  uint64_t lo = 0;
  uint64_t hi = 0;
  uint32_t i = 0;
  // 8 bytes a step, their two 32-bit halves into two sums: no carry to
  // chain on, which -O2 (the addon's level, no vectorising) runs fastest.
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    lo += w & 0xffffffff;
    hi += w >> 32;
  }
  uint64_t host = lo + hi;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    std::memcpy(&w, b + i, 4);
    host += w;
  }
  if (i + 2 <= len) {
    uint16_t w;
    std::memcpy(&w, b + i, 2);
    host += w;
    i += 2;
  }
  if (i < len) host += b[i];  // the low byte of its host-order word: the high byte once swapped
  uint16_t folded = Fold(host);
  return sum + static_cast<uint16_t>((folded >> 8) | (folded << 8));
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

// Where an Ethernet frame's TCP or UDP checksum lies: the frame is an
// unfragmented IPv4 TCP or UDP packet (802.1Q/802.1ad tags allowed) whose
// L4 header fits in its IPv4 total length, itself inside the frame.
struct L4Checksum {
  uint8_t* ip;
  uint8_t* l4;
  uint32_t l4len;
  uint32_t field;  // the checksum's offset in the L4 header
  uint8_t proto;
};

inline bool FindL4Checksum(uint8_t* f, uint32_t len, L4Checksum& x) {
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
  if (proto == 6 && l4len >= 20) {
    x.field = 16;
  } else if (proto == 17 && l4len >= 8) {
    x.field = 6;
  } else {
    return false;
  }
  x.ip = ip;
  x.l4 = ip + ihl;
  x.l4len = l4len;
  x.proto = proto;
  return true;
}

// The folded IPv4 pseudo-header sum (addresses, protocol, L4 length): what
// a sender that leaves the checksum to the hardware puts in the field.
inline uint16_t PseudoHeaderSum(const L4Checksum& x) {
  uint64_t sum = x.proto + uint64_t(x.l4len);
  for (uint32_t i = 12; i < 20; i += 2) sum += (uint32_t(x.ip[i]) << 8) | x.ip[i + 1];
  return Fold(sum);
}

// Computes the checksum over the pseudo-header and the L4 bytes (the field
// taken as zero) and writes it.
inline void WriteL4Checksum(const L4Checksum& x) {
  uint8_t* c = x.l4 + x.field;
  c[0] = 0;
  c[1] = 0;
  uint16_t csum = static_cast<uint16_t>(~Fold(SumWords(x.l4, x.l4len, PseudoHeaderSum(x))));
  if (x.proto == 17 && csum == 0) csum = 0xffff;  // RFC 768: zero means "no checksum"
  c[0] = static_cast<uint8_t>(csum >> 8);
  c[1] = static_cast<uint8_t>(csum);
}

// Returns true when `f` (an Ethernet frame, 802.1Q/802.1ad tags allowed) is an
// unfragmented IPv4 TCP or UDP packet whose checksum was rewritten.
inline bool CompleteL4Checksum(uint8_t* f, uint32_t len) {
  L4Checksum x;
  if (!FindL4Checksum(f, len, x)) return false;
  WriteL4Checksum(x);
  return true;
}

// For frames that come without offload metadata (AF_XDP): a TCP or UDP
// checksum field that holds exactly the pseudo-header sum is taken for a
// partial checksum (a veth peer with TX checksum offload on leaves it so)
// and completed. Safe on a finished checksum too: completing computes the
// checksum of the bytes as they are, so a correct checksum that happens to
// equal the pseudo-header sum is written again (the same value, or the
// other of ones' complement's two zeros). UDP's 0 ("no checksum") never
// equals a pseudo-header sum (that is at least 17).
// Returns true when it completed one.
inline bool CompleteUnmarkedPartialChecksum(uint8_t* f, uint32_t len) {
  L4Checksum x;
  if (!FindL4Checksum(f, len, x)) return false;
  uint16_t field = static_cast<uint16_t>((uint32_t(x.l4[x.field]) << 8) | x.l4[x.field + 1]);
  if (field != PseudoHeaderSum(x)) return false;
  WriteL4Checksum(x);
  return true;
}

}  // namespace dpio

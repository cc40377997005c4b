// Checks native/src/checksum.h, built and run by checksum.test.ts: the
// word-at-a-time SumWords against the byte-pair sum it replaced, on random
// buffers of every alignment and length; and which frames
// CompleteUnmarkedPartialChecksum (AF_XDP's receive) completes or leaves.
// Prints one "name ok" or "name FAIL ..." line per check.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "checksum.h"

using namespace dpio;

static uint64_t BytePairSum(const uint8_t* b, uint32_t len, uint64_t sum) {
  uint32_t i = 0;
  for (; i + 1 < len; i += 2) sum += (uint32_t(b[i]) << 8) | b[i + 1];
  if (i < len) sum += uint32_t(b[i]) << 8;
  return sum;
}

// An Ethernet + IPv4 + TCP (proto 6) or UDP (17) frame with `payload` random bytes and a correct checksum.
static std::vector<uint8_t> Frame(std::mt19937& rng, uint8_t proto, uint32_t payload) {
  uint32_t l4 = (proto == 6 ? 20 : 8) + payload;
  std::vector<uint8_t> f(14 + 20 + l4);
  for (auto& b : f) b = static_cast<uint8_t>(rng());
  f[12] = 0x08;
  f[13] = 0x00;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>((20 + l4) >> 8);
  ip[3] = static_cast<uint8_t>(20 + l4);
  ip[6] = 0x40;  // DF, offset 0
  ip[7] = 0;
  ip[9] = proto;
  if (proto == 17) {
    ip[20 + 4] = static_cast<uint8_t>(l4 >> 8);
    ip[20 + 5] = static_cast<uint8_t>(l4);
  }
  CompleteL4Checksum(f.data(), static_cast<uint32_t>(f.size()));
  return f;
}

static bool Valid(const std::vector<uint8_t>& f) {
  L4Checksum x{};
  std::vector<uint8_t> g = f;
  if (!FindL4Checksum(g.data(), static_cast<uint32_t>(g.size()), x)) return false;
  return Fold(SumWords(x.l4, x.l4len, PseudoHeaderSum(x))) == 0xffff;
}

static uint16_t Field(const std::vector<uint8_t>& f, uint8_t proto) {
  size_t at = 14 + 20 + (proto == 6 ? 16 : 6);
  return static_cast<uint16_t>((f[at] << 8) | f[at + 1]);
}

static void SetField(std::vector<uint8_t>& f, uint8_t proto, uint16_t v) {
  size_t at = 14 + 20 + (proto == 6 ? 16 : 6);
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

int main() {
  std::mt19937 rng(1071);
  // 1. SumWords equals the byte-pair sum, folded, at every offset and length.
  {
    std::vector<uint8_t> buf(70000);
    long bad = 0;
    for (int t = 0; t < 50000; t++) {
      uint32_t len = t < 600 ? static_cast<uint32_t>(t) : rng() % (t % 97 == 0 ? 66000 : 1600);
      uint32_t off = rng() % 8;
      for (uint32_t i = 0; i < len + off; i++) buf[i] = t % 5 == 0 ? 0xff : static_cast<uint8_t>(rng());
      uint64_t seed = t % 3 == 0 ? 0 : rng();
      if (Fold(SumWords(buf.data() + off, len, seed)) != Fold(BytePairSum(buf.data() + off, len, seed))) bad++;
    }
    if (bad == 0) std::printf("sum-words ok\n");
    else std::printf("sum-words FAIL %ld of 50000 differ\n", bad);
  }
  // 2. A partial checksum (the field holds the pseudo-header sum) is completed; a correct one is left as it is.
  {
    long bad = 0;
    long completed = 0;
    for (int t = 0; t < 20000; t++) {
      uint8_t proto = t % 2 == 0 ? 6 : 17;
      std::vector<uint8_t> f = Frame(rng, proto, rng() % 1480);
      if (!Valid(f)) bad++;
      std::vector<uint8_t> whole = f;
      bool changed = CompleteUnmarkedPartialChecksum(whole.data(), static_cast<uint32_t>(whole.size()));
      if (whole != f && !(changed && Valid(whole))) bad++;  // a correct checksum equal to the pseudo-header sum is written again, still valid
      L4Checksum x{};
      FindL4Checksum(f.data(), static_cast<uint32_t>(f.size()), x);
      uint16_t want = Field(f, proto);
      SetField(f, proto, PseudoHeaderSum(x));
      if (!CompleteUnmarkedPartialChecksum(f.data(), static_cast<uint32_t>(f.size()))) bad++;
      else completed++;
      if (Field(f, proto) != want && !(proto == 6 && (want == 0 || want == 0xffff))) bad++;
      if (!Valid(f)) bad++;
    }
    if (bad == 0) std::printf("partial-completed ok (%ld)\n", completed);
    else std::printf("partial-completed FAIL %ld\n", bad);
  }
  // 3. Left alone: a UDP datagram without a checksum (0), a later fragment, a frame cut inside its
  //    headers, a field that is neither finished nor the pseudo-header sum (damage is not hidden).
  {
    int bad = 0;
    std::vector<uint8_t> udp = Frame(rng, 17, 40);
    SetField(udp, 17, 0);
    std::vector<uint8_t> before = udp;
    if (CompleteUnmarkedPartialChecksum(udp.data(), static_cast<uint32_t>(udp.size())) || udp != before) bad++;
    std::vector<uint8_t> frag = Frame(rng, 6, 100);
    L4Checksum x{};
    FindL4Checksum(frag.data(), static_cast<uint32_t>(frag.size()), x);
    SetField(frag, 6, PseudoHeaderSum(x));
    frag[14 + 6] = 0x20;  // MF
    before = frag;
    if (CompleteUnmarkedPartialChecksum(frag.data(), static_cast<uint32_t>(frag.size())) || frag != before) bad++;
    std::vector<uint8_t> cut = Frame(rng, 6, 100);
    FindL4Checksum(cut.data(), static_cast<uint32_t>(cut.size()), x);
    SetField(cut, 6, PseudoHeaderSum(x));
    before = cut;
    if (CompleteUnmarkedPartialChecksum(cut.data(), 14 + 20 + 10) || cut != before) bad++;
    std::vector<uint8_t> damaged = Frame(rng, 6, 100);
    SetField(damaged, 6, static_cast<uint16_t>(Field(damaged, 6) ^ 0x0101));
    before = damaged;
    if (CompleteUnmarkedPartialChecksum(damaged.data(), static_cast<uint32_t>(damaged.size())) || damaged != before) bad++;
    if (bad == 0) std::printf("left-alone ok\n");
    else std::printf("left-alone FAIL %d\n", bad);
  }
  return 0;
}

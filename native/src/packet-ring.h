// One AF_PACKET socket with its RX ring (packet.cc opens and closes it,
// packet-burst.cc moves frames through it), and the helpers both sides use.
// A ring belongs to the JS thread that opened it (AddonState).
//
// Two ring layouts: TPACKET_V3 (variable-sized frames packed in blocks; the
// kernel hands a block over when it is full or retireTimeoutMs after its
// first frame, so a lone frame waits up to that timeout) and TPACKET_V2
// (fixed-size frame slots, each handed over, and the socket woken, as soon
// as it is written: no retire delay, the default for latency).
#pragma once

#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "common.h"

namespace dpio {

struct PacketRing {
  int fd = -1;
  int ifindex = 0;
  std::string ifname;
  uint8_t* map = nullptr;
  size_t mapLen = 0;
  uint32_t blockSize = 0;
  uint32_t blockCount = 0;
  int version = 3;  // TPACKET_V2 or TPACKET_V3 (as 2 or 3), 0: no ring (recvmmsg into the arena)
  // V2: fixed frame slots, framesPerBlock in each block; `frame` is the next slot to read.
  uint32_t frameSize = 0;
  uint32_t framesPerBlock = 0;
  uint32_t frameCount = 0;
  uint32_t frame = 0;
  // V3 cursor: the block we are in; frames left in it and the next one (when open).
  uint32_t block = 0;
  bool blockOpen = false;
  uint32_t framesLeft = 0;
  uint8_t* nextFrame = nullptr;
  uint32_t emptyPolls = 0;  // consecutive bursts that found the ring empty
  bool gone = false;
  // PACKET_VNET_HDR: a virtio_net_hdr before every frame, both ways.
  bool offload = false;
  // PACKET_STATISTICS resets on read: the bursts read it now and then (and
  // count its drops); totals since open, and what packetStats last reported.
  uint64_t statsAtMs = 0;
  double kernelPackets = 0, kernelDrops = 0, kernelFreezes = 0;
  double reportedPackets = 0, reportedDrops = 0, reportedFreezes = 0;

  ~PacketRing() {
    if (map != nullptr) munmap(map, mapLen);
    if (fd >= 0) close(fd);
  }

  tpacket_block_desc* Block(uint32_t b) const {
    return reinterpret_cast<tpacket_block_desc*>(map + size_t(b) * blockSize);
  }

  // V2 frame slot i (frames never straddle blocks).
  tpacket2_hdr* Frame(uint32_t i) const {
    return reinterpret_cast<tpacket2_hdr*>(map + size_t(i / framesPerBlock) * blockSize + size_t(i % framesPerBlock) * frameSize);
  }
};

// "fn(\"ifname\")", for error messages.
std::string What(const char* fn, const PacketRing& r);

// The ring behind handle argument i (throws a RangeError for a bad handle).
PacketRing& Ring(const Napi::CallbackInfo& info, size_t i);

// The interface under a packet socket is gone for good when the kernel has
// unbound the socket (NETDEV_UNREGISTER sets its ifindex to -1).
bool SocketUnbound(const PacketRing& r);

[[noreturn]] void ThrowGone(Napi::Env env, PacketRing& r, int err, const char* syscall, const char* fn);

// Adds what the kernel counted since the last read (PACKET_STATISTICS, reset
// on read) to the ring's totals, and its drops to `counters`. Returns false
// when the read failed (errno set).
bool PollKernelStats(PacketRing& r, Span<double> counters);

Napi::Value PacketRxBurst(const Napi::CallbackInfo& info);
Napi::Value PacketTxBurst(const Napi::CallbackInfo& info);

}  // namespace dpio

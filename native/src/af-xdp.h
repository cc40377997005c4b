// AF_XDP sockets (XSKs): one per interface queue and worker. The XDP program
// and the XSKMAP are the port's (af-xdp-prog.cc, loaded once by the main
// thread); each worker opens its XSK (af-xdp.cc) on a UMEM that lies inside
// its batch arena, so a received frame is handed to the pipeline where the
// kernel wrote it (af-xdp-burst.cc) and nothing is copied on receive.
//
// Frame life: free -> fill ring (kernel) -> rx ring -> lent to the batch ->
// either back to free at the next receive (the batch is done with it by
// then: a run-loop step never keeps a slot past its transmit), or into the
// TX ring when it leaves by this same port, and free again when the
// completion ring returns it. A frame that leaves by this port from anywhere
// else (another port's UMEM, a generated slot) is copied into a free frame.
#pragma once

#include <xdp/xsk.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace dpio {

// One UMEM chunk per frame: 4 KiB, of which the kernel puts a received frame
// XDP_PACKET_HEADROOM (256) bytes in, and we copy a frame to send there too.
// The headroom is where the pipeline prepends (icmp-error, the tunnel
// encapsulations: at most the batch's HEADROOM of 128 bytes); behind the
// frame's start a chunk holds kXskMaxFrame bytes. The kernel delivers no
// longer frame (copy mode drops it as rx_dropped, a driver cannot place it),
// and no node lengthens a received frame in place past its end (they
// prepend, or build larger packets in generated and jumbo slots), so the
// pipeline never writes past a received frame's chunk. A frame to send is
// another matter: the batch's slots are as large as the largest port needs
// (a jumbo MTU, 64 KiB offload super-frames), so xskTxBurst checks each
// frame's length against kXskMaxFrame and drops a longer one (kTxOversize)
// rather than copy it over the next chunk.
constexpr uint32_t kXskFrameSize = 4096;
// XDP_PACKET_HEADROOM: where the kernel puts a received frame in its chunk, and where we copy one to send.
constexpr uint32_t kXdpHeadroom = 256;
// The longest frame a chunk carries (3840 bytes): the largest afxdp port MTU is this less the Ethernet header.
constexpr uint32_t kXskMaxFrame = kXskFrameSize - kXdpHeadroom;
// Where a UMEM starts when its area has room (AfXdpPort.areaBytes): a transparent huge page.
constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

enum class FrameState : uint8_t { kFree = 0, kKernel = 1, kLent = 2 };

struct XskPort {
  std::string ifname;
  int ifindex = 0;
  int queue = -1;  // -1: this worker has no queue of the interface; it sends through txFd
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  int fd = -1;
  int txFd = -1;  // AF_PACKET socket with protocol 0 (receives nothing) for a worker without a queue
  bool zerocopy = false;
  // The socket was bound with XDP_USE_NEED_WAKEUP (the kernel refuses a bind
  // flag it does not know, so a socket that exists has what it asked for).
  bool needWakeup = false;
  bool gone = false;
  // The UMEM: `frames` chunks at `area`, which is arena + areaOffset of the
  // batch arena the port was opened with.
  const uint8_t* arenaBase = nullptr;
  uint8_t* area = nullptr;
  uint32_t areaOffset = 0;
  uint32_t frames = 0;
  // The fill and RX rings hold `ringSize` entries (default: every frame),
  // the TX and completion rings half that.
  uint32_t ringSize = 0;
  uint32_t txRingSize = 0;
  // Free frames the fill ring never takes: room to copy in frames that leave
  // by this port from elsewhere, however far the receive side lags.
  uint32_t txReserve = 0;
  // Frames one copy-mode sendto() turns into skbs (XDP_MAX_TX_SKB_BUDGET; the kernel's default is 32).
  uint32_t txBudget = 32;
  std::vector<FrameState> state;
  std::vector<uint32_t> freeFrames;  // a stack of chunk indexes
  uint32_t freeCount = 0;
  std::vector<uint32_t> lent;  // chunks handed to the batch by the last receive
  uint32_t lentCount = 0;
  uint32_t emptyPolls = 0;
  uint64_t statsAtMs = 0;
  // XDP_STATISTICS are totals since bind: what the bursts counted already.
  uint64_t seenDrops = 0;

  ~XskPort();

  void Free(uint32_t chunk) {
    state[chunk] = FrameState::kFree;
    freeFrames[freeCount++] = chunk;
  }
};

// Free frames to hand the kernel's fill ring: as many as the ring has room
// for, less the TX reserve. Only what the kernel holds (fill ring + RX ring)
// can absorb a burst while the worker is away, so the fill ring is as large
// as the UMEM and the RX ring too: a fill ring of half the frames left the
// other half idle in user space and dropped frames (rx_fill_ring_empty_descs)
// once the worker fell 2048 frames behind.
// The TX reserve of a UMEM of `frames`: an eighth, at least two full bursts
// (2 x MAX_BATCH, so a burst of copies finds room while the last one
// completes), at most half.
inline uint32_t TxReserve(uint32_t frames) {
  uint32_t r = frames / 8 < 512 ? 512 : frames / 8;
  return r > frames / 2 ? frames / 2 : r;
}

inline uint32_t FillQuota(uint32_t freeCount, uint32_t ringRoom, uint32_t txReserve) {
  uint32_t spare = freeCount > txReserve ? freeCount - txReserve : 0;
  return spare < ringRoom ? spare : ringRoom;
}

// Per-thread table of open XSKs (handle = index + 1), in AddonState.
struct XskTable {
  std::vector<std::unique_ptr<XskPort>> ports;
};

XskPort& Xsk(const Napi::CallbackInfo& info, size_t i);
XskPort* XskByHandle(Napi::Env env, int32_t handle);
std::string XskWhat(const char* fn, const XskPort& p);

Napi::Value XskRxBurst(const Napi::CallbackInfo& info);
Napi::Value XskTxBurst(const Napi::CallbackInfo& info);
Napi::Value XskStats(const Napi::CallbackInfo& info);
Napi::Value XskNapUs(const Napi::CallbackInfo& info);

void InitXdpProg(Napi::Env env, Napi::Object exports);

}  // namespace dpio

// The run loop's receive-coalescing nap for a worker whose inputs are all
// AF_XDP sockets, bounded by the room left in their fill rings.
//
// A plain nap (napUs) sleeps as long as the loop asked, whatever arrives:
// its length comes from the loop's average arrival rate, which lags a step
// in the rate, so a long nap cap (2 ms) overran the fill ring at 1.1 Mpps
// and lost 20% of the frames (rx-coalesce.ts). Here the nap is cut in
// slices, each no longer than what the fill rings still hold above a low
// mark would last at a peak rate the veths here do not reach; between
// slices it reads the rings' consumer words (shared memory, no syscall) and
// ends the nap once any ring is down to the mark. A stocked ring (the UMEM's
// 4096 frames less the TX reserve) lasts one slice of ~1.2 ms: the loop's
// longest nap (RING_BOUNDED_COALESCE_US) is one wake-up, which matters, as a
// wake-up from nanosleep costs this VM ~17 us of the worker's CPU (perf:
// the context switch, mostly the paravirtual irq enable after it). At the
// generator's full rate a shorter slice ends it before the ring runs dry,
// whatever the loop's rate average says.
#include <time.h>

#include "af-xdp.h"

namespace dpio {

namespace {

// Frames per microsecond no port here receives faster than, in tenths (the
// generator's full rate straight into a veth is 1.5-2.2 Mpps on this class
// of machine).
constexpr uint32_t kPeakFramesPer10Us = 25;
// No slice shorter than this: a nanosleep costs a wake-up whatever its length.
constexpr uint32_t kMinSliceUs = 20;

// Frames the kernel can still take from the fill ring before it is empty.
uint32_t FillStock(const XskPort& p) {
  uint32_t cons = __atomic_load_n(p.fill.consumer, __ATOMIC_ACQUIRE);
  return p.fill.cached_prod - cons;
}

void SleepUs(uint32_t us) {
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

uint64_t NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

}  // namespace

// xskNapUs(handles: Int32Array, count, us) -> slices slept (0: a ring was
// already at its low mark). Sleeps at most `us` microseconds (1..1000000).
Napi::Value XskNapUs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<int32_t> handles = ArgI32Array(info, 0, "handles");
  uint32_t count = ArgUint(info, 1, "count");
  int32_t us = ArgInt(info, 2, "us");
  if (count > handles.length) ThrowRange(env, "xskNapUs: count exceeds handles");
  if (us < 1 || us > 1000000) ThrowRange(env, "xskNapUs: us must be 1..1000000");
  // Resolve the handles once (Xsk() reads them from info; here they come in an array).
  XskPort* ports[32];
  if (count > 32) ThrowRange(env, "xskNapUs: at most 32 sockets");
  uint32_t n = 0;
  for (uint32_t i = 0; i < count; i++) {
    XskPort* p = XskByHandle(env, handles.data[i]);
    if (p->queue >= 0 && !p->gone) ports[n++] = p;
  }
  const uint64_t deadline = NowUs() + uint64_t(us);
  uint32_t slices = 0;
  for (;;) {
    // The least stock above its ring's low mark (an eighth of the ring: two batches) decides the slice.
    uint32_t above = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t stock = FillStock(*ports[i]);
      uint32_t low = ports[i]->ringSize / 8;
      uint32_t a = stock > low ? stock - low : 0;
      if (a < above) above = a;
    }
    uint64_t now = NowUs();
    if (now >= deadline) break;
    uint64_t left = deadline - now;
    uint64_t slice = above == UINT32_MAX ? left : uint64_t(above) * 10 / kPeakFramesPer10Us;
    if (slice < kMinSliceUs) break;
    if (slice > left) slice = left;
    SleepUs(static_cast<uint32_t>(slice));
    slices++;
  }
  return Napi::Number::New(env, slices);
}

}  // namespace dpio

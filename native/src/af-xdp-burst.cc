// Moving frames through an XSK's rings (see af-xdp.h for the frame life).
// Receive takes descriptors off the RX ring and hands their UMEM offsets to
// the batch: the frame stays where the kernel wrote it. Transmit puts
// descriptors on the TX ring (a frame received on this port is sent from
// where it lies; any other is copied into a free chunk) and kicks the kernel
// with sendto() only when the ring says it needs a wakeup (always in copy
// mode, rarely with a zero-copy driver busy on its own).
#include <linux/if_xdp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "af-xdp.h"
#include "checksum.h"

namespace dpio {

namespace {

constexpr uint64_t kStatsEveryMs = 100;
// Copy mode sends at most 32 frames per sendto() (the kernel's TX_BATCH_SIZE) and says EAGAIN for the rest.
constexpr int kMaxKicks = 16;

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

[[noreturn]] void ThrowXskGone(Napi::Env env, XskPort& p, int err, const char* syscall, const char* fn) {
  p.gone = true;
  ThrowErrno(env, err, syscall, XskWhat(fn, p), "interface " + p.ifname + " is gone (deleted, or its namespace was)", "PORT_GONE");
}

void DrainCompletions(XskPort& p) {
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&p.comp, p.txRingSize, &idx);
  for (uint32_t i = 0; i < n; i++) p.Free(static_cast<uint32_t>(*xsk_ring_cons__comp_addr(&p.comp, idx + i) / kXskFrameSize));
  if (n > 0) xsk_ring_cons__release(&p.comp, n);
}

// Gives the kernel every free chunk the fill ring has room for, but the TX reserve.
void Refill(XskPort& p) {
  if (p.freeCount <= p.txReserve) return;
  uint32_t want = FillQuota(p.freeCount, xsk_prod_nb_free(&p.fill, p.freeCount - p.txReserve), p.txReserve);
  if (want == 0) return;
  uint32_t idx = 0;
  uint32_t n = xsk_ring_prod__reserve(&p.fill, want, &idx);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f = p.freeFrames[--p.freeCount];
    p.state[f] = FrameState::kKernel;
    *xsk_ring_prod__fill_addr(&p.fill, idx + i) = uint64_t(f) * kXskFrameSize;
  }
  xsk_ring_prod__submit(&p.fill, n);
}

void PollStats(XskPort& p, Span<double> counters) {
  struct xdp_statistics st;
  std::memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (getsockopt(p.fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0) return;
  uint64_t drops = st.rx_dropped + st.rx_ring_full + st.rx_fill_ring_empty_descs;
  if (drops > p.seenDrops) Count(counters, kRxKernelDrops, double(drops - p.seenDrops));
  p.seenDrops = drops;
}

// A frame longer than a chunk carries: counted (kTxOversize) and given up,
// never copied. The pipeline fragments or segments to the port's MTU (at
// most kXskMaxFrame less the Ethernet header, config/schema.ts), so this is
// a bug upstream caught before it becomes a write over the next chunk.
inline bool Oversize(uint32_t len, Span<double> counters) {
  if (len <= kXskMaxFrame) return false;
  Count(counters, kTxOversize);
  Count(counters, kTxOversizeBytes, len);
  return true;
}

// Send-only port (a worker without a queue): one sendto per frame, as the frames come.
// It takes no frame that the socket of a queue would not (the kernel would send one up to the interface's MTU).
uint32_t TxOnly(Napi::Env env, XskPort& p, Span<uint8_t> arena, Span<uint32_t> starts, Span<uint32_t> lengths, uint32_t count,
                Span<uint16_t> slots, Span<double> counters) {
  uint32_t i = 0;
  for (; i < count; i++) {
    uint32_t k = slots.data != nullptr ? slots.data[i] : i;
    if (k >= starts.length || k >= lengths.length) ThrowRange(env, "xskTxBurst: slot " + std::to_string(k) + " out of range");
    uint32_t off = starts.data[k];
    uint32_t len = lengths.data[k];
    if (off > arena.length || len > arena.length - off) ThrowRange(env, "xskTxBurst: slot " + std::to_string(k) + " lies outside the arena");
    if (Oversize(len, counters)) continue;
    if (send(p.txFd, arena.data + off, len, MSG_DONTWAIT) >= 0) continue;
    int e = errno;
    if (e == EINTR) {
      i--;
      continue;
    }
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
    if (e == EMSGSIZE || e == EINVAL) {
      Count(counters, kTxRejected);
      Count(counters, kTxRejectedBytes, len);
      continue;
    }
    if (e == ENETDOWN) {
      Count(counters, kTxLinkDown, count - i);
      Count(counters, kTxLinkDownBytes, TxBurstBytes(slots, lengths, i, count));
      return count;
    }
    if (i > 0) break;
    if (IsPortGone(e)) ThrowXskGone(env, p, e, "send", "xskTxBurst");
    ThrowErrno(env, e, "send", XskWhat("xskTxBurst", p), CauseOf(e, p.ifname));
  }
  return i;
}

}  // namespace

// xskRxBurst(handle, starts, lengths, count, first, counters?) -> n
// Frame k (k in [first, first + n)) lies at arena[starts[k] .. + lengths[k]),
// inside the UMEM, valid until this port's next receive.
Napi::Value XskRxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  XskPort& p = Xsk(info, 0);
  Span<uint32_t> starts = ArgU32Array(info, 1, "starts");
  Span<uint32_t> lengths = ArgU32Array(info, 2, "lengths");
  uint32_t count = ArgUint(info, 3, "count");
  uint32_t first = ArgUint(info, 4, "first");
  Span<double> counters = ArgOptionalCounters(info, 5);
  if (uint64_t(first) + count > starts.length || uint64_t(first) + count > lengths.length) {
    ThrowRange(env, "xskRxBurst: first + count exceeds starts or lengths");
  }
  if (p.gone) ThrowXskGone(env, p, ENODEV, "xskRxBurst", "xskRxBurst");
  if (p.queue < 0) return Napi::Number::New(env, 0);

  // The batch is done with what the last receive lent it, except what went out by our TX ring.
  for (uint32_t i = 0; i < p.lentCount; i++) {
    uint32_t f = p.lent[i];
    if (p.state[f] == FrameState::kLent) p.Free(f);
  }
  p.lentCount = 0;
  DrainCompletions(p);
  Refill(p);

  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&p.rx, count, &idx);
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&p.rx, idx + i);
    uint32_t f = static_cast<uint32_t>(d->addr / kXskFrameSize);
    p.state[f] = FrameState::kLent;
    p.lent[p.lentCount++] = f;
    starts.data[first + i] = p.areaOffset + static_cast<uint32_t>(d->addr);
    lengths.data[first + i] = d->len;
    // The kernel wrote the frame from another CPU: start fetching its
    // headers now, so the pipeline's first read of each finds them in cache.
    __builtin_prefetch(p.area + d->addr);
  }
  if (n > 0) {
    // AF_XDP carries no offload metadata: a TCP/UDP checksum the peer left
    // to the "hardware" (a veth with TX checksum offload on, Docker's
    // default) arrives as the pseudo-header sum. Complete it here, as
    // AF_PACKET's walk does on TP_STATUS_CSUMNOTREADY, or the far host drops
    // the segment. A second loop, so that the prefetches above are in flight
    // together.
    for (uint32_t i = 0; i < n; i++) {
      if (CompleteUnmarkedPartialChecksum(p.area + (starts.data[first + i] - p.areaOffset), lengths.data[first + i])) {
        Count(counters, kRxChecksumFixed);
      }
    }
    xsk_ring_cons__release(&p.rx, n);
    p.emptyPolls = 0;
  } else {
    if (xsk_ring_prod__needs_wakeup(&p.fill)) recvfrom(p.fd, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    if ((p.emptyPolls++ & 15) == 0) {
      // Nothing to read: the moment to notice that the interface went away
      // (the kernel unbinds the socket and reports ENETDOWN on it).
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ENETDOWN) ThrowXskGone(env, p, err, "xskRxBurst", "xskRxBurst");
    }
  }
  uint64_t now = NowMs();
  if (now - p.statsAtMs >= kStatsEveryMs) {
    p.statsAtMs = now;
    PollStats(p, counters);
  }
  return Napi::Number::New(env, n);
}

// xskTxBurst(handle, arena, starts, lengths, count, slots = null, counters?) -> consumed
Napi::Value XskTxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  XskPort& p = Xsk(info, 0);
  Span<uint8_t> arena = ArgBytes(info, 1, "arena");
  Span<uint32_t> starts = ArgU32Array(info, 2, "starts");
  Span<uint32_t> lengths = ArgU32Array(info, 3, "lengths");
  uint32_t count = ArgUint(info, 4, "count");
  Span<uint16_t> slots = ArgOptionalU16Array(info, 5, "slots");
  Span<double> counters = ArgOptionalCounters(info, 6);
  if (slots.data != nullptr ? count > slots.length : (count > starts.length || count > lengths.length)) {
    ThrowRange(env, "xskTxBurst: count exceeds the slot list");
  }
  if (p.gone) ThrowXskGone(env, p, ENODEV, "xskTxBurst", "xskTxBurst");
  if (p.queue < 0) return Napi::Number::New(env, TxOnly(env, p, arena, starts, lengths, count, slots, counters));

  DrainCompletions(p);
  uint32_t room = xsk_prod_nb_free(&p.tx, count);
  if (room > count) room = count;
  uint32_t idx = 0;
  uint32_t reserved = room == 0 ? 0 : xsk_ring_prod__reserve(&p.tx, room, &idx);
  const bool ours = arena.data == p.arenaBase;
  const uint64_t areaEnd = uint64_t(p.areaOffset) + uint64_t(p.frames) * kXskFrameSize;
  uint32_t consumed = 0;
  uint32_t filled = 0;
  while (consumed < count && filled < reserved) {
    uint32_t k = slots.data != nullptr ? slots.data[consumed] : consumed;
    if (k >= starts.length || k >= lengths.length) ThrowRange(env, "xskTxBurst: slot " + std::to_string(k) + " out of range");
    uint32_t off = starts.data[k];
    uint32_t len = lengths.data[k];
    if (off > arena.length || len > arena.length - off) ThrowRange(env, "xskTxBurst: slot " + std::to_string(k) + " lies outside the arena");
    // Checked before either path below: a frame sent from where it lies must fit its chunk as surely as a copy.
    if (Oversize(len, counters)) {
      consumed++;
      continue;
    }
    if (len == 0) {
      Count(counters, kTxRejected);
      consumed++;
      continue;
    }
    uint64_t addr;
    uint32_t f = static_cast<uint32_t>((uint64_t(off) - p.areaOffset) / kXskFrameSize);
    if (ours && off >= p.areaOffset && off + len <= areaEnd && f == (uint64_t(off) + len - 1 - p.areaOffset) / kXskFrameSize &&
        p.state[f] == FrameState::kLent) {
      // Received here: send it from where it lies.
      addr = uint64_t(off) - p.areaOffset;
    } else {
      if (p.freeCount == 0) break;  // every chunk is in flight: the rest waits for completions
      f = p.freeFrames[--p.freeCount];
      addr = uint64_t(f) * kXskFrameSize + kXdpHeadroom;
      std::memcpy(p.area + addr, arena.data + off, len);
    }
    p.state[f] = FrameState::kKernel;
    xdp_desc* d = xsk_ring_prod__tx_desc(&p.tx, idx + filled);
    d->addr = addr;
    d->len = len;
    d->options = 0;
    filled++;
    consumed++;
  }
  // Hand back what was reserved and not filled (rejected frames, no free chunk).
  p.tx.cached_prod -= reserved - filled;
  if (filled > 0) xsk_ring_prod__submit(&p.tx, filled);
  if (xsk_ring_prod__needs_wakeup(&p.tx)) {
    for (int kick = 0; kick < kMaxKicks; kick++) {
      if (sendto(p.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) break;
      int e = errno;
      if (e == EAGAIN || e == EINTR) continue;  // copy mode: 32 frames per call, more to go
      if (e == EBUSY || e == ENOBUFS) break;  // the driver is busy: the next burst kicks again
      if (e == ENETDOWN) {
        // The frames are on the ring; the kernel completes them when the link comes back or the socket closes.
        break;
      }
      if (IsPortGone(e)) ThrowXskGone(env, p, e, "sendto", "xskTxBurst");
      ThrowErrno(env, e, "sendto", XskWhat("xskTxBurst", p), CauseOf(e, p.ifname));
    }
  }
  DrainCompletions(p);
  return Napi::Number::New(env, consumed);
}

// xskStats(handle) -> the kernel's XDP_STATISTICS and the UMEM's frames by state.
Napi::Value XskStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  XskPort& p = Xsk(info, 0);
  Napi::Object o = Napi::Object::New(env);
  struct xdp_statistics st;
  std::memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (p.fd >= 0) getsockopt(p.fd, SOL_XDP, XDP_STATISTICS, &st, &len);
  o.Set("rxDropped", Napi::Number::New(env, double(st.rx_dropped)));
  o.Set("rxRingFull", Napi::Number::New(env, double(st.rx_ring_full)));
  o.Set("rxFillRingEmpty", Napi::Number::New(env, double(st.rx_fill_ring_empty_descs)));
  o.Set("rxInvalid", Napi::Number::New(env, double(st.rx_invalid_descs)));
  o.Set("txInvalid", Napi::Number::New(env, double(st.tx_invalid_descs)));
  o.Set("freeFrames", Napi::Number::New(env, p.freeCount));
  o.Set("frames", Napi::Number::New(env, p.frames));
  o.Set("txBudget", Napi::Number::New(env, p.txBudget));
  o.Set("ringSize", Napi::Number::New(env, p.ringSize));
  o.Set("txReserve", Napi::Number::New(env, p.txReserve));
  return o;
}

}  // namespace dpio

// The AF_PACKET bursts: frames from the TPACKET_V3 ring into arena slots
// (rx), and arena slots out with sendmmsg (tx), one JS -> native crossing
// per burst.
//
// rx: the kernel fills a block with variable-sized frames and hands it to us
// (TP_STATUS_USER) when it is full or retireTimeoutMs after its first frame;
// we copy the frames into slots and give the block back. A cursor (block,
// frame) survives between bursts, so a burst may end half-way through a
// block. On an offload ring (PACKET_VNET_HDR) the kernel wrote a
// virtio_net_hdr before each frame (tpacket_rcv, at tp_mac - 10):
// rx-offload.h turns it into the slot's offload words.
//
// tx: on an offload ring every frame goes behind a virtio_net_hdr built from
// the slot's words (zero for a plain frame), so a super-frame leaves whole
// and the kernel (or the veth's peer) segments it.
#include <cerrno>
#include <cstring>
#include <ctime>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "checksum.h"
#include "common.h"
#include "packet-ring.h"
#include "rx-offload.h"
#include "vnet.h"

namespace dpio {

namespace {

constexpr uint32_t kTxChunk = 64;
// Bursts read the kernel's socket statistics at most this often.
constexpr uint64_t kStatsEveryMs = 100;

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

// Copies one ring frame into arena[dst...]; returns its length (VLAN tag
// restored), or 0 when it does not fit.
uint32_t CopyFrame(const tpacket3_hdr* h, const uint8_t* data, uint8_t* dst, uint32_t maxFrame) {
  uint32_t snap = h->tp_snaplen;
  if (snap < h->tp_len) return 0;  // cut short by the ring's block size
  bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) != 0 && snap >= 12;
  uint32_t len = snap + (vlan ? 4 : 0);
  if (len > maxFrame) return 0;
  if (!vlan) {
    std::memcpy(dst, data, snap);
    return len;
  }
  // The driver took the 802.1Q tag out of the frame (tp_vlan_tci): put it back.
  uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
  uint16_t tci = h->hv1.tp_vlan_tci;
  std::memcpy(dst, data, 12);
  dst[12] = static_cast<uint8_t>(tpid >> 8);
  dst[13] = static_cast<uint8_t>(tpid);
  dst[14] = static_cast<uint8_t>(tci >> 8);
  dst[15] = static_cast<uint8_t>(tci);
  std::memcpy(dst + 16, data + 12, snap - 12);
  return len;
}

}  // namespace

// packetRxBurst(handle, arena, offsets, lengths, maxFrame, count, first = 0, counters?, tsSec?, tsNsec?, meta?) -> n
// An offload ring needs `meta` (vnet::kMetaWords uint16 per slot): each
// frame's offload words go there (see rx-offload.h); a frame it cannot
// describe is dropped and counted.
Napi::Value PacketRxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PacketRing& r = Ring(info, 0);
  Span<uint8_t> arena = ArgBytes(info, 1, "arena");
  Span<uint32_t> offsets = ArgU32Array(info, 2, "offsets");
  Span<uint32_t> lengths = ArgU32Array(info, 3, "lengths");
  uint32_t maxFrame = ArgUint(info, 4, "maxFrame");
  uint32_t count = ArgUint(info, 5, "count");
  uint32_t first = static_cast<uint32_t>(ArgOptionalInt(info, 6, 0, "first"));
  Span<double> counters = ArgOptionalCounters(info, 7);
  Span<double> tsSec = ArgOptionalF64Array(info, 8, "tsSec");
  Span<uint32_t> tsNsec = ArgOptionalU32Array(info, 9, "tsNsec");
  Span<uint16_t> meta = info.Length() > 10 ? ArgOptionalU16Array(info, 10, "meta") : Span<uint16_t>{};
  uint64_t end = uint64_t(first) + count;
  if (end > offsets.length || end > lengths.length) ThrowRange(env, "packetRxBurst: first + count exceeds offsets/lengths");
  if (r.offload != (meta.data != nullptr)) {
    ThrowRange(env, r.offload ? "packetRxBurst: an offload ring needs meta (6 words per slot)"
                              : "packetRxBurst: meta is for rings opened with offload");
  }
  if (meta.data != nullptr && end * vnet::kMetaWords > meta.length) {
    ThrowRange(env, "packetRxBurst: meta needs 6 words per slot for first + count slots");
  }
  bool stamp = tsSec.data != nullptr && tsNsec.data != nullptr && end <= tsSec.length && end <= tsNsec.length;
  if (maxFrame > arena.length) ThrowRange(env, "packetRxBurst: maxFrame exceeds the arena");
  if (r.gone) ThrowGone(env, r, ENODEV, "packetRxBurst", "packetRxBurst");

  uint32_t n = 0;
  while (n < count) {
    tpacket_block_desc* bd = r.Block(r.block);
    if (!r.blockOpen) {
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      r.blockOpen = true;
      r.framesLeft = bd->hdr.bh1.num_pkts;
      r.nextFrame = reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
    }
    if (r.framesLeft > 0) {
      uint32_t slot = first + n;
      uint32_t off = offsets.data[slot];
      if (off > arena.length - maxFrame) {
        ThrowRange(env, "packetRxBurst: slot " + std::to_string(slot) + " lies outside the arena");
      }
      auto* h = reinterpret_cast<tpacket3_hdr*>(r.nextFrame);
      auto* sll = reinterpret_cast<sockaddr_ll*>(r.nextFrame + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
      r.nextFrame += h->tp_next_offset;
      r.framesLeft--;
      if (sll->sll_pkttype != PACKET_OUTGOING) {
        const uint8_t* mac = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
        uint32_t len = CopyFrame(h, mac, arena.data + off, maxFrame);
        bool keep = len != 0;
        if (!keep) {
          Count(counters, kRxOversize);
        } else if (r.offload) {
          RxOffload what = TakeRxOffload(arena.data + off, len, vnet::Read(mac - vnet::kHdrLen), len - h->tp_snaplen,
                                         meta.data + size_t(slot) * vnet::kMetaWords);
          if (what == RxOffload::kUnsupported) {
            Count(counters, kRxOffloadUnsupported);
            keep = false;
          } else if (what == RxOffload::kChecksumFixed) {
            Count(counters, kRxChecksumFixed);
          }
        } else if ((h->tp_status & TP_STATUS_CSUMNOTREADY) != 0 && CompleteL4Checksum(arena.data + off, len)) {
          Count(counters, kRxChecksumFixed);
        }
        if (keep) {
          lengths.data[slot] = len;
          if (stamp) {
            tsSec.data[slot] = h->tp_sec;
            tsNsec.data[slot] = h->tp_nsec;
          }
          n++;
        }
      }
    }
    if (r.framesLeft == 0) {
      // Block done: give it back and move on.
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      r.blockOpen = false;
      r.block = (r.block + 1) % r.blockCount;
    }
  }

  uint64_t now = NowMs();
  if (now - r.statsAtMs >= kStatsEveryMs) {
    r.statsAtMs = now;
    PollKernelStats(r, counters);
  }
  if (n > 0) {
    r.emptyPolls = 0;
  } else if ((r.emptyPolls++ & 15) == 0) {
    // Nothing to read: the moment to notice that the interface went away
    // (the kernel reports ENETDOWN on the socket and unbinds it). A syscall,
    // so a busy-polling worker pays it on the first of 16 empty bursts only.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0 && SocketUnbound(r)) {
      ThrowGone(env, r, err, "packetRxBurst", "packetRxBurst");
    }
  }
  return Napi::Number::New(env, n);
}

// packetTxBurst(handle, arena, offsets, lengths, count, slots = null, counters?, meta?) -> consumed
// On an offload ring every frame goes behind a virtio_net_hdr: built from
// meta[k * vnet::kMetaWords ...] when `meta` is given, else all zero.
Napi::Value PacketTxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PacketRing& r = Ring(info, 0);
  Span<uint8_t> arena = ArgBytes(info, 1, "arena");
  Span<uint32_t> offsets = ArgU32Array(info, 2, "offsets");
  Span<uint32_t> lengths = ArgU32Array(info, 3, "lengths");
  uint32_t count = ArgUint(info, 4, "count");
  Span<uint16_t> slots = ArgOptionalU16Array(info, 5, "slots");
  Span<double> counters = ArgOptionalCounters(info, 6);
  Span<uint16_t> meta = info.Length() > 7 ? ArgOptionalU16Array(info, 7, "meta") : Span<uint16_t>{};
  if (slots.data != nullptr ? count > slots.length : (count > offsets.length || count > lengths.length)) {
    ThrowRange(env, "packetTxBurst: count exceeds the slot list");
  }
  if (meta.data != nullptr && !r.offload) ThrowRange(env, "packetTxBurst: meta is for rings opened with offload");
  if (r.gone) ThrowGone(env, r, ENODEV, "sendmmsg", "packetTxBurst");

  struct iovec iov[kTxChunk][2];
  struct mmsghdr msgs[kTxChunk];
  vnet::Hdr hdrs[kTxChunk];
  uint32_t i = 0;
  while (i < count) {
    uint32_t chunk = count - i < kTxChunk ? count - i : kTxChunk;
    for (uint32_t j = 0; j < chunk; j++) {
      uint32_t k = slots.data != nullptr ? slots.data[i + j] : i + j;
      if (k >= offsets.length || k >= lengths.length) {
        ThrowRange(env, "packetTxBurst: slot " + std::to_string(k) + " out of range");
      }
      uint32_t off = offsets.data[k];
      uint32_t len = lengths.data[k];
      if (off > arena.length || len > arena.length - off) {
        ThrowRange(env, "packetTxBurst: slot " + std::to_string(k) + " lies outside the arena");
      }
      std::memset(&msgs[j], 0, sizeof msgs[j]);
      iov[j][1].iov_base = arena.data + off;
      iov[j][1].iov_len = len;
      if (r.offload) {
        vnet::Hdr& vh = hdrs[j];
        std::memset(&vh, 0, sizeof vh);
        if (meta.data != nullptr) {
          if ((uint64_t(k) + 1) * vnet::kMetaWords > meta.length) {
            ThrowRange(env, "packetTxBurst: slot " + std::to_string(k) + " outside meta");
          }
          vh = vnet::FromMeta(meta.data + size_t(k) * vnet::kMetaWords);
          // hdr_len is a hint of the linear headers; the kernel refuses one past the frame.
          if (vh.hdr_len > len) vh.hdr_len = 0;
        }
        iov[j][0].iov_base = &vh;
        iov[j][0].iov_len = vnet::kHdrLen;
        msgs[j].msg_hdr.msg_iov = iov[j];
        msgs[j].msg_hdr.msg_iovlen = 2;
      } else {
        msgs[j].msg_hdr.msg_iov = &iov[j][1];
        msgs[j].msg_hdr.msg_iovlen = 1;
      }
    }
    int sent = sendmmsg(r.fd, msgs, chunk, MSG_DONTWAIT);
    if (sent > 0) {
      i += static_cast<uint32_t>(sent);
      continue;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
    if (e == EMSGSIZE || e == EINVAL) {
      // sendmmsg fails only when the chunk's first message does: frame i.
      Count(counters, kTxRejected);
      Count(counters, kTxRejectedBytes, static_cast<double>(iov[0][1].iov_len));
      i++;
      continue;
    }
    if (e == ENETDOWN && !SocketUnbound(r)) {
      Count(counters, kTxLinkDown, count - i);
      Count(counters, kTxLinkDownBytes, TxBurstBytes(slots, lengths, i, count));
      i = count;
      break;
    }
    if (i > 0) break;  // report what went out; the error repeats on the next call
    if (IsPortGone(e)) ThrowGone(env, r, e, "sendmmsg", "packetTxBurst");
    ThrowErrno(env, e, "sendmmsg", What("packetTxBurst", r), CauseOf(e, r.ifname));
  }
  return Napi::Number::New(env, i);
}

}  // namespace dpio

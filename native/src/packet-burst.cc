// The AF_PACKET bursts: frames from the RX ring (TPACKET_V2 or V3) into arena slots
// (rx), and arena slots out with sendmmsg (tx), one JS -> native crossing
// per burst.
//
// rx without a ring (an offload socket's default): recvmmsg into the arena
// slots, one copy (RecvDirect below).
// rx, TPACKET_V2: the kernel hands us each fixed-size frame slot
// (TP_STATUS_USER) as soon as it wrote it; we copy the frame into an arena
// slot and give the ring slot back, in ring order.
// rx, TPACKET_V3: the kernel fills a block with variable-sized frames and
// hands it to us (TP_STATUS_USER) when it is full or retireTimeoutMs after its
// first frame; we copy the frames into slots and give the block back. A
// cursor (block, frame) survives between bursts, so a burst may end half-way
// through a block. On an offload ring (PACKET_VNET_HDR) the kernel wrote a
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

// What CopyFrame needs of a V2 or V3 frame header.
struct FrameInfo {
  uint32_t status, len, snap;
  uint16_t tci, tpid;
  uint32_t sec, nsec;
};

FrameInfo InfoOf(const tpacket3_hdr* h) {
  return {h->tp_status, h->tp_len, h->tp_snaplen, static_cast<uint16_t>(h->hv1.tp_vlan_tci), static_cast<uint16_t>(h->hv1.tp_vlan_tpid),
          h->tp_sec, h->tp_nsec};
}

FrameInfo InfoOf(const tpacket2_hdr* h) {
  return {h->tp_status, h->tp_len, h->tp_snaplen, h->tp_vlan_tci, h->tp_vlan_tpid, h->tp_sec, h->tp_nsec};
}

// Copies one ring frame into arena[dst...]; returns its length (VLAN tag
// restored), or 0 when it does not fit.
uint32_t CopyFrame(const FrameInfo& h, const uint8_t* data, uint8_t* dst, uint32_t maxFrame) {
  uint32_t snap = h.snap;
  if (snap < h.len) return 0;  // cut short by the ring's block or frame size
  bool vlan = (h.status & TP_STATUS_VLAN_VALID) != 0 && snap >= 12;
  uint32_t len = snap + (vlan ? 4 : 0);
  if (len > maxFrame) return 0;
  if (!vlan) {
    std::memcpy(dst, data, snap);
    return len;
  }
  // The driver took the 802.1Q tag out of the frame (tp_vlan_tci): put it back.
  uint16_t tpid = (h.status & TP_STATUS_VLAN_TPID_VALID) != 0 ? h.tpid : ETH_P_8021Q;
  uint16_t tci = h.tci;
  std::memcpy(dst, data, 12);
  dst[12] = static_cast<uint8_t>(tpid >> 8);
  dst[13] = static_cast<uint8_t>(tpid);
  dst[14] = static_cast<uint8_t>(tci >> 8);
  dst[15] = static_cast<uint8_t>(tci);
  std::memcpy(dst + 16, data + 12, snap - 12);
  return len;
}

// Where a burst's frames go.
struct RxDest {
  Span<uint8_t> arena;
  Span<uint32_t> offsets, lengths;
  uint32_t maxFrame, first;
  Span<double> counters, tsSec;
  Span<uint32_t> tsNsec;
  Span<uint16_t> meta;
  bool stamp, offload;
};

// Copies one received frame (MAC header at `mac`) into arena slot `slot`,
// with its offload words and timestamp; false when it is dropped (counted).
bool TakeFrame(Napi::Env env, const RxDest& d, const FrameInfo& h, const uint8_t* mac, uint32_t slot) {
  uint32_t off = d.offsets.data[slot];
  if (off > d.arena.length - d.maxFrame) {
    ThrowRange(env, "packetRxBurst: slot " + std::to_string(slot) + " lies outside the arena");
  }
  uint32_t len = CopyFrame(h, mac, d.arena.data + off, d.maxFrame);
  if (len == 0) {
    Count(d.counters, kRxOversize);
    return false;
  }
  if (d.offload) {
    RxOffload what = TakeRxOffload(d.arena.data + off, len, vnet::Read(mac - vnet::kHdrLen), len - h.snap,
                                   d.meta.data + size_t(slot) * vnet::kMetaWords);
    if (what == RxOffload::kUnsupported) {
      Count(d.counters, kRxOffloadUnsupported);
      return false;
    }
    if (what == RxOffload::kChecksumFixed) Count(d.counters, kRxChecksumFixed);
  } else if ((h.status & TP_STATUS_CSUMNOTREADY) != 0 && CompleteL4Checksum(d.arena.data + off, len)) {
    Count(d.counters, kRxChecksumFixed);
  }
  d.lengths.data[slot] = len;
  if (d.stamp) {
    d.tsSec.data[slot] = h.sec;
    d.tsNsec.data[slot] = h.nsec;
  }
  return true;
}

// Without a ring (PacketRing.version 0): recvmmsg straight into the arena
// slots, so a frame is copied once, by the kernel, into the slot it is routed
// and sent from (with a ring it is copied into the ring in softirq and again
// from the ring into the slot: for a 64 KiB super-frame that second copy was
// a quarter of a worker's time). The virtio_net_hdr comes first in each
// message (PACKET_VNET_HDR), the VLAN tag the driver took out in
// PACKET_AUXDATA, the packet type in the sockaddr_ll.
constexpr uint32_t kRecvChunk = 64;
constexpr uint32_t kVlanLen = 4;

uint32_t RecvDirect(Napi::Env env, PacketRing& r, const RxDest& d, uint32_t count) {
  struct mmsghdr msgs[kRecvChunk];
  struct iovec iov[kRecvChunk][2];
  vnet::Hdr hdrs[kRecvChunk];
  struct sockaddr_ll names[kRecvChunk];
  union Ctl {
    struct cmsghdr align;
    uint8_t bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  };
  Ctl ctl[kRecvChunk];
  if (d.maxFrame <= kVlanLen) ThrowRange(env, "packetRxBurst: maxFrame too small");
  struct timespec now = {0, 0};
  if (d.stamp) clock_gettime(CLOCK_REALTIME, &now);
  uint32_t n = 0;
  while (n < count) {
    uint32_t chunk = count - n < kRecvChunk ? count - n : kRecvChunk;
    for (uint32_t j = 0; j < chunk; j++) {
      uint32_t slot = d.first + n + j;
      uint32_t off = d.offsets.data[slot];
      if (off > d.arena.length - d.maxFrame) {
        ThrowRange(env, "packetRxBurst: slot " + std::to_string(slot) + " lies outside the arena");
      }
      iov[j][0].iov_base = &hdrs[j];
      iov[j][0].iov_len = vnet::kHdrLen;
      // Room for a VLAN tag put back in front of the payload.
      iov[j][1].iov_base = d.arena.data + off;
      iov[j][1].iov_len = d.maxFrame - kVlanLen;
      std::memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_name = &names[j];
      msgs[j].msg_hdr.msg_namelen = sizeof names[j];
      msgs[j].msg_hdr.msg_iov = r.offload ? iov[j] : &iov[j][1];
      msgs[j].msg_hdr.msg_iovlen = r.offload ? 2 : 1;
      msgs[j].msg_hdr.msg_control = ctl[j].bytes;
      msgs[j].msg_hdr.msg_controllen = sizeof ctl[j].bytes;
    }
    int got = recvmmsg(r.fd, msgs, chunk, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      // ENETDOWN on a socket still bound: the link went down (the kernel
      // leaves ENETDOWN on the socket and reports it once, to the next call,
      // perhaps after the link came back). Not gone: the socket receives
      // again once the link is up. It used to be taken for a gone port, so
      // `ip link set dev X down; ... up` ended the port for good.
      if (e == ENETDOWN && !SocketUnbound(r)) break;
      if (n > 0) break;  // hand over what arrived; the error repeats on the next call
      if (IsPortGone(e) || (e == ENETDOWN && SocketUnbound(r))) ThrowGone(env, r, e, "recvmmsg", "packetRxBurst");
      ThrowErrno(env, e, "recvmmsg", What("packetRxBurst", r), CauseOf(e, r.ifname));
    }
    // Frames that are dropped leave no hole: the ones after move down a slot
    // (rare: what the kernel truncated, offload the router cannot take).
    uint32_t w = 0;
    for (uint32_t j = 0; j < static_cast<uint32_t>(got); j++) {
      const msghdr& m = msgs[j].msg_hdr;
      uint32_t hdrBytes = r.offload ? vnet::kHdrLen : 0;
      uint32_t len = msgs[j].msg_len;
      if (names[j].sll_pkttype == PACKET_OUTGOING) continue;
      if ((m.msg_flags & MSG_TRUNC) != 0 || len < hdrBytes) {
        Count(d.counters, kRxOversize);
        continue;
      }
      len -= hdrBytes;
      uint32_t slot = d.first + n + w;
      uint8_t* f = d.arena.data + d.offsets.data[slot];
      if (w != j) std::memmove(f, d.arena.data + d.offsets.data[d.first + n + j], len);
      uint32_t status = 0;
      uint16_t tci = 0, tpid = ETH_P_8021Q;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        struct tpacket_auxdata aux;
        std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
        status = aux.tp_status;
        tci = aux.tp_vlan_tci;
        if ((status & TP_STATUS_VLAN_TPID_VALID) != 0) tpid = aux.tp_vlan_tpid;
      }
      uint32_t shift = 0;
      if ((status & TP_STATUS_VLAN_VALID) != 0 && len >= 12) {
        // The driver took the 802.1Q tag out of the frame: put it back.
        std::memmove(f + 12 + kVlanLen, f + 12, len - 12);
        f[12] = static_cast<uint8_t>(tpid >> 8);
        f[13] = static_cast<uint8_t>(tpid);
        f[14] = static_cast<uint8_t>(tci >> 8);
        f[15] = static_cast<uint8_t>(tci);
        len += kVlanLen;
        shift = kVlanLen;
      }
      if (r.offload) {
        RxOffload what = TakeRxOffload(f, len, hdrs[j], shift, d.meta.data + size_t(slot) * vnet::kMetaWords);
        if (what == RxOffload::kUnsupported) {
          Count(d.counters, kRxOffloadUnsupported);
          continue;
        }
        if (what == RxOffload::kChecksumFixed) Count(d.counters, kRxChecksumFixed);
      } else if ((status & TP_STATUS_CSUMNOTREADY) != 0 && CompleteL4Checksum(f, len)) {
        Count(d.counters, kRxChecksumFixed);
      }
      d.lengths.data[slot] = len;
      if (d.stamp) {
        d.tsSec.data[slot] = static_cast<double>(now.tv_sec);
        d.tsNsec.data[slot] = static_cast<uint32_t>(now.tv_nsec);
      }
      w++;
    }
    n += w;
    if (static_cast<uint32_t>(got) < chunk) break;  // the queue is empty
  }
  return n;
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

  RxDest d{arena, offsets, lengths, maxFrame, first, counters, tsSec, tsNsec, meta, stamp, r.offload};
  uint32_t n = 0;
  if (r.version == 0) n = RecvDirect(env, r, d, count);
  if (r.version == 2) {
    while (n < count) {
      tpacket2_hdr* h = r.Frame(r.frame);
      if ((__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      auto* sll = reinterpret_cast<sockaddr_ll*>(reinterpret_cast<uint8_t*>(h) + TPACKET_ALIGN(sizeof(tpacket2_hdr)));
      if (sll->sll_pkttype != PACKET_OUTGOING && TakeFrame(env, d, InfoOf(h), reinterpret_cast<const uint8_t*>(h) + h->tp_mac, first + n)) n++;
      __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      r.frame = r.frame + 1 == r.frameCount ? 0 : r.frame + 1;
    }
  }
  while (r.version == 3 && n < count) {
    tpacket_block_desc* bd = r.Block(r.block);
    if (!r.blockOpen) {
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      r.blockOpen = true;
      r.framesLeft = bd->hdr.bh1.num_pkts;
      r.nextFrame = reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
    }
    if (r.framesLeft > 0) {
      auto* h = reinterpret_cast<tpacket3_hdr*>(r.nextFrame);
      auto* sll = reinterpret_cast<sockaddr_ll*>(r.nextFrame + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
      r.nextFrame += h->tp_next_offset;
      r.framesLeft--;
      if (sll->sll_pkttype != PACKET_OUTGOING && TakeFrame(env, d, InfoOf(h), reinterpret_cast<const uint8_t*>(h) + h->tp_mac, first + n)) n++;
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
  bool retriedDown = false;
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
      // The ENETDOWN may be the one the kernel left on the socket when the
      // link went down (sk_err, reported once, to whichever call comes next:
      // sock_alloc_send_pskb reads it), while the link is up again: the
      // chunk was not even tried. Try it once more; a link still down
      // answers ENETDOWN again (packet_snd checks IFF_UP on every send).
      // Without this, the first burst after a down/up was counted as
      // tx-link-down and lost though the link was up.
      if (!retriedDown) {
        retriedDown = true;
        continue;
      }
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

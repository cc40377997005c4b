// AF_PACKET sockets on an existing interface (veth, or any Ethernet device):
// a TPACKET_V3 RX ring, batched TX with sendmmsg, and fanout so that several
// workers share one interface with every flow kept on one worker.
//
// The RX ring is `blockCount` blocks of `blockSize` bytes mapped from the
// kernel. The kernel fills a block with variable-sized frames and hands it to
// us (TP_STATUS_USER) when it is full or `retireTimeoutMs` after its first
// frame; we copy the frames into arena slots and give the block back. A
// cursor (block, frame) survives between bursts, so a burst may end half-way
// through a block.
//
// With `offload` (PACKET_VNET_HDR) the socket takes the interface's offloads
// as they come instead of needing them off: the kernel writes a
// virtio_net_hdr before each frame in the ring (tpacket_rcv, at tp_mac - 10)
// and frames may be TCP super-frames of up to 64 KiB with partial checksums
// (a veth whose peer does TSO/GSO, as a container's eth0 does by default);
// rx-offload.h turns that header into the slot's offload words. Blocks are
// then 256 KiB so that a super-frame fits one. TX sends every frame behind a
// virtio_net_hdr built from the slot's words (zero for a plain frame), so a
// super-frame leaves whole and the kernel (or the veth's peer) segments it.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "common.h"
#include "rx-offload.h"
#include "vnet.h"

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

namespace dpio {

struct PacketRing {
  int fd = -1;
  int ifindex = 0;
  std::string ifname;
  uint8_t* map = nullptr;
  size_t mapLen = 0;
  uint32_t blockSize = 0;
  uint32_t blockCount = 0;
  // Cursor: the block we are in; frames left in it and the next one (when open).
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
};

AddonState::AddonState() = default;
AddonState::~AddonState() = default;

namespace {

constexpr uint32_t kTxChunk = 64;
// Bursts read the kernel's socket statistics at most this often.
constexpr uint64_t kStatsEveryMs = 100;
// With offload a block must hold a 64 KiB super-frame and its ring headers.
constexpr int64_t kOffloadMinBlock = 1 << 17;

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

// Adds what the kernel counted since the last read to the ring's totals (and
// its drops to the burst's counters). Returns false when the read failed.
bool PollKernelStats(PacketRing& r, Span<double> counters) {
  struct tpacket_stats_v3 st;
  std::memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (getsockopt(r.fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return false;
  r.kernelPackets += st.tp_packets;
  r.kernelDrops += st.tp_drops;
  r.kernelFreezes += st.tp_freeze_q_cnt;
  if (st.tp_drops > 0) Count(counters, kRxKernelDrops, st.tp_drops);
  return true;
}

std::string What(const char* fn, const PacketRing& r) {
  return std::string(fn) + "(\"" + r.ifname + "\")";
}

PacketRing& Ring(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  int32_t h = ArgInt(info, i, "handle");
  auto& rings = State(env).rings;
  if (h <= 0 || size_t(h) > rings.size() || !rings[h - 1]) {
    ThrowRange(env, "not an open AF_PACKET handle of this thread: " + std::to_string(h));
  }
  return *rings[h - 1];
}

// The interface under a packet socket is gone for good when the kernel has
// unbound the socket (NETDEV_UNREGISTER sets its ifindex to -1).
bool SocketUnbound(const PacketRing& r) {
  struct sockaddr_ll sll;
  socklen_t len = sizeof sll;
  std::memset(&sll, 0, sizeof sll);
  if (getsockname(r.fd, reinterpret_cast<sockaddr*>(&sll), &len) < 0) return errno == EBADF;
  return sll.sll_ifindex != r.ifindex;
}

[[noreturn]] void ThrowGone(Napi::Env env, PacketRing& r, int err, const char* syscall, const char* fn) {
  r.gone = true;
  ThrowErrno(env, err, syscall, What(fn, r), "interface " + r.ifname + " is gone (deleted, or its namespace was)",
             "PORT_GONE");
}

void SetOpt(Napi::Env env, PacketRing& r, int level, int opt, const void* val, socklen_t len, const char* optName) {
  if (setsockopt(r.fd, level, opt, val, len) < 0) {
    int e = errno;
    ThrowErrno(env, e, optName, What("packetOpen", r), CauseOf(e, r.ifname));
  }
}

// packetOpen(ifname, { fanoutGroup?, fanoutMode?: 'hash', blockSize?, blockCount?, retireTimeoutMs?,
//                      ignoreOutgoing?, offload? }) -> handle
Napi::Value PacketOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ring = std::make_unique<PacketRing>();
  PacketRing& r = *ring;
  r.ifname = ArgIfName(info, 0);
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  int64_t fanoutGroup = OptInt(opts, "fanoutGroup", -1);
  if (fanoutGroup > 0xffff) ThrowRange(env, "fanoutGroup must be 0..65535");
  Napi::Value mode = opts.Get("fanoutMode");
  if (!mode.IsUndefined() && !(mode.IsString() && mode.As<Napi::String>().Utf8Value() == "hash")) {
    ThrowRange(env, "fanoutMode must be 'hash' (one flow stays on one socket)");
  }
  r.offload = OptBool(opts, "offload", false);
  int64_t blockSize = OptInt(opts, "blockSize", r.offload ? 1 << 18 : 1 << 16);
  int64_t blockCount = OptInt(opts, "blockCount", r.offload ? 32 : 64);
  int64_t retireMs = OptInt(opts, "retireTimeoutMs", 1);
  bool ignoreOutgoing = OptBool(opts, "ignoreOutgoing", true);
  long page = sysconf(_SC_PAGESIZE);
  if (blockSize < page || blockSize > (1 << 24) || (blockSize & (blockSize - 1)) != 0) {
    ThrowRange(env, "blockSize must be a power of two from the page size to 16 MiB");
  }
  if (r.offload && blockSize < kOffloadMinBlock) {
    ThrowRange(env, "blockSize must be at least 128 KiB with offload (a 64 KiB super-frame must fit a block)");
  }
  if (blockCount < 2 || blockCount > 4096) ThrowRange(env, "blockCount must be 2..4096");
  if (retireMs < 1 || retireMs > 1000) ThrowRange(env, "retireTimeoutMs must be 1..1000");

  r.ifindex = static_cast<int>(if_nametoindex(r.ifname.c_str()));
  if (r.ifindex == 0) {
    int e = errno == 0 ? ENODEV : errno;
    ThrowErrno(env, e, "if_nametoindex", What("packetOpen", r), "interface " + r.ifname + " not found", "ENODEV");
  }
  // Protocol 0: the socket receives nothing until bind() below, after the ring is set up.
  r.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (r.fd < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES) {
      ThrowErrno(env, e, "socket", What("packetOpen", r), "needs CAP_NET_RAW/CAP_NET_ADMIN (run as root)");
    }
    ThrowErrno(env, e, "socket", What("packetOpen", r), CauseOf(e, r.ifname));
  }

  bool fanout = fanoutGroup >= 0;
  // Until the socket has joined its fanout group it would see every frame of
  // the interface (duplicates of what the group's other sockets get): drop all.
  struct sock_filter dropAll[1] = {{BPF_RET | BPF_K, 0, 0, 0}};
  struct sock_fprog dropProg = {1, dropAll};
  if (fanout) SetOpt(env, r, SOL_SOCKET, SO_ATTACH_FILTER, &dropProg, sizeof dropProg, "setsockopt(SO_ATTACH_FILTER)");

  int version = TPACKET_V3;
  SetOpt(env, r, SOL_PACKET, PACKET_VERSION, &version, sizeof version, "setsockopt(PACKET_VERSION)");
  if (r.offload) {
    // Before the ring: the kernel refuses it (EBUSY) once a ring is mapped.
    int one = 1;
    SetOpt(env, r, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one, "setsockopt(PACKET_VNET_HDR)");
  }

  struct tpacket_req3 req;
  std::memset(&req, 0, sizeof req);
  req.tp_block_size = static_cast<unsigned>(blockSize);
  req.tp_block_nr = static_cast<unsigned>(blockCount);
  req.tp_frame_size = 2048;  // V3 frames are variable-sized; the kernel only checks this divides the block
  req.tp_frame_nr = (req.tp_block_size / req.tp_frame_size) * req.tp_block_nr;
  req.tp_retire_blk_tov = static_cast<unsigned>(retireMs);
  SetOpt(env, r, SOL_PACKET, PACKET_RX_RING, &req, sizeof req, "setsockopt(PACKET_RX_RING)");
  r.blockSize = req.tp_block_size;
  r.blockCount = req.tp_block_nr;
  r.mapLen = size_t(r.blockSize) * r.blockCount;
  void* m = mmap(nullptr, r.mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    ThrowErrno(env, e, "mmap", What("packetOpen", r), CauseOf(e, r.ifname));
  }
  r.map = static_cast<uint8_t*>(m);

  // A bigger send buffer lets a whole burst be queued at once; best effort.
  int sndbuf = r.offload ? 16 << 20 : 4 << 20;
  if (setsockopt(r.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
    setsockopt(r.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  if (ignoreOutgoing) {
    // Our own transmissions (and the host's) are not input. Kernels < 4.20
    // lack the option; the ring walk skips PACKET_OUTGOING frames anyway.
    int one = 1;
    setsockopt(r.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  }

  struct sockaddr_ll sll;
  std::memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = r.ifindex;
  if (bind(r.fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    int e = errno;
    ThrowErrno(env, e, "bind", What("packetOpen", r), CauseOf(e, r.ifname));
  }

  if (fanout) {
    int flags = ignoreOutgoing ? PACKET_FANOUT_FLAG_IGNORE_OUTGOING : 0;
    int arg = static_cast<int>(fanoutGroup) | ((PACKET_FANOUT_HASH | flags) << 16);
    int rc = setsockopt(r.fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg);
    if (rc < 0 && errno == EINVAL && flags != 0) {
      // Kernels before 6.10 know no IGNORE_OUTGOING flag for groups (or the
      // group was made without it): join without; the ring walk filters.
      arg = static_cast<int>(fanoutGroup) | (PACKET_FANOUT_HASH << 16);
      rc = setsockopt(r.fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg);
    }
    if (rc < 0) {
      int e = errno;
      if (e == EINVAL || e == EALREADY) {
        ThrowErrno(env, e, "setsockopt(PACKET_FANOUT)", What("packetOpen", r),
                   "fanout group " + std::to_string(fanoutGroup) +
                       " is in use with other settings (another interface or mode)");
      }
      ThrowErrno(env, e, "setsockopt(PACKET_FANOUT)", What("packetOpen", r), CauseOf(e, r.ifname));
    }
    SetOpt(env, r, SOL_SOCKET, SO_DETACH_FILTER, &version, sizeof version, "setsockopt(SO_DETACH_FILTER)");
  }

  auto& rings = State(env).rings;
  size_t slot = 0;
  while (slot < rings.size() && rings[slot]) slot++;
  if (slot == rings.size()) rings.emplace_back();
  rings[slot] = std::move(ring);
  return Napi::Number::New(env, static_cast<double>(slot + 1));
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
      Count(counters, kTxRejected);
      i++;
      continue;
    }
    if (e == ENETDOWN && !SocketUnbound(r)) {
      Count(counters, kTxLinkDown, count - i);
      i = count;
      break;
    }
    if (i > 0) break;  // report what went out; the error repeats on the next call
    if (IsPortGone(e)) ThrowGone(env, r, e, "sendmmsg", "packetTxBurst");
    ThrowErrno(env, e, "sendmmsg", What("packetTxBurst", r), CauseOf(e, r.ifname));
  }
  return Napi::Number::New(env, i);
}

Napi::Value PacketFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Ring(info, 0).fd);
}

// packetStats(handle, counters?) -> { packets, drops, freezes } since the
// previous call (the kernel's socket statistics; the bursts read them too,
// so they are kept as totals here). Drops not seen yet go to `counters`.
Napi::Value PacketStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PacketRing& r = Ring(info, 0);
  Span<double> counters = info.Length() > 1 ? ArgOptionalCounters(info, 1) : Span<double>{};
  if (!PollKernelStats(r, counters)) {
    int e = errno;
    ThrowErrno(env, e, "getsockopt(PACKET_STATISTICS)", What("packetStats", r), CauseOf(e, r.ifname));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, r.kernelPackets - r.reportedPackets));
  out.Set("drops", Napi::Number::New(env, r.kernelDrops - r.reportedDrops));
  out.Set("freezes", Napi::Number::New(env, r.kernelFreezes - r.reportedFreezes));
  r.reportedPackets = r.kernelPackets;
  r.reportedDrops = r.kernelDrops;
  r.reportedFreezes = r.kernelFreezes;
  return out;
}

Napi::Value PacketClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring(info, 0);  // validates
  int32_t h = info[0].As<Napi::Number>().Int32Value();
  State(env).rings[h - 1].reset();
  return env.Undefined();
}

}  // namespace

void InitPacket(Napi::Env env, Napi::Object exports) {
  exports.Set("packetOpen", Napi::Function::New(env, PacketOpen, "packetOpen"));
  exports.Set("packetRxBurst", Napi::Function::New(env, PacketRxBurst, "packetRxBurst"));
  exports.Set("packetTxBurst", Napi::Function::New(env, PacketTxBurst, "packetTxBurst"));
  exports.Set("packetFd", Napi::Function::New(env, PacketFd, "packetFd"));
  exports.Set("packetStats", Napi::Function::New(env, PacketStats, "packetStats"));
  exports.Set("packetClose", Napi::Function::New(env, PacketClose, "packetClose"));
}

}  // namespace dpio

// AF_PACKET sockets on an existing interface (veth, or any Ethernet device):
// an RX ring, batched TX with sendmmsg, and fanout so that several workers
// share one interface with every flow kept on one worker.
//
// This file opens and closes them; the bursts in packet-burst.cc walk the
// ring. `ringVersion` 2 (the default) is TPACKET_V2: `frameCount` fixed
// slots of `frameSize` bytes (sized from the interface's MTU, or for a 64 KiB
// super-frame with offload), each handed to us and the socket woken as soon
// as the kernel wrote it. `ringVersion` 3 is TPACKET_V3: `blockCount` blocks
// of `blockSize` bytes packed with variable-sized frames; the kernel hands a
// block over only when it is full or `retireTimeoutMs` (1 ms at least) after
// its first frame, which holds a lone ping for that long: denser for bulk
// small frames, but not for latency.
//
// With `offload` (PACKET_VNET_HDR) the socket takes the interface's offloads
// as they come instead of needing them off: the kernel writes a
// virtio_net_hdr before each frame in the ring and frames may be TCP
// super-frames of up to 64 KiB with partial checksums (a veth whose peer does
// TSO/GSO, as a container's eth0 does by default). Blocks are then 256 KiB so
// that a super-frame fits one.
//
// `rxRing: false` opens the socket without a ring: the bursts then recvmmsg
// each frame straight into its arena slot (one copy, by the kernel, instead
// of one into the ring in softirq and one from the ring into the slot). For
// 64 KiB super-frames that is the cheaper way in; for floods of small frames
// the ring is (no syscall per burst of a few frames).
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "packet-ring.h"

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

namespace dpio {

AddonState::AddonState() = default;
AddonState::~AddonState() = default;

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

namespace {

// V2: bytes of a frame slot before the MAC header (tpacket2_hdr, the
// sockaddr_ll, the virtio_net_hdr with offload, alignment), rounded up.
constexpr int64_t kV2FrameOverhead = 128;
// The largest frame an offload socket is handed: a 64 KiB IPv4 super-frame, its Ethernet header and a VLAN tag.
constexpr int64_t kOffloadMaxFrame = 65535 + 14 + 4;

int64_t RoundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// With offload a block must hold a 64 KiB super-frame and its ring headers.
constexpr int64_t kOffloadMinBlock = 1 << 17;

void SetOpt(Napi::Env env, PacketRing& r, int level, int opt, const void* val, socklen_t len, const char* optName) {
  if (setsockopt(r.fd, level, opt, val, len) < 0) {
    int e = errno;
    ThrowErrno(env, e, optName, What("packetOpen", r), CauseOf(e, r.ifname));
  }
}

// packetOpen(ifname, { fanoutGroup?, fanoutMode?: 'hash', ringVersion?: 2 | 3, frameSize?, frameCount?,
//                      blockSize?, blockCount?, retireTimeoutMs?, ignoreOutgoing?, offload?, rxRing? }) -> handle
// frameSize/frameCount are V2's, blockSize/blockCount/retireTimeoutMs V3's.
// rxRing false: no ring (the ring options are checked, then unused); the
// bursts recvmmsg straight into the arena.
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
  bool rxRing = OptBool(opts, "rxRing", true);
  int64_t ringVersion = OptInt(opts, "ringVersion", 2);
  if (ringVersion != 2 && ringVersion != 3) ThrowRange(env, "ringVersion must be 2 (TPACKET_V2) or 3 (TPACKET_V3)");
  r.version = static_cast<int>(ringVersion);
  int64_t frameSizeOpt = OptInt(opts, "frameSize", 0);
  int64_t frameCount = OptInt(opts, "frameCount", r.offload ? 128 : 2048);
  if (frameCount < 2 || frameCount > 65536) ThrowRange(env, "frameCount must be 2..65536");
  if (frameSizeOpt != 0 && (frameSizeOpt < 256 || frameSizeOpt > (1 << 20) || (frameSizeOpt & 15) != 0)) {
    ThrowRange(env, "frameSize must be a multiple of 16 from 256 to 1 MiB");
  }
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

  int version = r.version == 2 ? TPACKET_V2 : TPACKET_V3;
  if (rxRing) SetOpt(env, r, SOL_PACKET, PACKET_VERSION, &version, sizeof version, "setsockopt(PACKET_VERSION)");
  if (r.offload) {
    // Before the ring: the kernel refuses it (EBUSY) once a ring is mapped.
    int one = 1;
    SetOpt(env, r, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one, "setsockopt(PACKET_VNET_HDR)");
  }

  struct tpacket_req3 req;
  std::memset(&req, 0, sizeof req);
  if (!rxRing) {
    // No ring: the bursts recvmmsg into the arena (packet-burst.cc's
    // RecvDirect). The VLAN tag and checksum status come as PACKET_AUXDATA;
    // the receive queue holds what the ring would (a super-frame is charged
    // its truesize, ~68 KiB).
    r.version = 0;
    int one = 1;
    SetOpt(env, r, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one, "setsockopt(PACKET_AUXDATA)");
    int rcvbuf = r.offload ? 16 << 20 : 4 << 20;
    if (setsockopt(r.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
      setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
  } else if (r.version == 2) {
    // A slot holds the largest frame the interface can hand us: its MTU
    // (read now; a frame beyond it later is cut short and counted as
    // oversize), or a super-frame with offload.
    int64_t frameSize = frameSizeOpt;
    if (frameSize == 0) {
      int64_t maxFrame = kOffloadMaxFrame;
      if (!r.offload) {
        struct ifreq ifr;
        std::memset(&ifr, 0, sizeof ifr);
        std::memcpy(ifr.ifr_name, r.ifname.data(), r.ifname.size());
        int mtu = ioctl(r.fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 1500;
        maxFrame = int64_t(mtu) + 14 + 4;
      }
      frameSize = 2048;
      while (frameSize < kV2FrameOverhead + maxFrame && frameSize < (1 << 16)) frameSize <<= 1;
      if (frameSize < kV2FrameOverhead + maxFrame) frameSize = RoundUp(kV2FrameOverhead + maxFrame, page);
    }
    // Blocks of at least 64 KiB (fewer, larger allocations), whole frames each.
    int64_t block = frameSize >= (1 << 16) ? RoundUp(frameSize, page) : (1 << 16) / frameSize * frameSize;
    block = RoundUp(block, page);
    int64_t perBlock = block / frameSize;
    int64_t blocks = (frameCount + perBlock - 1) / perBlock;
    req.tp_block_size = static_cast<unsigned>(block);
    req.tp_block_nr = static_cast<unsigned>(blocks);
    req.tp_frame_size = static_cast<unsigned>(frameSize);
    req.tp_frame_nr = static_cast<unsigned>(perBlock * blocks);
    SetOpt(env, r, SOL_PACKET, PACKET_RX_RING, &req, sizeof(tpacket_req), "setsockopt(PACKET_RX_RING)");
    r.frameSize = req.tp_frame_size;
    r.framesPerBlock = static_cast<uint32_t>(perBlock);
    r.frameCount = req.tp_frame_nr;
  } else {
    req.tp_block_size = static_cast<unsigned>(blockSize);
    req.tp_block_nr = static_cast<unsigned>(blockCount);
    req.tp_frame_size = 2048;  // V3 frames are variable-sized; the kernel only checks this divides the block
    req.tp_frame_nr = (req.tp_block_size / req.tp_frame_size) * req.tp_block_nr;
    req.tp_retire_blk_tov = static_cast<unsigned>(retireMs);
    SetOpt(env, r, SOL_PACKET, PACKET_RX_RING, &req, sizeof req, "setsockopt(PACKET_RX_RING)");
  }
  if (rxRing) {
    r.blockSize = req.tp_block_size;
    r.blockCount = req.tp_block_nr;
    r.mapLen = size_t(r.blockSize) * r.blockCount;
    void* m = mmap(nullptr, r.mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd, 0);
    if (m == MAP_FAILED) {
      int e = errno;
      ThrowErrno(env, e, "mmap", What("packetOpen", r), CauseOf(e, r.ifname));
    }
    r.map = static_cast<uint8_t*>(m);
  }

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

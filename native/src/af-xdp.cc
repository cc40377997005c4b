// Opening and closing a worker's XSK: the UMEM registered over a page-aligned
// stretch of the worker's batch arena, the socket bound to one queue (created
// with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD: the program is ours,
// af-xdp-prog.cc), its fd put in the port's XSKMAP, and the fill ring
// stocked. A worker with no queue of the interface gets a send-only
// AF_PACKET socket instead (protocol 0: it receives nothing), so that it can
// still route packets out of the port.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "af-xdp.h"

namespace dpio {

XskPort::~XskPort() {
  // The socket first: the kernel lets go of the UMEM pages when the last socket on it closes.
  if (xsk != nullptr) xsk_socket__delete(xsk);
  if (umem != nullptr) xsk_umem__delete(umem);
  if (txFd >= 0) close(txFd);
}

// XDP_MAX_TX_SKB_BUDGET (linux/if_xdp.h from 6.17; Debian's headers may predate it).
constexpr int kXdpMaxTxSkbBudget = 9;

std::string XskWhat(const char* fn, const XskPort& p) {
  return std::string(fn) + "(\"" + p.ifname + "\" queue " + std::to_string(p.queue) + ")";
}

namespace {

XskTable& Table(Napi::Env env) {
  AddonState& s = State(env);
  if (!s.xsks) s.xsks = std::make_shared<XskTable>();
  return *s.xsks;
}

std::string OpenCause(int err, const XskPort& p, const std::string& bind) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "needs CAP_NET_ADMIN (run as root)";
    case EBUSY:
      return "queue " + std::to_string(p.queue) + " of " + p.ifname + " already has an AF_XDP socket (another dataplane or DPDK's af_xdp on it?)";
    case EOPNOTSUPP:
      return bind == "zerocopy" ? "the driver of " + p.ifname + " has no zero-copy AF_XDP (use mode: copy or auto)"
                                : "the kernel has no XDP sockets (CONFIG_XDP_SOCKETS): use an afpacket port";
    case EAFNOSUPPORT:
      return "the kernel has no XDP sockets (CONFIG_XDP_SOCKETS): use an afpacket port";
    case EINVAL:
      return "queue " + std::to_string(p.queue) + " does not exist on " + p.ifname + ", or the kernel refused the ring sizes";
    case ENOMEM:
    case ENOBUFS:
      return "out of memory (locked memory for the UMEM: raise `ulimit -l`, or lower frames)";
    default:
      return CauseOf(err, p.ifname);
  }
}

void OpenTxOnly(Napi::Env env, XskPort& p) {
  p.txFd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p.txFd < 0) {
    int e = errno;
    ThrowErrno(env, e, "socket", XskWhat("xskOpen", p), CauseOf(e, p.ifname));
  }
  struct sockaddr_ll sll;
  std::memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;  // bound for sending; protocol 0 takes in nothing
  sll.sll_ifindex = p.ifindex;
  if (bind(p.txFd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    int e = errno;
    ThrowErrno(env, e, "bind", XskWhat("xskOpen", p), CauseOf(e, p.ifname));
  }
}

// xskOpen(ifname, queue, mapFd, arena, areaOffset, areaBytes, { frames?, ringSize?, bind?: 'auto'|'copy'|'zerocopy' })
//   -> { handle, fd, zerocopy, needWakeup, areaOffset, frames }
// queue -1: send-only (no XSK; see the file comment).
Napi::Value XskOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto port = std::make_unique<XskPort>();
  XskPort& p = *port;
  p.ifname = ArgIfName(info, 0);
  p.queue = ArgInt(info, 1, "queue");
  int mapFd = ArgInt(info, 2, "mapFd");
  Span<uint8_t> arena = ArgBytes(info, 3, "arena");
  uint32_t areaOffset = ArgUint(info, 4, "areaOffset");
  uint32_t areaBytes = ArgUint(info, 5, "areaBytes");
  Napi::Object opts = info.Length() > 6 && info[6].IsObject() ? info[6].As<Napi::Object>() : Napi::Object::New(env);
  int64_t frames = OptInt(opts, "frames", 4096);
  int64_t ringSize = OptInt(opts, "ringSize", 0);
  std::string bindMode = "auto";
  Napi::Value b = opts.Get("bind");
  if (b.IsString()) bindMode = b.As<Napi::String>().Utf8Value();
  if (bindMode != "auto" && bindMode != "copy" && bindMode != "zerocopy") ThrowRange(env, "xskOpen: bind must be auto, copy or zerocopy");
  if (frames < 64 || frames > (1 << 20) || (frames & (frames - 1)) != 0) ThrowRange(env, "xskOpen: frames must be a power of two, 64..1048576");
  if (ringSize == 0) ringSize = frames;
  if (ringSize < 64 || ringSize > frames || (ringSize & (ringSize - 1)) != 0) {
    ThrowRange(env, "xskOpen: ringSize must be a power of two, 64..frames");
  }
  if (uint64_t(areaOffset) + areaBytes > arena.length) ThrowRange(env, "xskOpen: the UMEM area lies outside the arena");
  p.ifindex = static_cast<int>(if_nametoindex(p.ifname.c_str()));
  if (p.ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", XskWhat("xskOpen", p), "interface " + p.ifname + " not found", "ENODEV");

  Napi::Object out = Napi::Object::New(env);
  if (p.queue < 0) {
    OpenTxOnly(env, p);
    out.Set("fd", Napi::Number::New(env, -1));
    out.Set("zerocopy", Napi::Boolean::New(env, false));
    out.Set("needWakeup", Napi::Boolean::New(env, false));
    out.Set("areaOffset", Napi::Number::New(env, areaOffset));
    out.Set("frames", Napi::Number::New(env, 0));
  } else {
    // The UMEM must start on a page; on a 2 MiB boundary where the area has
    // room for it (AfXdpPort.areaBytes leaves it), so that all of it can
    // take transparent huge pages (below).
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = reinterpret_cast<uintptr_t>(arena.data) + areaOffset;
    uintptr_t aligned = (start + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
    if (aligned - start + uint64_t(frames) * kXskFrameSize > areaBytes) aligned = (start + page - 1) & ~uintptr_t(page - 1);
    uint64_t usable = areaBytes > aligned - start ? areaBytes - (aligned - start) : 0;
    if (usable / kXskFrameSize < uint64_t(frames)) {
      ThrowRange(env, "xskOpen: the area holds " + std::to_string(usable / kXskFrameSize) + " frames of " +
                          std::to_string(kXskFrameSize) + " bytes, want " + std::to_string(frames));
    }
    p.arenaBase = arena.data;
    p.area = reinterpret_cast<uint8_t*>(aligned);
    p.areaOffset = static_cast<uint32_t>(aligned - reinterpret_cast<uintptr_t>(arena.data));
    p.frames = static_cast<uint32_t>(frames);
    p.ringSize = static_cast<uint32_t>(ringSize);
    p.txRingSize = p.ringSize / 2;
    p.txReserve = TxReserve(p.frames);

    // Each frame has a 4 KiB chunk, so with small pages every received frame
    // is on a page of its own: the worker's first read of each header missed
    // the TLB as well as the cache (a two-level walk in a VM). Advised before
    // XDP_UMEM_REG pins the pages, the UMEM gets 2 MiB pages where THP is
    // "madvise" or "always" (nothing happens with "never").
    uintptr_t hugeFirst = (aligned + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
    uintptr_t hugeEnd = (aligned + uint64_t(frames) * kXskFrameSize) & ~uintptr_t(kHugePage - 1);
    if (hugeEnd > hugeFirst) madvise(reinterpret_cast<void*>(hugeFirst), hugeEnd - hugeFirst, MADV_HUGEPAGE);
    xsk_umem_config ucfg{};
    ucfg.fill_size = p.ringSize;
    ucfg.comp_size = p.txRingSize;
    ucfg.frame_size = kXskFrameSize;
    ucfg.frame_headroom = 0;
    ucfg.flags = 0;
    int rc = xsk_umem__create(&p.umem, p.area, uint64_t(p.frames) * kXskFrameSize, &p.fill, &p.comp, &ucfg);
    if (rc < 0) {
      p.umem = nullptr;
      ThrowErrno(env, -rc, "xsk_umem__create", XskWhat("xskOpen", p), OpenCause(-rc, p, bindMode));
    }
    xsk_socket_config scfg{};
    scfg.rx_size = p.ringSize;
    scfg.tx_size = p.txRingSize;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    scfg.xdp_flags = 0;
    // auto: neither flag, so the kernel takes zero-copy where the driver has it and copies otherwise.
    scfg.bind_flags = XDP_USE_NEED_WAKEUP | (bindMode == "copy" ? XDP_COPY : bindMode == "zerocopy" ? XDP_ZEROCOPY : 0);
    rc = xsk_socket__create(&p.xsk, p.ifname.c_str(), static_cast<uint32_t>(p.queue), p.umem, &p.rx, &p.tx, &scfg);
    if (rc < 0) {
      p.xsk = nullptr;
      ThrowErrno(env, -rc, "xsk_socket__create", XskWhat("xskOpen", p), OpenCause(-rc, p, bindMode));
    }
    p.fd = xsk_socket__fd(p.xsk);
    p.needWakeup = (scfg.bind_flags & XDP_USE_NEED_WAKEUP) != 0;
    // Copy mode makes one skb per frame inside sendto(), by default at most
    // 32 per call (the rest says EAGAIN and needs another call). Since 6.17
    // XDP_MAX_TX_SKB_BUDGET lets one call take the ring's worth, so a burst
    // costs one syscall instead of one per 32 frames. Older kernels say
    // ENOPROTOOPT and the burst kicks again on EAGAIN as before.
    unsigned int budget = p.txRingSize;
    p.txBudget = setsockopt(p.fd, SOL_XDP, kXdpMaxTxSkbBudget, &budget, sizeof budget) == 0 ? budget : 32;
    struct xdp_options xo;
    socklen_t len = sizeof xo;
    if (getsockopt(p.fd, SOL_XDP, XDP_OPTIONS, &xo, &len) == 0) p.zerocopy = (xo.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    p.state.assign(p.frames, FrameState::kFree);
    p.freeFrames.resize(p.frames);
    p.lent.resize(p.frames);
    for (uint32_t f = p.frames; f-- > 0;) p.freeFrames[p.freeCount++] = f;
    // Stock the fill ring: the kernel can receive from now on.
    uint32_t idx = 0;
    uint32_t n = xsk_ring_prod__reserve(&p.fill, FillQuota(p.freeCount, p.ringSize, p.txReserve), &idx);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t f = p.freeFrames[--p.freeCount];
      p.state[f] = FrameState::kKernel;
      *xsk_ring_prod__fill_addr(&p.fill, idx + i) = uint64_t(f) * kXskFrameSize;
    }
    xsk_ring_prod__submit(&p.fill, n);
    // Only now into the map: a frame redirected to a socket with an empty fill ring is dropped.
    if (mapFd >= 0) {
      uint32_t key = static_cast<uint32_t>(p.queue);
      if (bpf_map_update_elem(mapFd, &key, &p.fd, 0) < 0) {
        int e = errno;
        ThrowErrno(env, e, "bpf_map_update_elem", XskWhat("xskOpen", p), "cannot put the socket in the port's XSKMAP: " + std::string(std::strerror(e)));
      }
    }
    out.Set("fd", Napi::Number::New(env, p.fd));
    out.Set("zerocopy", Napi::Boolean::New(env, p.zerocopy));
    out.Set("needWakeup", Napi::Boolean::New(env, p.needWakeup));
    out.Set("areaOffset", Napi::Number::New(env, p.areaOffset));
    out.Set("frames", Napi::Number::New(env, p.frames));
  }
  auto& ports = Table(env).ports;
  size_t slot = 0;
  while (slot < ports.size() && ports[slot]) slot++;
  if (slot == ports.size()) ports.emplace_back();
  ports[slot] = std::move(port);
  out.Set("handle", Napi::Number::New(env, double(slot + 1)));
  return out;
}

// xskClose(handle): idempotent for a handle already closed.
Napi::Value XskClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t h = ArgInt(info, 0, "handle");
  auto& ports = Table(env).ports;
  if (h > 0 && size_t(h) <= ports.size()) ports[h - 1].reset();
  return env.Undefined();
}

}  // namespace

XskPort* XskByHandle(Napi::Env env, int32_t h) {
  auto& ports = Table(env).ports;
  if (h <= 0 || size_t(h) > ports.size() || !ports[h - 1]) {
    ThrowRange(env, "not an open AF_XDP handle of this thread: " + std::to_string(h));
  }
  return ports[h - 1].get();
}

XskPort& Xsk(const Napi::CallbackInfo& info, size_t i) {
  return *XskByHandle(info.Env(), ArgInt(info, i, "handle"));
}

void InitXsk(Napi::Env env, Napi::Object exports) {
  exports.Set("xskOpen", Napi::Function::New(env, XskOpen, "xskOpen"));
  exports.Set("xskClose", Napi::Function::New(env, XskClose, "xskClose"));
  exports.Set("xskRxBurst", Napi::Function::New(env, XskRxBurst, "xskRxBurst"));
  exports.Set("xskTxBurst", Napi::Function::New(env, XskTxBurst, "xskTxBurst"));
  exports.Set("xskStats", Napi::Function::New(env, XskStats, "xskStats"));
  exports.Set("xskNapUs", Napi::Function::New(env, XskNapUs, "xskNapUs"));
  InitXdpProg(env, exports);
}

}  // namespace dpio

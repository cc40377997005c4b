// TAP devices (/dev/net/tun with IFF_TAP) and the fd-based bursts.
//
// A TAP queue is a plain non-blocking fd: rxBurst reads one frame per read()
// until the queue is empty or `count` frames arrived, txBurst writes one
// frame per write(); either way the JS side crosses into native code once per
// burst. With IFF_VNET_HDR every frame is preceded by a virtio_net_hdr. Without
// offload, rx reads it into scratch space and drops it and tx sends an
// all-zero one (offloads are off, so the kernel never hands us GSO or partial
// checksums). With `offload` (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) the
// kernel hands us TCP super-packets up to 64 KiB with partial checksums: the
// bursts then copy the header's fields to and from a per-slot `meta` array
// (vnet::kMetaWords uint16 per slot, in virtio_net_hdr order: flags, gso_type,
// hdr_len, gso_size, csum_start, csum_offset). The header and the layout are
// vnet.h's, the same the AF_PACKET bursts use and the addon exports
// (offloadLayout), so a test holds both paths to the TypeScript side.
//
// Header size: the 10-byte struct virtio_net_hdr (no num_buffers: tun never
// merges receive buffers, so the 12-byte virtio_net_hdr_v1 would only add two
// unused bytes). With offload it is set explicitly (TUNSETVNETHDRSZ 10), so a
// TAP left behind by another program with another size cannot confuse us.
// Fields are in the tun's default byte order (host order on little-endian
// hosts: legacy virtio, no TUNSETVNETLE/BE).
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "vnet.h"

namespace dpio {

namespace {

constexpr int kMaxVnetHdr = 12;
constexpr const char* kTunPath = "/dev/net/tun";
// The header size offload uses: the 10-byte struct virtio_net_hdr of vnet.h.
constexpr int kOffloadHdrLen = static_cast<int>(vnet::kHdrLen);

// An optional per-slot metadata array (Uint16Array, vnet::kMetaWords per slot).
Span<uint16_t> ArgMeta(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i) return {};
  return ArgOptionalU16Array(info, i, "meta");
}

std::string FdWhat(const char* fn, int fd) {
  return std::string(fn) + "(fd " + std::to_string(fd) + ")";
}

int ArgVnetHdrLen(const Napi::CallbackInfo& info, size_t i) {
  int32_t v = ArgOptionalInt(info, i, 0, "vnetHdrLen");
  if (v < 0 || v > kMaxVnetHdr) ThrowRange(info.Env(), "vnetHdrLen must be 0, 10 or 12");
  return v;
}

// tapOpen(name, { multiQueue?, vnetHdr?, offload?, exclusive? }) -> { fd, name, vnetHdrLen, offload }
// offload implies vnetHdr. exclusive (IFF_TUN_EXCL) creates the TAP or fails
// with EBUSY: without it, a second program opening the same name with
// IFF_MULTI_QUEUE silently becomes more queues of our TAP, and the kernel
// splits the flows between two routers.
Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  bool multiQueue = false;
  bool vnetHdr = false;
  bool offload = false;
  bool exclusive = false;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object opts = info[1].As<Napi::Object>();
    multiQueue = OptBool(opts, "multiQueue", false);
    vnetHdr = OptBool(opts, "vnetHdr", false);
    offload = OptBool(opts, "offload", false);
    exclusive = OptBool(opts, "exclusive", false);
  }
  if (offload) vnetHdr = true;
  std::string what = "tapOpen(\"" + name + "\")";

  int fd = open(kTunPath, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENXIO || e == ENODEV) {
      ThrowErrno(env, e, "open", what, "no /dev/net/tun (load the tun module / pass --device /dev/net/tun to docker)");
    }
    if (e == EPERM || e == EACCES) {
      ThrowErrno(env, e, "open", what,
                 "cannot open /dev/net/tun: needs CAP_NET_ADMIN (run as root; in docker also --device /dev/net/tun)");
    }
    ThrowErrno(env, e, "open", what, CauseOf(e, name));
  }

  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (multiQueue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (vnetHdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (exclusive) ifr.ifr_flags |= IFF_TUN_EXCL;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    if (e == EINVAL) {
      ThrowErrno(env, e, "ioctl(TUNSETIFF)", what,
                 "interface " + name +
                     " exists but is not a TAP opened this way (multiQueue and vnetHdr must match how it was created)");
    }
    if (e == EBUSY && exclusive) {
      ThrowErrno(env, e, "ioctl(TUNSETIFF)", what,
                 "an interface named " + name +
                     " already exists in this network namespace (a TAP another process has open, a persistent TAP, "
                     "or another device)");
    }
    if (e == EBUSY) {
      ThrowErrno(env, e, "ioctl(TUNSETIFF)", what,
                 "TAP " + name + " is already open (by this or another process); open every queue with multiQueue");
    }
    ThrowErrno(env, e, "ioctl(TUNSETIFF)", what, CauseOf(e, name));
  }

  int vnetHdrLen = 0;
  if (offload) {
    // The kernel may hand us TCP/IPv4 super-packets (gso_size per segment) and
    // partial checksums; we hand them on to other offload TAPs the same way.
    int sz = kOffloadHdrLen;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int e = errno;
      close(fd);
      ThrowErrno(env, e, "ioctl(TUNSETVNETHDRSZ)", what, CauseOf(e, name));
    }
    if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned>(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN)) < 0 ||
        ioctl(fd, TUNGETVNETHDRSZ, &vnetHdrLen) < 0) {
      int e = errno;
      close(fd);
      ThrowErrno(env, e, "ioctl(TUNSETOFFLOAD)", what, CauseOf(e, name));
    }
    if (vnetHdrLen != kOffloadHdrLen) {
      close(fd);
      ThrowErrno(env, EINVAL, "ioctl(TUNGETVNETHDRSZ)", what, "unexpected virtio header size");
    }
  } else if (vnetHdr) {
    // No offloads: the kernel segments and checksums before handing us a frame.
    if (ioctl(fd, TUNSETOFFLOAD, 0u) < 0 || ioctl(fd, TUNGETVNETHDRSZ, &vnetHdrLen) < 0) {
      int e = errno;
      close(fd);
      ThrowErrno(env, e, "ioctl(TUNSETOFFLOAD)", what, CauseOf(e, name));
    }
    if (vnetHdrLen < 0 || vnetHdrLen > kMaxVnetHdr) {
      close(fd);
      ThrowErrno(env, EINVAL, "ioctl(TUNGETVNETHDRSZ)", what, "unexpected virtio header size");
    }
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("name", Napi::String::New(env, ifr.ifr_name));
  out.Set("vnetHdrLen", Napi::Number::New(env, vnetHdrLen));
  out.Set("offload", Napi::Boolean::New(env, offload));
  return out;
}

// tapSetPersist(fd, persist): a persistent TAP outlives its fds.
Napi::Value TapSetPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  if (!info[1].IsBoolean()) ThrowType(env, "persist must be a boolean");
  unsigned long on = info[1].As<Napi::Boolean>().Value() ? 1 : 0;
  if (ioctl(fd, TUNSETPERSIST, on) < 0) {
    int e = errno;
    ThrowErrno(env, e, "ioctl(TUNSETPERSIST)", FdWhat("tapSetPersist", fd), CauseOf(e, ""));
  }
  return env.Undefined();
}

// closeFd(fd)
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  if (fd < 0) ThrowRange(env, "fd must not be negative");
  // Linux closes the fd even when close() reports EINTR: never retry.
  if (close(fd) < 0 && errno != EINTR) {
    int e = errno;
    ThrowErrno(env, e, "close", FdWhat("closeFd", fd), CauseOf(e, ""));
  }
  return env.Undefined();
}

// rxBurst(fd, arena, offsets, lengths, maxFrame, count, first = 0, vnetHdrLen = 0, counters?, meta?) -> n
// Reads up to `count` frames into slots [first, first + n): frame k goes to
// arena[offsets[k]...] and its length to lengths[k]. Stops early when the
// queue is empty. A frame larger than maxFrame is dropped and counted.
// With `meta` (and a virtio header) the header's fields go to
// meta[k * vnet::kMetaWords ...]; without it they are dropped.
Napi::Value RxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  Span<uint8_t> arena = ArgBytes(info, 1, "arena");
  Span<uint32_t> offsets = ArgU32Array(info, 2, "offsets");
  Span<uint32_t> lengths = ArgU32Array(info, 3, "lengths");
  uint32_t maxFrame = ArgUint(info, 4, "maxFrame");
  uint32_t count = ArgUint(info, 5, "count");
  uint32_t first = static_cast<uint32_t>(ArgOptionalInt(info, 6, 0, "first"));
  int vnetLen = ArgVnetHdrLen(info, 7);
  Span<double> counters = ArgOptionalCounters(info, 8);
  Span<uint16_t> meta = ArgMeta(info, 9);
  if (uint64_t(first) + count > offsets.length || uint64_t(first) + count > lengths.length) {
    ThrowRange(env, "rxBurst: first + count exceeds offsets/lengths");
  }
  if (meta.data != nullptr && (vnetLen < kOffloadHdrLen || (uint64_t(first) + count) * vnet::kMetaWords > meta.length)) {
    ThrowRange(env, "rxBurst: meta needs a 10-byte virtio header and kMetaWords (6) words per slot");
  }
  if (maxFrame > arena.length) ThrowRange(env, "rxBurst: maxFrame exceeds the arena");

  uint8_t hdr[kMaxVnetHdr];
  uint32_t n = 0;
  while (n < count) {
    uint32_t slot = first + n;
    uint32_t off = offsets.data[slot];
    if (off > arena.length - maxFrame) ThrowRange(env, "rxBurst: slot " + std::to_string(slot) + " lies outside the arena");
    ssize_t r;
    if (vnetLen > 0) {
      struct iovec iov[2] = {{hdr, static_cast<size_t>(vnetLen)}, {arena.data + off, maxFrame}};
      r = readv(fd, iov, 2);
    } else {
      r = read(fd, arena.data + off, maxFrame);
    }
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      if (n > 0) break;  // hand over what arrived; the error repeats on the next call
      if (IsPortGone(e)) ThrowPortGone(env, e, "read", FdWhat("rxBurst", fd));
      ThrowErrno(env, e, "read", FdWhat("rxBurst", fd), CauseOf(e, ""));
    }
    // tun reports a frame's full length even when the buffer cut it short.
    if (r < vnetLen || static_cast<size_t>(r - vnetLen) > maxFrame) {
      Count(counters, kRxOversize);
      continue;
    }
    lengths.data[slot] = static_cast<uint32_t>(r - vnetLen);
    if (meta.data != nullptr) vnet::ToMeta(vnet::Read(hdr), meta.data + size_t(slot) * vnet::kMetaWords);
    n++;
  }
  return Napi::Number::New(env, n);
}

// txBurst(fd, arena, offsets, lengths, count, slots = null, vnetHdrLen = 0, counters?, meta?) -> consumed
// With `meta`, each frame's virtio header is built from meta[k * vnet::kMetaWords ...]
// (the layout rxBurst writes); without it the header is all zero.
// Sends frames k = slots[i] (or i) for i in [0, count): arena[offsets[k], +lengths[k]).
// Returns how many were consumed from the front: sent, or dropped and counted
// with their bytes (refused by the kernel, interface down), so the caller can
// tell the two apart. Stops at EAGAIN; the rest may be retried.
Napi::Value TxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  Span<uint8_t> arena = ArgBytes(info, 1, "arena");
  Span<uint32_t> offsets = ArgU32Array(info, 2, "offsets");
  Span<uint32_t> lengths = ArgU32Array(info, 3, "lengths");
  uint32_t count = ArgUint(info, 4, "count");
  Span<uint16_t> slots = ArgOptionalU16Array(info, 5, "slots");
  int vnetLen = ArgVnetHdrLen(info, 6);
  Span<double> counters = ArgOptionalCounters(info, 7);
  Span<uint16_t> meta = ArgMeta(info, 8);
  if (slots.data != nullptr ? count > slots.length : (count > offsets.length || count > lengths.length)) {
    ThrowRange(env, "txBurst: count exceeds the slot list");
  }
  if (meta.data != nullptr && vnetLen < kOffloadHdrLen) ThrowRange(env, "txBurst: meta needs a 10-byte virtio header");
  uint8_t hdr[kMaxVnetHdr] = {};

  static const uint8_t kZeroHdr[kMaxVnetHdr] = {};
  uint32_t i = 0;
  while (i < count) {
    uint32_t k = slots.data != nullptr ? slots.data[i] : i;
    if (k >= offsets.length || k >= lengths.length) ThrowRange(env, "txBurst: slot " + std::to_string(k) + " out of range");
    uint32_t off = offsets.data[k];
    uint32_t len = lengths.data[k];
    if (off > arena.length || len > arena.length - off) {
      ThrowRange(env, "txBurst: slot " + std::to_string(k) + " lies outside the arena");
    }
    const uint8_t* h = kZeroHdr;
    if (meta.data != nullptr) {
      if ((uint64_t(k) + 1) * vnet::kMetaWords > meta.length) ThrowRange(env, "txBurst: slot " + std::to_string(k) + " outside meta");
      const vnet::Hdr vh = vnet::FromMeta(meta.data + size_t(k) * vnet::kMetaWords);
      std::memcpy(hdr, &vh, sizeof vh);
      h = hdr;
    }
    ssize_t r;
    if (vnetLen > 0) {
      struct iovec iov[2] = {{const_cast<uint8_t*>(h), static_cast<size_t>(vnetLen)}, {arena.data + off, len}};
      r = writev(fd, iov, 2);
    } else {
      r = write(fd, arena.data + off, len);
    }
    if (r >= 0) {
      i++;
      continue;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) break;
    if (e == EIO) {
      // The TAP is down: a NIC without link drops what it is given.
      Count(counters, kTxLinkDown, count - i);
      Count(counters, kTxLinkDownBytes, TxBurstBytes(slots, lengths, i, count));
      i = count;
      break;
    }
    if (e == EINVAL || e == EMSGSIZE) {
      Count(counters, kTxRejected);
      Count(counters, kTxRejectedBytes, len);
      i++;
      continue;
    }
    if (i > 0) break;  // report what went out; the error repeats on the next call
    if (IsPortGone(e)) ThrowPortGone(env, e, "write", FdWhat("txBurst", fd));
    ThrowErrno(env, e, "write", FdWhat("txBurst", fd), CauseOf(e, ""));
  }
  return Napi::Number::New(env, i);
}

}  // namespace

void InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen, "tapOpen"));
  exports.Set("tapSetPersist", Napi::Function::New(env, TapSetPersist, "tapSetPersist"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("rxBurst", Napi::Function::New(env, RxBurst, "rxBurst"));
  exports.Set("txBurst", Napi::Function::New(env, TxBurst, "txBurst"));
}

}  // namespace dpio

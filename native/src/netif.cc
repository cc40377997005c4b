// Interface helpers (index, up/down, MTU, MAC) and readiness: waitReadable
// blocks the calling thread (one worker) in poll() for at most timeoutMs, and
// an eventfd lets another thread wake it early.
#include <cerrno>
#include <cstring>
#include <net/if_arp.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <ctime>
#include <unistd.h>

#include "common.h"

namespace dpio {

namespace {

constexpr uint32_t kMaxWaitFds = 32;

std::string What(const char* fn, const std::string& ifname) {
  return std::string(fn) + "(\"" + ifname + "\")";
}

// Runs one SIOC* ioctl about `ifname` on a throwaway datagram socket.
void IfIoctl(Napi::Env env, unsigned long req, struct ifreq& ifr, const char* reqName, const char* fn,
             const std::string& ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    int e = errno;
    ThrowErrno(env, e, "socket", What(fn, ifname), CauseOf(e, ifname));
  }
  int rc = ioctl(s, req, &ifr);
  int e = errno;
  close(s);
  if (rc < 0) ThrowErrno(env, e, reqName, What(fn, ifname), CauseOf(e, ifname));
}

struct ifreq IfReq(const std::string& ifname) {
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  return ifr;
}

// ifIndex(name) -> index (throws ENODEV naming the interface)
Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) ThrowErrno(env, ENODEV, "if_nametoindex", What("ifIndex", name), CauseOf(ENODEV, name));
  return Napi::Number::New(env, idx);
}

// ifSetUp(name, up)
Napi::Value IfSetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  if (!info[1].IsBoolean()) ThrowType(env, "up must be a boolean");
  bool up = info[1].As<Napi::Boolean>().Value();
  struct ifreq ifr = IfReq(name);
  IfIoctl(env, SIOCGIFFLAGS, ifr, "ioctl(SIOCGIFFLAGS)", "ifSetUp", name);
  if (up) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
  }
  IfIoctl(env, SIOCSIFFLAGS, ifr, "ioctl(SIOCSIFFLAGS)", "ifSetUp", name);
  return env.Undefined();
}

// ifSetMtu(name, mtu)
Napi::Value IfSetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  uint32_t mtu = ArgUint(info, 1, "mtu");
  struct ifreq ifr = IfReq(name);
  ifr.ifr_mtu = static_cast<int>(mtu);
  IfIoctl(env, SIOCSIFMTU, ifr, "ioctl(SIOCSIFMTU)", "ifSetMtu", name);
  return env.Undefined();
}

// ifGetMtu(name) -> mtu
Napi::Value IfGetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  struct ifreq ifr = IfReq(name);
  IfIoctl(env, SIOCGIFMTU, ifr, "ioctl(SIOCGIFMTU)", "ifGetMtu", name);
  return Napi::Number::New(env, ifr.ifr_mtu);
}

// ifHwAddr(name) -> Uint8Array(6)
Napi::Value IfHwAddr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  struct ifreq ifr = IfReq(name);
  IfIoctl(env, SIOCGIFHWADDR, ifr, "ioctl(SIOCGIFHWADDR)", "ifHwAddr", name);
  auto out = Napi::Uint8Array::New(env, 6);
  std::memcpy(out.Data(), ifr.ifr_hwaddr.sa_data, 6);
  return out;
}

// ifSetHwAddr(name, mac: Uint8Array(6))
Napi::Value IfSetHwAddr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgIfName(info, 0);
  Span<uint8_t> mac = ArgBytes(info, 1, "mac");
  if (mac.length != 6) ThrowRange(env, "mac must be 6 bytes");
  struct ifreq ifr = IfReq(name);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(ifr.ifr_hwaddr.sa_data, mac.data, 6);
  IfIoctl(env, SIOCSIFHWADDR, ifr, "ioctl(SIOCSIFHWADDR)", "ifSetHwAddr", name);
  return env.Undefined();
}

// waitReadable(fds: Int32Array, n, timeoutMs) -> bitmask (bit i: fds[i] readable, or in error)
// Blocks only the calling thread. 0 means the timeout passed (or a signal came).
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<int32_t> fds = ArgI32Array(info, 0, "fds");
  uint32_t n = ArgUint(info, 1, "n");
  int32_t timeoutMs = ArgInt(info, 2, "timeoutMs");
  if (n > fds.length) ThrowRange(env, "waitReadable: n exceeds fds.length");
  if (n > kMaxWaitFds) ThrowRange(env, "waitReadable: at most 32 fds");
  struct pollfd p[kMaxWaitFds];
  for (uint32_t i = 0; i < n; i++) {
    p[i].fd = fds.data[i];
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  int rc = poll(p, n, timeoutMs < 0 ? -1 : timeoutMs);
  if (rc < 0) {
    int e = errno;
    if (e == EINTR) return Napi::Number::New(env, 0);
    ThrowErrno(env, e, "poll", "waitReadable", CauseOf(e, ""));
  }
  uint32_t mask = 0;
  for (uint32_t i = 0; i < n; i++) {
    if ((p[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0) mask |= 1u << i;
  }
  return Napi::Number::New(env, mask);
}

// napUs(us): sleeps the calling thread for `us` microseconds (clock_nanosleep,
// 1..1000000), whatever arrives meanwhile. The run loop's coalescing
// (src/runtime/rx-coalesce.ts): at a high enough frame rate, one wake-up per
// nap collects many frames, where poll() would wake the worker for the first.
// A signal ends it early, which only costs an earlier round.
Napi::Value NapUs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t us = ArgInt(info, 0, "us");
  if (us < 1 || us > 1000000) ThrowRange(env, "napUs: us must be 1..1000000");
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
  return env.Undefined();
}

// wakeFdOpen() -> fd: an eventfd to put among a worker's waitReadable fds.
Napi::Value WakeFdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    ThrowErrno(env, e, "eventfd", "wakeFdOpen", CauseOf(e, ""));
  }
  return Napi::Number::New(env, fd);
}

// wakeFdSignal(fd): makes the eventfd readable (from any thread).
Napi::Value WakeFdSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  uint64_t one = 1;
  if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) {
    int e = errno;
    ThrowErrno(env, e, "write", "wakeFdSignal", CauseOf(e, ""));
  }
  return env.Undefined();
}

// wakeFdDrain(fd) -> signals since the last drain (0 when none).
Napi::Value WakeFdDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  uint64_t v = 0;
  if (read(fd, &v, sizeof v) < 0) {
    int e = errno;
    if (e == EAGAIN) return Napi::Number::New(env, 0);
    ThrowErrno(env, e, "read", "wakeFdDrain", CauseOf(e, ""));
  }
  return Napi::Number::New(env, static_cast<double>(v));
}

}  // namespace

void InitNetif(Napi::Env env, Napi::Object exports) {
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("ifSetUp", Napi::Function::New(env, IfSetUp, "ifSetUp"));
  exports.Set("ifSetMtu", Napi::Function::New(env, IfSetMtu, "ifSetMtu"));
  exports.Set("ifGetMtu", Napi::Function::New(env, IfGetMtu, "ifGetMtu"));
  exports.Set("ifHwAddr", Napi::Function::New(env, IfHwAddr, "ifHwAddr"));
  exports.Set("ifSetHwAddr", Napi::Function::New(env, IfSetHwAddr, "ifSetHwAddr"));
  exports.Set("waitReadable", Napi::Function::New(env, WaitReadable, "waitReadable"));
  exports.Set("napUs", Napi::Function::New(env, NapUs, "napUs"));
  exports.Set("wakeFdOpen", Napi::Function::New(env, WakeFdOpen, "wakeFdOpen"));
  exports.Set("wakeFdSignal", Napi::Function::New(env, WakeFdSignal, "wakeFdSignal"));
  exports.Set("wakeFdDrain", Napi::Function::New(env, WakeFdDrain, "wakeFdDrain"));
}

}  // namespace dpio

// Shared pieces of the packet I/O addon: argument helpers, errors that name
// their cause, the per-thread instance data, and the counter indexes that
// the bursts update.
//
// Every function here runs on the JS thread that called it (the main thread
// or one worker). Nothing is static and mutable: per-thread state lives in
// the instance data (AddonState), so each worker_thread that loads the addon
// gets its own.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dpio {

// Indexes into the optional `counters: Float64Array` a burst updates. Keep in
// step with IoCounter in src/io/native.ts.
enum Counter : uint32_t {
  kRxOversize = 0,   // frame larger than maxFrame (or cut short by the ring): dropped
  kTxRejected = 1,   // the kernel refused one frame (EINVAL, EMSGSIZE): dropped
  kTxLinkDown = 2,   // the interface is down (EIO on TAP, ENETDOWN on AF_PACKET): dropped
  kRxChecksumFixed = 3,  // a partial (offloaded) L4 checksum completed: AF_PACKET's flagged, AF_XDP's recognised
  kRxOffloadUnsupported = 4,  // AF_PACKET offload frame we cannot route (UDP GSO, TCPv6 GSO, tunnel GSO, SCTP): dropped
  kRxKernelDrops = 5,  // AF_PACKET: frames the kernel dropped before our ring (ring full, or no virtio header for it)
  kTxOversize = 6,  // AF_XDP: a frame longer than a UMEM chunk holds (kXskMaxFrame), never copied: dropped
  kTxRejectedBytes = 7,  // bytes of the frames counted in kTxRejected
  kTxLinkDownBytes = 8,  // bytes of the frames counted in kTxLinkDown
  kTxOversizeBytes = 9,  // bytes of the frames counted in kTxOversize
  kCounterCount = 10,
};

// Throws a JS Error: message "<what>: <cause> [<ENAME>: <strerror>]", with
// err.code (code, or the errno name), err.errno and err.syscall.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& what,
                             const std::string& cause, const char* code = nullptr);

// The usual cause for an errno in a call about interface `ifname`.
std::string CauseOf(int err, const std::string& ifname);

// Errnos that mean the interface under a fd or socket is gone for good.
bool IsPortGone(int err);

[[noreturn]] void ThrowPortGone(Napi::Env env, int err, const char* syscall, const std::string& what);

[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);

// A typed array argument: pointer and element count, checked for its type.
template <typename T>
struct Span {
  T* data = nullptr;
  size_t length = 0;
};

Span<uint8_t> ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name);
Span<uint32_t> ArgU32Array(const Napi::CallbackInfo& info, size_t i, const char* name);
Span<uint16_t> ArgU16Array(const Napi::CallbackInfo& info, size_t i, const char* name);
Span<int32_t> ArgI32Array(const Napi::CallbackInfo& info, size_t i, const char* name);
// An optional Float64Array (undefined or null gives an empty span).
Span<double> ArgOptionalCounters(const Napi::CallbackInfo& info, size_t i);
Span<double> ArgOptionalF64Array(const Napi::CallbackInfo& info, size_t i, const char* name);
Span<uint32_t> ArgOptionalU32Array(const Napi::CallbackInfo& info, size_t i, const char* name);
Span<uint16_t> ArgOptionalU16Array(const Napi::CallbackInfo& info, size_t i, const char* name);

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name);
int32_t ArgOptionalInt(const Napi::CallbackInfo& info, size_t i, int32_t fallback, const char* name);
uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgIfName(const Napi::CallbackInfo& info, size_t i);
bool OptBool(const Napi::Object& opts, const char* key, bool fallback);
int64_t OptInt(const Napi::Object& opts, const char* key, int64_t fallback);

inline void Count(Span<double> counters, Counter c, double by = 1) {
  if (counters.length > c) counters.data[c] += by;
}

// Bytes of frames [from, count) of a tx burst (frame i is slot slots[i], or
// slot i without a slot list), for the drop counters of the frames a burst
// gives up at once. A slot out of range (checked by the burst only when it
// gets there) counts 0.
inline double TxBurstBytes(Span<uint16_t> slots, Span<uint32_t> lengths, uint32_t from, uint32_t count) {
  double sum = 0;
  for (uint32_t i = from; i < count; i++) {
    uint32_t k = slots.data != nullptr ? slots.data[i] : i;
    if (k < lengths.length) sum += lengths.data[k];
  }
  return sum;
}

struct PacketRing;  // packet.cc
struct XskTable;    // af-xdp.h

// Per-thread state: the AF_PACKET rings this thread opened (handle = index + 1).
// Its destructor runs when the thread's environment is torn down, so a worker
// that exits without closing its rings does not leak their memory or sockets.
struct AddonState {
  std::vector<std::unique_ptr<PacketRing>> rings;
  // The AF_XDP sockets this thread opened (af-xdp.cc); a shared_ptr so that
  // this header needs no complete XskTable to destroy it.
  std::shared_ptr<XskTable> xsks;
  AddonState();  // both out of line: PacketRing is complete only in packet.cc
  ~AddonState();
};

AddonState& State(Napi::Env env);

void InitTap(Napi::Env env, Napi::Object exports);
void InitPacket(Napi::Env env, Napi::Object exports);
void InitNetif(Napi::Env env, Napi::Object exports);
void InitFlock(Napi::Env env, Napi::Object exports);
void InitSched(Napi::Env env, Napi::Object exports);  // sched.cc
void InitXsk(Napi::Env env, Napi::Object exports);

}  // namespace dpio

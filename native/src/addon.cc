// Module entry point, errors and argument helpers.
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <net/if.h>

#include "common.h"
#include "vnet.h"

namespace dpio {

namespace {

// strerrorname_np is glibc >= 2.32; a short table keeps the addon portable.
const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case EBADFD: return "EBADFD";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENETDOWN: return "ENETDOWN";
    case ENOBUFS: return "ENOBUFS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EUNKNOWN";
  }
}

}  // namespace

std::string CauseOf(int err, const std::string& ifname) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "needs CAP_NET_ADMIN (run as root)";
    case ENODEV:
    case ENXIO:
      return ifname.empty() ? "interface not found" : "interface " + ifname + " not found";
    case EBUSY:
      return "interface " + ifname + " is busy (a TAP already open elsewhere; open every queue with multiQueue)";
    case EMFILE:
    case ENFILE:
      return "too many open files";
    case ENOMEM:
    case ENOBUFS:
      return "out of memory";
    default:
      return std::strerror(err);
  }
}

bool IsPortGone(int err) {
  return err == EBADFD || err == ENXIO || err == ENODEV || err == ENETDOWN;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& what, const std::string& cause,
                const char* code) {
  const char* name = ErrnoName(err);
  std::string message = what + ": " + cause + " [" + name + ": " + std::strerror(err) + "]";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code != nullptr ? code : name));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  throw e;
}

void ThrowPortGone(Napi::Env env, int err, const char* syscall, const std::string& what) {
  ThrowErrno(env, err, syscall, what, "the interface is gone (deleted, or its namespace was)", "PORT_GONE");
}

void ThrowRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

namespace {

// One napi_get_typedarray_info call checks the type and yields the data:
// these run several times per burst, so no wrapper objects.
template <typename T>
Span<T> TypedArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* typeName,
                 const char* name, bool optional) {
  napi_env env = info.Env();
  napi_value v = info[i];
  napi_typedarray_type actual;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &actual, &length, &data, nullptr, nullptr) != napi_ok || actual != type) {
    if (optional) {
      napi_valuetype t;
      if (napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null)) return {};
    }
    ThrowType(info.Env(), std::string(name) + " must be a " + typeName);
  }
  return Span<T>{static_cast<T*>(data), length};
}

}  // namespace

Span<uint8_t> ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<uint8_t>(info, i, napi_uint8_array, "Uint8Array", name, false);
}
Span<uint32_t> ArgU32Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<uint32_t>(info, i, napi_uint32_array, "Uint32Array", name, false);
}
Span<uint16_t> ArgU16Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<uint16_t>(info, i, napi_uint16_array, "Uint16Array", name, false);
}
Span<int32_t> ArgI32Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<int32_t>(info, i, napi_int32_array, "Int32Array", name, false);
}
Span<double> ArgOptionalCounters(const Napi::CallbackInfo& info, size_t i) {
  return TypedArg<double>(info, i, napi_float64_array, "Float64Array", "counters", true);
}
Span<double> ArgOptionalF64Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<double>(info, i, napi_float64_array, "Float64Array", name, true);
}
Span<uint32_t> ArgOptionalU32Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<uint32_t>(info, i, napi_uint32_array, "Uint32Array", name, true);
}
Span<uint16_t> ArgOptionalU16Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return TypedArg<uint16_t>(info, i, napi_uint16_array, "Uint16Array", name, true);
}

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  int32_t out = 0;
  if (napi_get_value_int32(info.Env(), info[i], &out) != napi_ok) {
    ThrowType(info.Env(), std::string(name) + " must be a number");
  }
  return out;
}

int32_t ArgOptionalInt(const Napi::CallbackInfo& info, size_t i, int32_t fallback, const char* name) {
  int32_t out = 0;
  if (napi_get_value_int32(info.Env(), info[i], &out) == napi_ok) return out;
  Napi::Value v = info[i];
  if (v.IsUndefined() || v.IsNull()) return fallback;
  ThrowType(info.Env(), std::string(name) + " must be a number");
}

uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name) {
  int32_t v = ArgInt(info, i, name);
  if (v < 0) ThrowRange(info.Env(), std::string(name) + " must not be negative");
  return static_cast<uint32_t>(v);
}

std::string ArgIfName(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsString()) ThrowType(info.Env(), "interface name must be a string");
  std::string name = v.As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ || name.find('/') != std::string::npos ||
      name.find_first_of(" \t\n") != std::string::npos || name.find('\0') != std::string::npos) {
    ThrowRange(info.Env(), "interface name \"" + name + "\" is not valid (at most " + std::to_string(IFNAMSIZ - 1) +
                               " bytes, no spaces or '/')");
  }
  return name;
}

bool OptBool(const Napi::Object& opts, const char* key, bool fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) ThrowType(opts.Env(), std::string("option ") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

int64_t OptInt(const Napi::Object& opts, const char* key, int64_t fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) ThrowType(opts.Env(), std::string("option ") + key + " must be a number");
  return v.As<Napi::Number>().Int64Value();
}

AddonState& State(Napi::Env env) {
  return *env.GetInstanceData<AddonState>();
}

}  // namespace dpio

// frame-copy.cc (copyFrames: a burst of frames from memory into batch slots, for the pipeline benchmark's feed).
namespace dpio {
void InitFrameCopy(Napi::Env env, Napi::Object exports);
}  // namespace dpio

// huge-pages.cc (adviseHugePages: 2 MiB pages for the flow table's SharedArrayBuffers).
namespace dpio {
void InitHugePages(Napi::Env env, Napi::Object exports);
}  // namespace dpio

// lpm-dir16.cc (dir16Open, dir16LookupBatch: batch LPM lookups over a dir16 FIB in shared memory).
namespace dpio {
void InitLpmDir16(Napi::Env env, Napi::Object exports);
}  // namespace dpio

namespace {

// The offload metadata layout the bursts read and write (vnet.h), for the
// test that holds it equal to OffloadMeta and VNET_HDR_* in batch.ts.
Napi::Object OffloadLayout(Napi::Env env) {
  namespace v = dpio::vnet;
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint32_t x) { o.Set(k, Napi::Number::New(env, x)); };
  set("hdrLen", v::kHdrLen);
  set("words", v::kMetaWords);
  set("flags", v::kFlags);
  set("gsoType", v::kGsoType);
  set("hdrLenWord", v::kHdrLenWord);
  set("gsoSize", v::kGsoSize);
  set("csumStart", v::kCsumStart);
  set("csumOffset", v::kCsumOffset);
  set("fNeedsCsum", v::kFNeedsCsum);
  set("gsoNone", v::kGsoNone);
  set("gsoTcpV4", v::kGsoTcpV4);
  set("gsoEcn", v::kGsoEcn);
  // Where each virtio_net_hdr field sits in the 10-byte header.
  set("hdrFlagsAt", offsetof(v::Hdr, flags));
  set("hdrGsoTypeAt", offsetof(v::Hdr, gso_type));
  set("hdrHdrLenAt", offsetof(v::Hdr, hdr_len));
  set("hdrGsoSizeAt", offsetof(v::Hdr, gso_size));
  set("hdrCsumStartAt", offsetof(v::Hdr, csum_start));
  set("hdrCsumOffsetAt", offsetof(v::Hdr, csum_offset));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Deleted by node-addon-api's finalizer when this thread's environment goes away.
  env.SetInstanceData<dpio::AddonState>(new dpio::AddonState());
  dpio::InitTap(env, exports);
  dpio::InitPacket(env, exports);
  dpio::InitNetif(env, exports);
  dpio::InitFlock(env, exports);
  dpio::InitSched(env, exports);
  dpio::InitXsk(env, exports);
  dpio::InitFrameCopy(env, exports);
  dpio::InitHugePages(env, exports);
  dpio::InitLpmDir16(env, exports);
  exports.Set("offloadLayout", OffloadLayout(env));
  // 3: AF_PACKET offload (packetOpen offload, meta in the packet bursts), offloadLayout; fdTryLock, tapOpen exclusive.
  // 4: the tx bursts count the bytes of the frames they drop (kTxRejectedBytes, kTxLinkDownBytes).
  // 5: AF_XDP (xdpAttach, xdpDetach, xskOpen, xskRxBurst, xskTxBurst, xskStats, xskClose); threadSetRealtime; copyFrames;
  //    packetOpen ringVersion/frameSize/frameCount (TPACKET_V2 by default).
  // 6: threadSetAffinity, threadGetAffinity.
  // 7: kTxOversize (+ bytes) at index 6, the byte counters after it; xskTxBurst counts a frame longer than a UMEM chunk there.
  exports.Set("abiVersion", Napi::Number::New(env, 7));
  return exports;
}

}  // namespace

NODE_API_MODULE(dataplane_io, Init)

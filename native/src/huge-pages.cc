// adviseHugePages(view): madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part
// of a typed array's memory (a SharedArrayBuffer's), before it is first
// touched, for the flow table (src/flow/huge-pages.ts): its index and
// records are read at random, one or two lines per 4 KiB page, so with 4 KiB
// pages nearly every access also misses the TLB (a two-level walk in a VM).
// Where transparent huge pages are "madvise" (Debian's default) only memory
// advised so gets 2 MiB pages; with "always" this changes nothing, with
// "never" the kernel ignores it.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>

#include "common.h"

namespace dpio {

namespace {

constexpr uintptr_t kHuge = uintptr_t{2} << 20;

// Returns the bytes advised (0 when the view spans no whole 2 MiB page), or
// -errno when madvise refused (EINVAL: a kernel without THP).
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowType(env, "adviseHugePages: view must be a typed array");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, &offset) != napi_ok) ThrowType(env, "adviseHugePages: not a readable typed array");
  size_t bytes = info[0].As<Napi::TypedArray>().ByteLength();
  uintptr_t start = reinterpret_cast<uintptr_t>(data);
  uintptr_t first = (start + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (start + bytes) & ~(kHuge - 1);
  if (end <= first) return Napi::Number::New(env, 0);
  if (madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE) != 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, static_cast<double>(end - first));
}

// addressMod(view, modulus): the view's data address modulo `modulus` (a
// power of two, at most 2^30). The flow table places its 64-byte buckets and
// records on cache-line boundaries with it: a SharedArrayBuffer's memory
// starts 16 bytes into its mapping (glibc's chunk header), so at offset 0
// every 64-byte bucket would straddle two lines, two DRAM misses a probe.
Napi::Value AddressMod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) ThrowType(env, "addressMod: expected (view, modulus)");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, &offset) != napi_ok) ThrowType(env, "addressMod: not a readable typed array");
  int64_t m = info[1].As<Napi::Number>().Int64Value();
  if (m < 1 || m > (int64_t{1} << 30) || (m & (m - 1)) != 0) ThrowType(env, "addressMod: modulus must be a power of two in 1..2^30");
  return Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(data) & static_cast<uintptr_t>(m - 1)));
}

}  // namespace

void InitHugePages(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
  exports.Set("addressMod", Napi::Function::New(env, AddressMod, "addressMod"));
}

}  // namespace dpio

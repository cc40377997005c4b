// Batch longest-prefix lookups over a dir16 FIB (src/route/fib-dir16.ts) in
// C, one N-API call per batch: the same two loads a JS lookup does, without
// the JIT's bounds checks.
//
//   root: uint16[2^24]  e <= 0x7fff: nextHop + 1 (0: no route)
//                       e >= 0x8000: (e & 0x7fff) is a 256-entry tbl8 group
//   tbl8: uint16[groups * 256], leaves only (nextHop + 1)
//
// dir16Open(root, tbl8) checks the two arrays once and returns a context
// (an External) that holds references to them, so the memory stays alive as
// long as the context does. The tables are SharedArrayBuffers written by the
// main thread: which copy a worker may read is the FIB mirror's protocol
// (src/runtime/fib-mirror.ts: a worker opens a copy once and reads it only
// while that generation is in force), exactly as for the JS view over the
// same memory. Nothing here caches an entry between calls.
//
// Bounds: the root index (address >> 8) is < 2^24 by construction and the
// root's length is checked at open. A group index comes from table memory
// that another thread writes, so it is clamped against the tbl8 length at
// each tbl8 load (a compare and a conditional move, taken by the 1.5-2% of
// lookups below a /24): a corrupted or half-written word reads "no route"
// instead of memory outside the table. Next hops are returned as numbers;
// the caller's next-hop table is indexed by JavaScript, which checks them.
#include <cstring>
#include <string>

#include "common.h"

namespace dpio {

namespace {

constexpr size_t kRootEntries = size_t(1) << 24;
constexpr size_t kGroup = 256;

struct Dir16Context {
  const uint16_t* root = nullptr;
  const uint16_t* tbl8 = nullptr;
  size_t tbl8Entries = 0;
  Napi::Reference<Napi::Value> rootRef;
  Napi::Reference<Napi::Value> tbl8Ref;
};

// The data of a Uint16Array argument and whether its buffer is a
// SharedArrayBuffer (napi_is_arraybuffer is false for one): only a shared
// buffer cannot be detached (transferred) while the context points into it.
struct U16Table {
  const uint16_t* data;
  size_t length;
};

U16Table SharedU16(const Napi::CallbackInfo& info, size_t i, const char* name) {
  napi_env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, info[i], &type, &length, &data, &buffer, nullptr) != napi_ok || type != napi_uint16_array) {
    ThrowType(info.Env(), std::string("dir16Open: ") + name + " must be a Uint16Array");
  }
  bool plain = true;
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok || plain) {
    ThrowType(info.Env(), std::string("dir16Open: ") + name + " must be a view of a SharedArrayBuffer (an ArrayBuffer could be detached under the lookup)");
  }
  return U16Table{static_cast<const uint16_t*>(data), length};
}

// dir16Open(root: Uint16Array, tbl8: Uint16Array): External context.
Napi::Value Dir16Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  U16Table root = SharedU16(info, 0, "root");
  U16Table tbl8 = SharedU16(info, 1, "tbl8");
  if (root.length != kRootEntries) ThrowRange(env, "dir16Open: root must have 2^24 entries, got " + std::to_string(root.length));
  if (tbl8.length % kGroup != 0) ThrowRange(env, "dir16Open: tbl8 must hold whole 256-entry groups, got " + std::to_string(tbl8.length) + " entries");
  auto* c = new Dir16Context();
  c->root = root.data;
  c->tbl8 = tbl8.data;
  c->tbl8Entries = tbl8.length;
  c->rootRef = Napi::Reference<Napi::Value>::New(info[0], 1);
  c->tbl8Ref = Napi::Reference<Napi::Value>::New(info[1], 1);
  return Napi::External<Dir16Context>::New(env, c, [](Napi::Env, Dir16Context* ctx) { delete ctx; });
}

// The loop of bench/route/dpdk-lpm-rounds.c's d16_lookup (1.35x rte_lpm there),
// one address per iteration: the out-of-order core overlaps the root misses of
// many iterations, and the rare (1.5-2%) tbl8 branch predicts well. Measured
// in `npm run bench -- lpm` (rounds alternating with the JS loop over the same
// tables, AMD EPYC VM, load 7-17): 0.69x (RouteViews) and 0.84x (1M) the JS
// loop's median; a two-pass form (a block of 64 root loads, then a prefetch
// and a read of its tbl8 lines) 0.79x and 0.76x. Neither beats the JS loop
// there: see src/route/fib-dir16-native.ts.
template <typename Out>
inline void LookupAll(const Dir16Context& c, const uint32_t* addrs, Out* out, uint32_t n) {
  const uint16_t* root = c.root;
  const uint16_t* tbl8 = c.tbl8;
  const size_t limit = c.tbl8Entries;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t a = addrs[k];
    uint32_t w = root[a >> 8];
    if (w & 0x8000) {
      size_t i = (size_t(w & 0x7fff) << 8) | (a & 255);
      w = i < limit ? tbl8[i] : 0;
    }
    out[k] = static_cast<Out>(int32_t(w) - 1);
  }
}

// dir16LookupBatch(ctx, addrs: Uint32Array, out: Int32Array | Uint32Array, n):
// out[i] = next hop of addrs[i] (-1, or 0xffffffff in a Uint32Array, for no
// route) for i < n. Throws when n exceeds either array.
Napi::Value Dir16LookupBatch(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Dir16Context* c = nullptr;
  if (napi_get_value_external(env, info[0], reinterpret_cast<void**>(&c)) != napi_ok || c == nullptr) {
    ThrowType(info.Env(), "dir16LookupBatch: ctx must be what dir16Open returned");
  }
  napi_typedarray_type at, ot;
  size_t alen = 0, olen = 0;
  void* adata = nullptr;
  void* odata = nullptr;
  if (napi_get_typedarray_info(env, info[1], &at, &alen, &adata, nullptr, nullptr) != napi_ok || at != napi_uint32_array) {
    ThrowType(info.Env(), "dir16LookupBatch: addrs must be a Uint32Array");
  }
  if (napi_get_typedarray_info(env, info[2], &ot, &olen, &odata, nullptr, nullptr) != napi_ok ||
      (ot != napi_int32_array && ot != napi_uint32_array)) {
    ThrowType(info.Env(), "dir16LookupBatch: out must be an Int32Array or a Uint32Array");
  }
  int32_t n = 0;
  if (napi_get_value_int32(env, info[3], &n) != napi_ok || n < 0) ThrowType(info.Env(), "dir16LookupBatch: n must be a non-negative number");
  if (size_t(n) > alen || size_t(n) > olen) ThrowRange(info.Env(), "dir16LookupBatch: n exceeds addrs or out");
  const uint32_t* a = static_cast<const uint32_t*>(adata);
  uint32_t* o = static_cast<uint32_t*>(odata);  // -1 and 0xffffffff are the same bits
  LookupAll(*c, a, o, uint32_t(n));
  return Napi::Value();
}

}  // namespace

void InitLpmDir16(Napi::Env env, Napi::Object exports) {
  exports.Set("dir16Open", Napi::Function::New(env, Dir16Open, "dir16Open"));
  exports.Set("dir16LookupBatch", Napi::Function::New(env, Dir16LookupBatch, "dir16LookupBatch"));
}

}  // namespace dpio

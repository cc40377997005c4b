// lpmBatchLookup: the FIB's batch lookup (src/route/fib-view.ts) in C, over
// the same Int32Arrays the JavaScript builds and updates (no copy, no second
// table). lpmBatchLookup(root, level2, level3) returns a function
// (addrs, out, n) bound to those three tables, so a call costs two typed
// array checks and no table lookups of its own; the function holds strong
// references to the tables, so their memory lives as long as it does.
//
// Why in C (issue 13): with one load per lookup on both sides, what kept the
// JavaScript loop behind rte_lpm was the number of loads in flight. Here the
// walk goes level by level over a group of up to kGroup addresses: all the
// root loads of the group issue back to back (no branch between them), then
// the middle-level loads of the group, then the last level's. Loads of one
// pass do not depend on each other, so the CPU keeps as many cache misses in
// flight as it has fill buffers, as rte_lpm_lookupx4 does for four.
//
// Entry word (fib-view.ts): e < 0 is a child ply starting at ~e in the next
// level; e >= 0 a leaf whose low 24 bits are nextHop + 1. Indexes into the
// middle and last levels are clamped to the table, so tables a bug corrupted
// give wrong next hops, never a read outside the buffer.
//
// Thread safety: the function reads the tables of one FIB generation. The
// control thread writes a copy only while no worker has it in force
// (src/runtime/fib-mirror.ts), and a worker swaps FibViews (each with its own
// bound function) between two batches, so no batch sees half a change.
#include <cstdint>
#include <string>

#include "common.h"

namespace dpio {

namespace {

constexpr uint32_t kRootEntries = 1u << 20;
constexpr uint32_t kGroup = 64;

struct LpmTables {
  const int32_t* root = nullptr;
  const int32_t* level2 = nullptr;
  const int32_t* level3 = nullptr;
  uint32_t level2Len = 0;
  uint32_t level3Len = 0;
  napi_ref refs[3] = {nullptr, nullptr, nullptr};
};

inline uint32_t Clamp(uint32_t i, uint32_t len) {
  return i < len ? i : 0;
}

// One group, level by level. No branch on e < 0: a leaf reads entry 0 of the
// next level (cached) and keeps its word, so no mispredicted branch throws
// away the loads issued after it (measured against the same passes with the
// branch: 67-80 vs 53-64 M/s best rounds over the RouteViews addresses in one
// call per 2^20 addresses, machine loaded by other jobs).
template <typename Out>
void Walk(const LpmTables& t, const uint32_t* addrs, Out* out, uint32_t n) {
  int32_t e[kGroup];
  for (uint32_t k = 0; k < n; k++) e[k] = t.root[addrs[k] >> 12];
  for (uint32_t k = 0; k < n; k++) {
    int32_t x = e[k];
    uint32_t i = x < 0 ? Clamp(~uint32_t(x) | ((addrs[k] >> 8) & 15), t.level2Len) : 0;
    int32_t y = t.level2[i];
    e[k] = x < 0 ? y : x;
  }
  for (uint32_t k = 0; k < n; k++) {
    int32_t x = e[k];
    uint32_t i = x < 0 ? Clamp(~uint32_t(x) | (addrs[k] & 255), t.level3Len) : 0;
    int32_t y = t.level3[i];
    e[k] = x < 0 ? y : x;
  }
  for (uint32_t k = 0; k < n; k++) out[k] = Out((e[k] & 0xffffff) - 1);
}

// The walk of a whole batch, group by group.
template <typename Out>
void LookupAll(const LpmTables& t, const uint32_t* addrs, Out* out, uint32_t n) {
  for (uint32_t i = 0; i < n; i += kGroup) Walk(t, addrs + i, out + i, n - i < kGroup ? n - i : kGroup);
}

// The bound function: (addrs: Uint32Array, out: Int32Array | Uint32Array, n) => undefined.
napi_value LookupBatch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  const LpmTables& t = *static_cast<LpmTables*>(data);
  napi_typedarray_type at, ot;
  size_t alen = 0, olen = 0;
  void* a = nullptr;
  void* o = nullptr;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &at, &alen, &a, nullptr, nullptr) != napi_ok || at != napi_uint32_array) {
    napi_throw_type_error(env, nullptr, "lookupBatch: addrs must be a Uint32Array");
    return nullptr;
  }
  if (napi_get_typedarray_info(env, argv[1], &ot, &olen, &o, nullptr, nullptr) != napi_ok ||
      (ot != napi_int32_array && ot != napi_uint32_array)) {
    napi_throw_type_error(env, nullptr, "lookupBatch: out must be an Int32Array or a Uint32Array");
    return nullptr;
  }
  int32_t n = 0;
  if (napi_get_value_int32(env, argv[2], &n) != napi_ok) {
    napi_throw_type_error(env, nullptr, "lookupBatch: n must be a number");
    return nullptr;
  }
  if (n < 0 || size_t(n) > alen || size_t(n) > olen) {
    napi_throw_range_error(env, nullptr, "lookupBatch: n must be within 0..min(addrs.length, out.length)");
    return nullptr;
  }
  // An Int32Array and a Uint32Array hold the same bits: NO_ROUTE (-1) reads back as 0xffffffff.
  LookupAll(t, static_cast<const uint32_t*>(a), static_cast<int32_t*>(o), uint32_t(n));
  return nullptr;
}

void FreeTables(napi_env env, void* data, void*) {
  auto* t = static_cast<LpmTables*>(data);
  for (napi_ref r : t->refs) {
    if (r != nullptr) napi_delete_reference(env, r);
  }
  delete t;
}

// lpmBatchLookup(root, level2, level3): the batch lookup bound to these tables.
Napi::Value LpmBatchLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<int32_t> root = ArgI32Array(info, 0, "root");
  Span<int32_t> level2 = ArgI32Array(info, 1, "level2");
  Span<int32_t> level3 = ArgI32Array(info, 2, "level3");
  if (root.length != kRootEntries) ThrowRange(env, "lpmBatchLookup: root must have " + std::to_string(kRootEntries) + " entries");
  if (level2.length == 0 || level3.length == 0 || level2.length > UINT32_MAX || level3.length > UINT32_MAX) {
    ThrowRange(env, "lpmBatchLookup: level2 and level3 must have 1..2^32-1 entries");
  }
  auto* t = new LpmTables();
  t->root = root.data;
  t->level2 = level2.data;
  t->level3 = level3.data;
  t->level2Len = uint32_t(level2.length);
  t->level3Len = uint32_t(level3.length);
  for (int k = 0; k < 3; k++) napi_create_reference(env, info[k], 1, &t->refs[k]);
  napi_value fn;
  if (napi_create_function(env, "lookupBatch", NAPI_AUTO_LENGTH, LookupBatch, t, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, t, FreeTables, nullptr, nullptr) != napi_ok) {
    FreeTables(env, t, nullptr);
    throw Napi::Error::New(env, "lpmBatchLookup: cannot create the function");
  }
  return Napi::Value(env, fn);
}

}  // namespace

void InitLpmLookup(Napi::Env env, Napi::Object exports) {
  exports.Set("lpmBatchLookup", Napi::Function::New(env, LpmBatchLookup, "lpmBatchLookup"));
}

}  // namespace dpio

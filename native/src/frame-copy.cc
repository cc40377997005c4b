// copyFrames: copies a burst of frames from one buffer into batch slots in
// one call, for feeds that replay frames from memory (the pipeline
// benchmark). In JavaScript each frame costs a TypedArray.prototype.set with
// its argument checks; here a burst is one call and a memcpy per frame, so
// what the benchmark measures is the pipeline, not the feed.
#include <cstring>
#include <string>

#include "common.h"

namespace dpio {

namespace {

// copyFrames(arena, starts, first, src, srcOffsets, lengths, count): for k in
// [0, count), copies src[srcOffsets[k], + lengths[k]) to arena[starts[first + k]...).
// Every range is checked before anything is copied; returns count.
Napi::Value CopyFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Span<uint8_t> arena = ArgBytes(info, 0, "arena");
  Span<uint32_t> starts = ArgU32Array(info, 1, "starts");
  uint32_t first = ArgUint(info, 2, "first");
  Span<uint8_t> src = ArgBytes(info, 3, "src");
  Span<uint32_t> srcOffsets = ArgU32Array(info, 4, "srcOffsets");
  Span<uint32_t> lengths = ArgU32Array(info, 5, "lengths");
  uint32_t count = ArgUint(info, 6, "count");
  if (uint64_t(first) + count > starts.length) ThrowRange(env, "copyFrames: first + count exceeds starts");
  if (count > srcOffsets.length || count > lengths.length) ThrowRange(env, "copyFrames: count exceeds srcOffsets/lengths");
  for (uint32_t k = 0; k < count; k++) {
    uint64_t len = lengths.data[k];
    if (uint64_t(srcOffsets.data[k]) + len > src.length) ThrowRange(env, "copyFrames: frame " + std::to_string(k) + " lies outside src");
    if (uint64_t(starts.data[first + k]) + len > arena.length) ThrowRange(env, "copyFrames: slot " + std::to_string(first + k) + " lies outside the arena");
  }
  for (uint32_t k = 0; k < count; k++) std::memcpy(arena.data + starts.data[first + k], src.data + srcOffsets.data[k], lengths.data[k]);
  return Napi::Number::New(env, count);
}

}  // namespace

void InitFrameCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyFrames", Napi::Function::New(env, CopyFrames, "copyFrames"));
}

}  // namespace dpio

// Advisory file locks (flock) for "one dataplane per port": the lock belongs
// to the open file, so the kernel drops it when the last fd of that file
// closes, which includes the process exiting or crashing. A lock file left by
// a dead process therefore never blocks anyone.
#include <cerrno>
#include <sys/file.h>

#include "common.h"

namespace dpio {

namespace {

// fdTryLock(fd) -> true when this open file now holds an exclusive lock,
// false when another open file holds one (never blocks).
Napi::Value FdTryLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd");
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
    int e = errno;
    if (e == EINTR) continue;
    if (e == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowErrno(env, e, "flock", "fdTryLock(fd " + std::to_string(fd) + ")", CauseOf(e, ""));
  }
}

}  // namespace

void InitFlock(Napi::Env env, Napi::Object exports) {
  exports.Set("fdTryLock", Napi::Function::New(env, FdTryLock, "fdTryLock"));
}

}  // namespace dpio

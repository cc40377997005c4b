// Real-time scheduling for a packet worker's thread (`run --realtime N`).
//
// On shared cores a worker that sleeps between frames is woken by the
// kernel as soon as a frame arrives, but then waits in the run queue behind
// whatever else runs there: milliseconds on a loaded machine, which is the
// tail of the ping RTT through the dataplane (the kernel forwards in
// softirq context, ahead of every task). SCHED_FIFO runs the worker at once
// on wake-up. It sleeps when idle (the spin window is bounded), so it takes
// a core only while frames keep coming; the kernel's RT throttling
// (sched_rt_runtime_us) still leaves 5% to the others.
//
// sched_setscheduler(0, ...) on Linux applies to the calling thread only,
// so the worker calls it itself.
//
// threadCpuTimeNs() is the calling thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID), exact to the nanosecond: the clock a C
// benchmark peer times its rounds with. /proc/thread-self/schedstat, the
// only per-thread CPU time Node 20 offers without it, is brought up to date
// only at a scheduler tick or a context switch (every 4 ms at HZ=250), which
// is as long as a whole benchmark round (bench/route/lookup-worker.ts).
#include <cerrno>
#include <sched.h>
#include <time.h>

#include "common.h"

namespace dpio {

namespace {

// threadSetRealtime(priority): SCHED_FIFO at priority 1..99 for the calling
// thread; 0 puts it back to SCHED_OTHER.
Napi::Value ThreadSetRealtime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t prio = ArgInt(info, 0, "priority");
  if (prio < 0 || prio > 99) ThrowRange(env, "priority must be 0 (normal) or 1..99 (SCHED_FIFO)");
  struct sched_param sp;
  sp.sched_priority = prio;
  if (sched_setscheduler(0, prio == 0 ? SCHED_OTHER : SCHED_FIFO, &sp) < 0) {
    int e = errno;
    if (e == EPERM) {
      ThrowErrno(env, e, "sched_setscheduler", "threadSetRealtime(" + std::to_string(prio) + ")",
                 "needs CAP_SYS_NICE (run as root; in docker --cap-add SYS_NICE) or an RLIMIT_RTPRIO of at least " +
                     std::to_string(prio));
    }
    ThrowErrno(env, e, "sched_setscheduler", "threadSetRealtime(" + std::to_string(prio) + ")", CauseOf(e, ""));
  }
  return env.Undefined();
}

// threadCpuTimeNs(): the calling thread's CPU time in ns, as a double.
Napi::Value ThreadCpuTimeNs(const Napi::CallbackInfo& info) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) ThrowErrno(info.Env(), errno, "clock_gettime", "threadCpuTimeNs()", CauseOf(errno, ""));
  return Napi::Number::New(info.Env(), double(ts.tv_sec) * 1e9 + double(ts.tv_nsec));
}

}  // namespace

void InitSched(Napi::Env env, Napi::Object exports) {
  exports.Set("threadSetRealtime", Napi::Function::New(env, ThreadSetRealtime, "threadSetRealtime"));
  exports.Set("threadCpuTimeNs", Napi::Function::New(env, ThreadCpuTimeNs, "threadCpuTimeNs"));
}

}  // namespace dpio

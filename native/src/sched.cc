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
// threadSetAffinity(cpus) pins the calling thread to those CPUs (`run
// --cpus LIST`), as DPDK's -l and VPP's corelist-workers pin theirs.
// sched_setaffinity(0, ...) is per thread too. The kernel quietly drops
// CPUs of the mask outside the thread's cpuset (EINVAL only when none is
// left), so the call reads the mask back and, if a CPU asked for is not in
// it, puts the old mask back and fails naming it: a worker is never
// silently left on other CPUs than the ones asked for.
//
// threadGetAffinity() is the calling thread's mask, as a sorted list (on
// the main thread at start: the CPUs the process may use).
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

#include <string>
#include <vector>

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

// CPU numbers the masks below can hold (sched_getaffinity fails with EINVAL
// when the kernel's nr_cpu_ids is larger than the mask; 4096 is the
// largest NR_CPUS of the usual distribution kernels).
constexpr int kMaxCpus = 4096;

struct CpuMask {
  cpu_set_t* set;
  size_t size;
  CpuMask() : set(CPU_ALLOC(kMaxCpus)), size(CPU_ALLOC_SIZE(kMaxCpus)) { CPU_ZERO_S(size, set); }
  ~CpuMask() { CPU_FREE(set); }
  CpuMask(const CpuMask&) = delete;
  CpuMask& operator=(const CpuMask&) = delete;
  bool Has(int cpu) const { return CPU_ISSET_S(cpu, size, set); }
};

std::string JoinCpus(const std::vector<int>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size(); i++) s += (i > 0 ? "," : "") + std::to_string(cpus[i]);
  return s;
}

// "CPU 5 is not" / "CPUs 5,6 are not" one the thread may run on.
std::string NotAllowed(const std::vector<int>& cpus) {
  return (cpus.size() == 1 ? "CPU " + JoinCpus(cpus) + " is not one" : "CPUs " + JoinCpus(cpus) + " are not ones") +
         " this thread may run on (offline, absent, or outside its cpuset)";
}

void GetAffinity(Napi::Env env, CpuMask& mask, const std::string& what) {
  if (sched_getaffinity(0, mask.size, mask.set) < 0) ThrowErrno(env, errno, "sched_getaffinity", what, CauseOf(errno, ""));
}

// threadSetAffinity(cpus): the calling thread runs only on these CPUs.
Napi::Value ThreadSetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) ThrowType(env, "cpus must be an array of CPU numbers");
  Napi::Array arr = info[0].As<Napi::Array>();
  if (arr.Length() == 0) ThrowRange(env, "cpus must name at least one CPU");
  std::vector<int> cpus;
  CpuMask want;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d < kMaxCpus && d == static_cast<double>(static_cast<int>(d)))) {
      ThrowRange(env, "cpus[" + std::to_string(i) + "] must be a CPU number from 0 to " + std::to_string(kMaxCpus - 1));
    }
    cpus.push_back(static_cast<int>(d));
    CPU_SET_S(static_cast<int>(d), want.size, want.set);
  }
  const std::string what = "threadSetAffinity([" + JoinCpus(cpus) + "])";
  CpuMask before;
  GetAffinity(env, before, what);
  if (sched_setaffinity(0, want.size, want.set) < 0) {
    int e = errno;
    ThrowErrno(env, e, "sched_setaffinity", what,
               e == EINVAL ? NotAllowed(cpus) : CauseOf(e, ""));
  }
  CpuMask got;
  GetAffinity(env, got, what);
  std::vector<int> missing;
  for (int c : cpus) {
    if (!got.Has(c)) missing.push_back(c);
  }
  if (!missing.empty()) {
    sched_setaffinity(0, before.size, before.set);
    ThrowErrno(env, EINVAL, "sched_setaffinity", what, NotAllowed(missing));
  }
  return env.Undefined();
}

// threadGetAffinity(): the CPUs the calling thread may run on, ascending.
Napi::Value ThreadGetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CpuMask mask;
  GetAffinity(env, mask, "threadGetAffinity()");
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int c = 0; c < kMaxCpus; c++) {
    if (mask.Has(c)) out.Set(n++, Napi::Number::New(env, c));
  }
  return out;
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
  exports.Set("threadSetAffinity", Napi::Function::New(env, ThreadSetAffinity, "threadSetAffinity"));
  exports.Set("threadGetAffinity", Napi::Function::New(env, ThreadGetAffinity, "threadGetAffinity"));
  exports.Set("threadCpuTimeNs", Napi::Function::New(env, ThreadCpuTimeNs, "threadCpuTimeNs"));
}

}  // namespace dpio

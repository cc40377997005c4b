// `run --cpus LIST`: the CPU each packet worker is pinned to, as DPDK's -l
// and VPP's `cpu { corelist-workers }` pin theirs. Worker i runs on the i-th
// CPU of the list, alone: the scheduler can then no longer move it onto the
// CPU of whatever woke it (a generator, the kernel side of a veth), and a
// pinned worker keeps its caches warm. Every check of the option is here; the
// worker itself only calls threadSetAffinity (native/src/sched.cc), which
// fails if the kernel would not give it exactly that CPU.

/** The largest CPU number a list may name (sched.cc's masks hold 4096 CPUs). */
export const MAX_CPU = 4095;

/** A CPU list that cannot pin the workers, in words that name the option and why. */
export class WorkerCpusError extends Error {
  override name = 'WorkerCpusError';
}

/**
 * `1`, `0,1`, `2-5`, `4,0-2` (the list syntax of taskset -c and
 * /proc/PID/status's Cpus_allowed_list) as CPU numbers in the order written,
 * ranges ascending. A CPU listed twice is refused: two workers on one CPU is
 * not what a pin list is for.
 */
export function parseCpuList(text: string, option = '--cpus'): number[] {
  const bad = (why: string, item?: string) => new WorkerCpusError(`${option}: ${why}${item === text.trim() ? '' : ` in '${text}'`} (a list like 1, 0,1 or 2-5)`);
  const out: number[] = [];
  const seen = new Set<number>();
  const items = text.split(',');
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') throw bad(text.trim() === '' ? 'no CPU' : 'an empty item', text.trim() === '' ? '' : undefined);
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (m === null) throw bad(`'${item}' is not a CPU number or a range N-M`, item);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > MAX_CPU || to > MAX_CPU) throw bad(`'${item}': CPU numbers go up to ${MAX_CPU}`, item);
    if (to < from) throw bad(`'${item}' is a range that ends before it starts`, item);
    for (let c = from; c <= to; c++) {
      if (seen.has(c)) throw bad(`CPU ${c} is listed twice`);
      seen.add(c);
      out.push(c);
    }
  }
  return out;
}

/** `0-3,5` for [0, 1, 2, 3, 5]: runs of consecutive CPUs as ranges, in the given order. */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : String(cpus[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The CPU of each of `workers` workers: the first `workers` CPUs of the
 * list. Refuses a list with fewer CPUs than workers, and CPUs the process
 * may not run on (`allowed`: the main thread's affinity at start, what
 * os.availableParallelism() counts), naming them.
 */
export function workerCpus(list: readonly number[], workers: number, allowed: readonly number[], option = '--cpus'): number[] {
  if (list.length < workers) {
    throw new WorkerCpusError(`${option}: ${list.length} CPU${list.length === 1 ? '' : 's'} (${formatCpuList(list)}) for ${workers} workers: each worker needs a CPU of its own (list more CPUs, or --workers ${list.length})`);
  }
  const ok = new Set(allowed);
  const outside = list.filter((c) => !ok.has(c));
  if (outside.length > 0) {
    throw new WorkerCpusError(
      `${option}: ${outside.length === 1 ? `CPU ${outside[0]} is not one` : `CPUs ${formatCpuList(outside)} are not ones`} this process may run on (absent, offline, or outside its cpuset or taskset mask); it may use ${formatCpuList(allowed)}`,
    );
  }
  return list.slice(0, workers);
}

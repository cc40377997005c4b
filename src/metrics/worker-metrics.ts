// How busy each packet worker is: seconds spent processing rounds that
// received frames (RunLoop busyTime). rate() of it is the worker's busy
// share (0-1); polling and sleeping while idle are not counted.
import { counterFamily, type FamilyContext, type Labels } from './families.js';

export function registerWorkerMetrics(ctx: FamilyContext, workers: number): void {
  const labels: Labels[] = Array.from({ length: workers }, (_, w) => ({ worker: String(w) }));
  counterFamily(ctx, 'dataplane_worker_busy_seconds_total', 'Seconds the packet worker spent processing frames; rate() is its busy share.', ['worker'], (r, emit) => {
    r.busySeconds.forEach((s, w) => emit(labels[w] ?? { worker: String(w) }, s));
  });
}

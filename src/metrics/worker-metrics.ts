// How busy each packet worker is: seconds spent processing rounds that
// received frames (RunLoop busyTime). rate() of it is the worker's busy
// share (0-1); polling and sleeping while idle are not counted.
import { counterFamily, stableLabels, type FamilyContext } from './families.js';

export function registerWorkerMetrics(ctx: FamilyContext): void {
  const labels = stableLabels(['worker']);
  counterFamily(ctx, 'dataplane_worker_busy_seconds_total', 'Seconds the packet worker spent processing frames; rate() is its busy share.', ['worker'], (r, emit) => {
    r.busySeconds.forEach((s, w) => emit(labels(String(w)), s));
  });
}

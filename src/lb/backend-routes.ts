// Per backend id, the next hop of its route, remembered while the FIB is the
// same object (a route change publishes a new FIB, which empties the cache).
// lb-forward and the fast path's flow-encap both send to backends by their
// routes and look each one up once per FIB, not once per packet.

export class BackendRoutes {
  /** Next hop per backend id (-1: not looked up), for the FIB `by`. */
  private of = new Int32Array(0);
  private by: unknown = undefined;

  /** The remembered next hop of `backend` under `fib`, or -1. */
  get(fib: unknown, backend: number): number {
    return backend < this.of.length && fib === this.by ? this.of[backend] : -1;
  }

  /** Remembers `nh` for `backend` under `fib`; `capacity`: the backend ids in use (the array is sized once for them). */
  remember(fib: unknown, backend: number, nh: number, capacity: number): void {
    if (fib !== this.by || backend >= this.of.length) {
      const n = Math.max(64, capacity, backend + 1);
      if (this.of.length < n) this.of = new Int32Array(n);
      this.of.fill(-1);
      this.by = fib;
    }
    this.of[backend] = nh;
  }
}

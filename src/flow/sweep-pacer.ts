// SweepPacer: how many records the owner's sweep (FlowTable.sweep) looks at
// per batch, by time rather than by batch.
//
// To end every flow within `lapMs` of its timeout, the sweep must look at
// the ids the worker has used (its slice up to the first never-used id)
// once per lapMs: used / lapMs records per ms, whatever the packet rate.
// A fixed count per batch did that work per batch instead: at 4 Mpps (16
// batches per ms) 256 records a batch walked a 1M-flow slice 4 times a
// second, one record per packet (about 6 ns of an established NAT packet's
// 143 on the AMD EPYC), and at low rates it walked slower.
//
// The budget is credit that time earns (at most one lap, so a long pause
// or a clock jump does not leave a backlog), taken a batch at a time and
// never more than `maxPerCall` (the old fixed count: a batch's pause stays
// bounded). Two floors keep the old behaviour where time alone would not:
//   - a sweep that ended flows gets `maxPerCall` next time: expiry under
//     churn frees ids as fast as before (new flows wait for them);
//   - every call looks at `minPerCall` records at least: a worker whose
//     clock hardly moves (a frozen test clock, a replay of one instant) still
//     ends what the control plane asked to end.
export class SweepPacer {
  private lastMs = Number.NaN;
  private credit = 0;
  private productive = false;

  constructor(
    readonly lapMs: number,
    readonly minPerCall: number,
    readonly maxPerCall: number,
  ) {}

  /** Records to look at now (nowMs: the batch's clock; used: the ids the worker's slice has used). */
  budget(nowMs: number, used: number): number {
    const elapsed = nowMs - this.lastMs;
    this.lastMs = nowMs;
    let credit = this.credit;
    if (elapsed > 0) credit += (elapsed * used) / this.lapMs;
    if (credit > used) credit = used;
    let n = Math.floor(credit);
    if (n < this.minPerCall) n = this.minPerCall;
    if (this.productive && n < this.maxPerCall) n = this.maxPerCall;
    if (n > this.maxPerCall) n = this.maxPerCall;
    credit -= n;
    this.credit = credit > 0 ? credit : 0;
    return n;
  }

  /** What the sweep given budget() ended: a productive sweep gets the full count next time. */
  ended(count: number): void {
    this.productive = count > 0;
  }
}

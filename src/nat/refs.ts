// Held entries: NAT bindings and filter permissions live in the flow table
// beside the flows, and stay while some flow holds them. The count of holders
// is in the entry's state word above the 6 bits of state (FlowTable), so one
// CAS moves count and state together:
//
//   count > 0   state HELD    (never expires)
//   count = 0   state UNHELD  (expires after the profile's binding timeout)
//
// Any worker takes or drops a hold (the flows of one binding are owned by
// different workers); only the entry's owner ends it, by its sweep, which
// claims the state word by CAS first (CLAIMED_STATE). So a hold taken at the
// same moment either wins (the entry stays, HELD) or sees the claim and fails:
// the caller then treats the binding as gone. A count never reaches an
// entry that was ended and reused.
//
// The control plane deletes a held entry by moving HELD to HELD_DYING (the
// count kept): it takes no new holds (a new flow treats it as gone, as when
// claimed), and its last unhold makes it DYING, which the owner's next sweep
// ends at once, rather than UNHELD. An unheld entry goes straight to DYING.
import { FlowState } from '../conntrack/timeouts.js';
import { CAS_DONE, CAS_MOVED, type FlowTable } from '../flow/flow-table.js';

const STATE_BITS = 6;
const STATE_MASK = (1 << STATE_BITS) - 1;

/** The state word of a new held entry: one holder. */
export const HELD_ONCE = (1 << STATE_BITS) | FlowState.HELD;

/** Holders of an entry. */
export function holders(table: FlowTable, id: number): number {
  return table.state(id) >>> STATE_BITS;
}

/** Takes a hold on entry `id`; false when its owner is ending it (treat it as absent). */
export function hold(table: FlowTable, id: number): boolean {
  for (;;) {
    const s = table.state(id);
    const st = s & STATE_MASK;
    // Only live holdable entries: not claimed, not deleted (DYING, HELD_DYING), not a flow.
    if (st !== FlowState.HELD && st !== FlowState.UNHELD) return false;
    const count = (s >>> STATE_BITS) + 1;
    if (table.casState(id, s, (count << STATE_BITS) | FlowState.HELD)) return true;
  }
}

/**
 * Drops a hold. The last one marks the entry UNHELD and seen now, so it lasts
 * the binding timeout from here (the touch comes first: a sweep that sees
 * UNHELD sees the new time too).
 */
export function unhold(table: FlowTable, id: number, nowMs: number): void {
  for (;;) {
    const s = table.state(id);
    const count = s >>> STATE_BITS;
    const st = s & STATE_MASK;
    if (count === 0 || (st !== FlowState.HELD && st !== FlowState.HELD_DYING)) return; // not held: nothing to drop
    if (count === 1 && st === FlowState.HELD) table.touch(id, nowMs, 0);
    const next = count > 1 ? ((count - 1) << STATE_BITS) | st : st === FlowState.HELD ? FlowState.UNHELD : FlowState.DYING;
    if (table.casState(id, s, next)) return;
  }
}

/**
 * Marks a held entry deleted (control plane): HELD becomes HELD_DYING with
 * its count, UNHELD becomes DYING. `generation` is the entry's as the caller
 * read it: an id that went to another entry meanwhile is left alone. False
 * when the entry was neither (already deleted, being ended) or changed.
 */
export function doom(table: FlowTable, id: number, generation: number): boolean {
  for (let attempt = 0; attempt < 16; attempt++) {
    const s = table.state(id);
    const st = s & STATE_MASK;
    let next: number;
    if (st === FlowState.HELD) next = (s & ~STATE_MASK) | FlowState.HELD_DYING;
    else if (st === FlowState.UNHELD) next = FlowState.DYING;
    else return false;
    const r = table.casStateOfGeneration(id, generation, s, next);
    if (r !== CAS_MOVED) return r === CAS_DONE;
  }
  return false;
}

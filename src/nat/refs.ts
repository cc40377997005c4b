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
import { FlowState } from '../conntrack/timeouts.js';
import { CLAIMED_STATE, type FlowTable } from '../flow/flow-table.js';

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
    if ((s & STATE_MASK) === CLAIMED_STATE || (s & STATE_MASK) < FlowState.HELD) return false;
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
    if (count === 0 || (s & STATE_MASK) !== FlowState.HELD) return; // not held: nothing to drop
    if (count === 1) table.touch(id, nowMs, 0);
    const next = count === 1 ? FlowState.UNHELD : ((count - 1) << STATE_BITS) | FlowState.HELD;
    if (table.casState(id, s, next)) return;
  }
}

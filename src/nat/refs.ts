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
// The control plane deletes an entry by a request naming its generation
// (FlowTable.requestEnd), never by changing its state word itself: a CAS
// there could land on the entry that reused the id. A doomed entry takes no
// new holds (a new flow treats it as gone, as when claimed), and its owner's
// sweep ends it once no flow holds it: at once if unheld, else after its
// last unhold (which leaves it UNHELD). A hold that races with the request
// is taken back when the hold sees the request after its CAS; one that came
// first is a holder the deleter finds (mapping-dump.ts).
import { FlowState } from '../conntrack/timeouts.js';
import { CAS_DONE, type FlowTable } from '../flow/flow-table.js';

const STATE_BITS = 6;
const STATE_MASK = (1 << STATE_BITS) - 1;

/** The state word of a new held entry: one holder. */
export const HELD_ONCE = (1 << STATE_BITS) | FlowState.HELD;

/** Holders of an entry. */
export function holders(table: FlowTable, id: number): number {
  return table.state(id) >>> STATE_BITS;
}

/** Takes a hold on entry `id`; false when its owner is ending it or it was deleted (treat it as absent). */
export function hold(table: FlowTable, id: number): boolean {
  for (;;) {
    const s = table.state(id);
    const st = s & STATE_MASK;
    // Only live holdable entries: not claimed, not deleted (DYING, HELD_DYING), not a flow.
    if (st !== FlowState.HELD && st !== FlowState.UNHELD) return false;
    const count = (s >>> STATE_BITS) + 1;
    if (table.casState(id, s, (count << STATE_BITS) | FlowState.HELD)) {
      // Checked after the CAS (a full barrier): a deletion requested before
      // it is seen here and the hold is taken back; one requested after it
      // finds this holder (mapping-dump.ts looks for the flows holding it).
      if (!table.isDoomed(id)) return true;
      letGo(table, id);
      return false;
    }
  }
}

/** Takes back a hold on a doomed entry (no touch: the sweep ends it when the count reaches 0). */
function letGo(table: FlowTable, id: number): void {
  for (;;) {
    const s = table.state(id);
    const count = s >>> STATE_BITS;
    const next = count > 1 ? ((count - 1) << STATE_BITS) | (s & STATE_MASK) : FlowState.UNHELD;
    if (table.casState(id, s, next)) return;
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
 * Marks a held entry deleted (control plane): it takes no new holds and its
 * owner's sweep ends it when no flow holds it. `generation` is the entry's
 * as the caller read it: an id that went to another entry meanwhile is left
 * alone. False when the entry was not live (already deleted, being ended,
 * or gone).
 */
export function doom(table: FlowTable, id: number, generation: number): boolean {
  if (table.isDoomedGeneration(id, generation)) return false;
  const st = table.state(id) & STATE_MASK;
  if (st !== FlowState.HELD && st !== FlowState.UNHELD) return false;
  return table.requestEnd(id, generation) === CAS_DONE;
}

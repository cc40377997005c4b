// Every requirement the conformance report runs, by RFC.
import type { Requirement, Rfc } from './requirement.js';
import { RFC1812 } from './rfc1812.js';
import { RFC4787 } from './rfc4787.js';
import { RFC5382 } from './rfc5382.js';
import { RFC5508 } from './rfc5508.js';

export const CATALOGUE: readonly Requirement[] = [...RFC1812, ...RFC4787, ...RFC5382, ...RFC5508];

/** The requirements of these RFCs (all when none are named). */
export function select(rfcs: readonly Rfc[] = []): Requirement[] {
  return CATALOGUE.filter((r) => rfcs.length === 0 || rfcs.includes(r.rfc));
}

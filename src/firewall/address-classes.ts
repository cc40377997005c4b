// Address classes of one field (source or destination): an LPM from address
// to class, so the per-packet cost is one trie walk whatever the rule count.
//
// Why an LPM answers it. Take every prefix that appears in any rule's include
// or except list for this field (plus 0/0 and the endpoints' /32s). For an
// address a, let P be the most specific of those prefixes containing a. The
// prefixes of the set that contain a are exactly P and its ancestors in the
// set, so whether a is in rule r's include (some include prefix contains a)
// and not in its except is decided by P alone. The class of P is therefore
// computed once, walking the prefixes as a tree (sorted by address then
// length, a parent comes before its descendants): a node's include and except
// sets are its parent's plus its own, and its class is include AND NOT except.
//
// The endpoint bit is folded into the value (class id << 1 | isEndpoint):
// endpoints are /32 nodes of their own, so "is either side an endpoint" costs
// no extra lookup. 0/0 is always a node, so a lookup never misses.
// A prefix whose value equals its parent's is not inserted into the LPM: its
// addresses get the parent's value, which is the same.
import { Lpm, MAX_NEXT_HOP, type FibView } from '../route/lpm.js';
import type { AddressMatch, ClassifierRule } from './plan.js';
import { RuleSets, setBit } from './rule-sets.js';

interface PrefixNode {
  addr: number;
  len: number;
  include: number[];
  except: number[];
  endpoint: boolean;
}

export interface AddressClasses {
  /** address -> (class id << 1) | isEndpoint. */
  readonly view: FibView;
  readonly classes: RuleSets;
  /** Prefixes in the trie (those that changed the value of their parent). */
  readonly prefixes: number;
  readonly lpmBytes: number;
}

function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function contains(parent: PrefixNode, child: PrefixNode): boolean {
  return parent.len <= child.len && ((child.addr & mask(parent.len)) >>> 0) === parent.addr;
}

/**
 * Builds the classes of `field` for rules given as (rule, bit in ruleOrder).
 * Prefixes with host bits set are taken without them, as plan.ts's
 * cidrContains reads them.
 */
export function buildAddressClasses(rules: readonly ClassifierRule[], bitOf: Int32Array, field: 'src' | 'dst', endpoints: readonly number[]): AddressClasses {
  const nodes = new Map<number, PrefixNode>();
  const node = (addr: number, len: number): PrefixNode => {
    const a = (addr & mask(len)) >>> 0;
    const key = len * 2 ** 32 + a;
    let n = nodes.get(key);
    if (n === undefined) {
      n = { addr: a, len, include: [], except: [], endpoint: false };
      nodes.set(key, n);
    }
    return n;
  };
  node(0, 0);
  for (let i = 0; i < rules.length; i++) {
    const m: AddressMatch = rules[i][field];
    for (const c of m.include) node(c.addr, c.len).include.push(bitOf[i]);
    for (const c of m.except) node(c.addr, c.len).except.push(bitOf[i]);
  }
  for (const e of endpoints) node(e >>> 0, 32).endpoint = true;

  const sorted = [...nodes.values()].sort((x, y) => x.addr - y.addr || x.len - y.len);
  const classes = new RuleSets(rules.length);
  const w = classes.words;
  // Per tree depth: the cumulative include and except sets and the value of the node there.
  const incl: Uint32Array[] = [];
  const excl: Uint32Array[] = [];
  const stack: PrefixNode[] = [];
  const values: number[] = [];
  const cls = new Uint32Array(w);
  const lpm = new Lpm({ expectedPrefixes: sorted.length });
  let inserted = 0;
  for (const n of sorted) {
    while (stack.length > 0 && !contains(stack[stack.length - 1], n)) stack.pop();
    const depth = stack.length;
    if (incl.length <= depth) {
      incl.push(new Uint32Array(w));
      excl.push(new Uint32Array(w));
    }
    const inc = incl[depth];
    const exc = excl[depth];
    if (depth === 0) {
      inc.fill(0);
      exc.fill(0);
    } else {
      inc.set(incl[depth - 1]);
      exc.set(excl[depth - 1]);
    }
    for (const b of n.include) setBit(inc, b);
    for (const b of n.except) setBit(exc, b);
    for (let i = 0; i < w; i++) cls[i] = inc[i] & ~exc[i];
    const isEndpoint = n.endpoint ? 1 : 0;
    const value = (classes.intern(cls, isEndpoint) << 1) | isEndpoint;
    if (value > MAX_NEXT_HOP) throw new RangeError(`firewall: more than ${MAX_NEXT_HOP >>> 1} ${field} address classes`);
    if (depth === 0 || values[depth - 1] !== value) {
      lpm.insert(n.addr, n.len, value);
      inserted++;
    }
    stack.push(n);
    values[depth] = value;
  }
  classes.seal();
  lpm.trim();
  return { view: lpm.view, classes, prefixes: inserted, lpmBytes: lpm.memory().lookupUsedBytes };
}

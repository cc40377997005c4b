// Outcomes: the distinct verdicts a plan gives, each the rule that matched in
// every section (or -1) with its action and deciding section. A packet's
// result is an outcome id, so the packet node reads action and rules from
// flat typed arrays (no object per packet), and counters can be kept per
// outcome. Deduplicated by the four rule indices: their number is bounded by
// the combinations traffic meets, not by packets. Grows by doubling on the
// miss path only (a new combination of classes), never on a memo hit.
import { Action, Section, type ClassifierRule } from './plan.js';

export class Outcomes {
  /** Per outcome, Section.COUNT rule indices (into plan.rules) or -1. */
  rule: Int32Array;
  action: Uint8Array;
  decidedBy: Int8Array;
  private n = 0;
  /** Open-addressing index over outcome ids (-1 empty), kept under half full. */
  private index: Int32Array;

  constructor(private readonly rules: readonly ClassifierRule[]) {
    this.rule = new Int32Array(64 * Section.COUNT);
    this.action = new Uint8Array(64);
    this.decidedBy = new Int8Array(64);
    this.index = new Int32Array(128).fill(-1);
  }

  get count(): number {
    return this.n;
  }

  get bytes(): number {
    return this.rule.byteLength + this.action.byteLength + this.decidedBy.byteLength + this.index.byteLength;
  }

  /** The id of the outcome with these per-section rules (r[0..COUNT)), adding it when new. */
  intern(r: Int32Array): number {
    const mask = this.index.length - 1;
    let i = hashRules(r) & mask;
    for (;;) {
      const id = this.index[i];
      if (id === -1) break;
      const o = id * Section.COUNT;
      if (this.rule[o] === r[0] && this.rule[o + 1] === r[1] && this.rule[o + 2] === r[2] && this.rule[o + 3] === r[3]) return id;
      i = (i + 1) & mask;
    }
    const id = this.n++;
    if (id >= this.action.length) this.grow();
    this.rule.set(r.subarray(0, Section.COUNT), id * Section.COUNT);
    let action: number = Action.ALLOW;
    let decidedBy = -1;
    for (let s = 0; s < Section.COUNT; s++) {
      const ri = r[s];
      if (ri !== -1 && this.rules[ri].action !== Action.ALLOW) {
        action = this.rules[ri].action;
        decidedBy = s;
        break;
      }
    }
    this.action[id] = action;
    this.decidedBy[id] = decidedBy;
    if (this.n * 2 > this.index.length) this.reindex();
    else this.index[i] = id;
    return id;
  }

  private grow(): void {
    const size = this.action.length * 2;
    const rule = new Int32Array(size * Section.COUNT);
    rule.set(this.rule);
    this.rule = rule;
    const action = new Uint8Array(size);
    action.set(this.action);
    this.action = action;
    const decidedBy = new Int8Array(size);
    decidedBy.set(this.decidedBy);
    this.decidedBy = decidedBy;
  }

  private reindex(): void {
    this.index = new Int32Array(this.index.length * 2).fill(-1);
    const mask = this.index.length - 1;
    for (let id = 0; id < this.n; id++) {
      let i = hashRules(this.rule.subarray(id * Section.COUNT)) & mask;
      while (this.index[i] !== -1) i = (i + 1) & mask;
      this.index[i] = id;
    }
  }
}

function hashRules(r: Int32Array): number {
  let h = Math.imul(r[0] + 1, 0x9e3779b1) ^ Math.imul(r[1] + 1, 0x85ebca6b) ^ Math.imul(r[2] + 1, 0xc2b2ae35) ^ Math.imul(r[3] + 1, 0x27d4eb2f);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
}

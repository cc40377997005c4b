// Type-level checks of node wiring (run by vitest's typecheck, i.e. tsc): a
// node can only name the next nodes, drop reasons and counters its spec
// declares. Each @ts-expect-error fails the run if the line compiles.
import { expectTypeOf, test } from 'vitest';
import type { Batch } from '../../src/pipeline/batch.js';
import { defineNode, PipelineNode, type Dispatch } from '../../src/pipeline/node.js';

const spec = defineNode({ name: 'typed', next: { lookup: 'ip4-lookup' }, drops: { bad: 'a bad packet' }, counters: { seen: 'seen' } });

class Typed extends PipelineNode<typeof spec> {
  constructor() {
    super(spec);
  }
  process(_b: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    d.enqueueMany(this, this.next.lookup, vec, count);
    // @ts-expect-error an undeclared next node does not compile
    d.enqueue(this, this.next.icmpError, 0);
    // @ts-expect-error an undeclared drop reason does not compile
    d.drop(this, this.reason.ttlExpired, 0);
    // @ts-expect-error an undeclared counter does not compile
    d.counters.add(this.counter.sent, 0);
  }
}

test('a node sees exactly the keys its spec declares', () => {
  const n = new Typed();
  expectTypeOf(n.next).toEqualTypeOf<{ readonly lookup: number }>();
  expectTypeOf(n.reason).toEqualTypeOf<{ readonly bad: number }>();
  expectTypeOf(n.counter).toEqualTypeOf<{ readonly seen: number }>();
});

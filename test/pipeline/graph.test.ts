// The graph: wiring by declared names, numbers derived from declarations,
// counters, vector hand-over and drops.
import { describe, expect, it } from 'vitest';
import { Batch } from '../../src/pipeline/batch.js';
import { Graph } from '../../src/pipeline/graph.js';
import { defineNode, kebabCase, OUTPUT, PipelineNode, type Dispatch } from '../../src/pipeline/node.js';

const sorterSpec = defineNode({
  name: 'sorter',
  next: { even: 'even-sink', odd: 'odd-sink' },
  drops: { zeroLength: 'frame of length 0', tooLong: 'frame over 1000 bytes' },
  counters: { seen: 'frames looked at' },
});

/** Sends slots by frame length: even to one next, odd to the other; drops 0 and > 1000. */
class Sorter extends PipelineNode<typeof sorterSpec> {
  constructor() {
    super(sorterSpec);
  }
  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const len = batch.length[s];
      d.counters.add(this.counter.seen, len);
      if (len === 0) d.drop(this, this.reason.zeroLength, s);
      else if (len > 1000) d.drop(this, this.reason.tooLong, s);
      else if (len % 2 === 0) vec[w++] = s;
      else d.enqueue(this, this.next.odd, s);
    }
    d.enqueueMany(this, this.next.even, vec, w);
  }
}

/** Passes everything to the output. */
class Sink extends PipelineNode {
  constructor(name: string, next: string = OUTPUT) {
    super({ name, next: { tx: next }, drops: {} });
  }
  process(_batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    d.enqueueMany(this, 0, vec, count);
  }
}

function batchOf(lengths: number[]): Batch {
  const b = new Batch({ rxCapacity: 16, generatedCapacity: 4 });
  for (const len of lengths) {
    const s = b.rxCount++;
    b.initSlot(s, len, 0, 0, 0);
  }
  return b;
}

describe('graph wiring', () => {
  it('numbers next nodes, drop reasons and counters in declaration order', () => {
    const n = new Sorter();
    expect(n.next).toEqual({ even: 0, odd: 1 });
    expect(n.reason).toEqual({ zeroLength: 0, tooLong: 1 });
    expect(n.nextNames).toEqual(['even-sink', 'odd-sink']);
    expect(n.drops.map((r) => r.name)).toEqual(['zero-length', 'too-long']);
    expect(kebabCase('gsoToNonOffloadPort')).toBe('gso-to-non-offload-port');
  });

  it('builds, routes by the declared names and counts drops under the node', () => {
    const g = new Graph(32).add(new Sorter()).add(new Sink('even-sink')).add(new Sink('odd-sink')).build();
    const sorter = g.node('sorter');
    expect(sorter.counter).toEqual({ seen: g.registry.indexOf('sorter/seen') });
    const batch = batchOf([60, 61, 0, 2000, 64]);
    g.begin(batch);
    g.run(g.node('sorter').id);
    // even-sink runs before odd-sink (order added), so the even frames leave first.
    expect(Array.from(g.output.subarray(0, g.outputCount))).toEqual([0, 4, 1]);
    const c = g.counters.nonZero();
    expect(c['sorter/zero-length'].packets).toBe(1);
    expect(c['sorter/too-long']).toEqual({ packets: 1, bytes: 2000 });
    expect(c['sorter/seen'].packets).toBe(5);
    expect(c['even-sink/packets'].packets).toBe(2);
    expect(c['odd-sink/packets'].packets).toBe(1);
    expect(c[`${OUTPUT}/packets`]).toEqual({ packets: 3, bytes: 185 });
    expect(g.registry.info(g.registry.indexOf('sorter/too-long')!).description).toBe('frame over 1000 bytes');
  });

  it('redirect splices a node into a named edge: the packets of that edge go through it, the other edges stay, and nextNames say so', () => {
    const g = new Graph(32)
      .add(new Sorter())
      .add(new Sink('tap', 'even-sink'))
      .add(new Sink('even-sink'))
      .add(new Sink('odd-sink'))
      .redirect('sorter', 'even', 'tap')
      .build();
    const batch = batchOf([60, 61, 64]);
    g.begin(batch);
    g.run(g.node('sorter').id);
    const c = g.counters.nonZero();
    expect(c['tap/packets'].packets).toBe(2);
    expect(c['even-sink/packets'].packets).toBe(2);
    expect(c['odd-sink/packets'].packets).toBe(1);
    expect(g.node('sorter').nextNames).toEqual(['tap', 'odd-sink']);
    expect(() => new Graph(8).add(new Sorter()).redirect('sorter', 'both', 'tap')).toThrow("node 'sorter' has no next 'both' (it has: even, odd)");
    expect(() => new Graph(8).add(new Sorter()).add(new Sink('even-sink')).add(new Sink('odd-sink')).redirect('sorter', 'even', 'nowhere').build()).toThrow(
      "node 'sorter': next 'even' is redirected to 'nowhere', which is not in the graph",
    );
  });

  it('fails to build when a node declares a next node the graph does not have', () => {
    const g = new Graph(8).add(new Sorter()).add(new Sink('even-sink'));
    expect(() => g.build()).toThrow("node 'sorter' declares next node 'odd-sink', which is not in the graph");
  });

  it('fails to build when a node sends to itself, or two nodes share a name', () => {
    expect(() => new Graph(8).add(new Sink('loop', 'loop')).build()).toThrow("node 'loop' may not send to itself");
    expect(() => new Graph(8).add(new Sink('a')).add(new Sink('a'))).toThrow("duplicate node name 'a'");
    expect(() => new Graph(8).add(new Sink(OUTPUT))).toThrow('duplicate node name');
  });

  it('fails to build when a node declares one counter name twice', () => {
    class Twice extends PipelineNode {
      constructor() {
        // Two keys that name the same counter once kebab-cased.
        super({ name: 'twice', next: {}, drops: { badThing: 'x', 'bad-thing': 'y' } });
      }
      process(): void {}
    }
    expect(() => new Graph(8).add(new Twice()).build()).toThrow("node 'twice' declares counter 'bad-thing' twice");
  });
});

// Two builds of the dataplane in one process, for an A/B of a change to the
// established-flow fast path: `node --expose-gc dist/bench/nat/ab-trees.js
// ROOT_A ROOT_B [hot|random] [ROUNDS]`. Each root is a package directory
// whose dist/ is a build (tsc) of one variant; each gets its own NAT router
// and 1M-flow table from its own modules (the NAT bench's config and fill,
// nat.ts), and their established loops run in alternating chunks of CPU time
// (which goes first alternating too), so the pairwise ratio B/A holds while
// this machine's speed drifts, as nat.ts's own comparison does. One copy of
// the old build is enough:
//
//   mkdir /tmp/base && cp -a dist package.json /tmp/base/ &&
//     ln -s "$PWD/proto" "$PWD/native" "$PWD/node_modules" /tmp/base/
//
// (the config loader looks for proto/ above dist/, the addon under native/).
// Run it in both orders: identical builds give 1.01-1.03 here, the second
// one loaded being the slower (AMD EPYC VM, 31 rounds); a change is the
// geometric mean of B/A and 1/(A/B). Not part of `npm run bench`: it writes
// no results.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineLabel } from '../lib/report.js';

type RigModule = typeof import('./rig.js');
type WorkloadModule = typeof import('./workload.js');
type KeysModule = typeof import('../flow/keys.js');
type BatchModule = typeof import('../../src/pipeline/batch.js');

/** Flow-table entries, as nat.ts: the 1M flows and their bindings fill it to 90%. */
const CAPACITY = 1_200_000;
/** Frames of the random loop, as nat.ts. */
const RANDOM_FRAMES = 1 << 18;

interface Build {
  step: () => void;
  l3Step: () => void;
  cpuNs: RigModule['cpuNsPerPacket'];
  median: RigModule['median'];
}

/** The NAT and plain L3 routers of the build at `root`, the table filled, fed the `pool` frames (checked once). */
async function build(root: string, pool: 'hot' | 'random'): Promise<Build> {
  const at = (p: string): string => pathToFileURL(resolve(root, 'dist', p)).href;
  const rig = (await import(at('bench/nat/rig.js'))) as RigModule;
  const wl = (await import(at('bench/nat/workload.js'))) as WorkloadModule;
  const { shuffledOrder } = (await import(at('bench/flow/keys.js'))) as KeysModule;
  const { MAX_BATCH } = (await import(at('src/pipeline/batch.js'))) as BatchModule;
  const nat = new rig.Rig(wl.routerConfig({ capacity: CAPACITY }), true);
  const l3 = new rig.Rig(wl.routerConfig(undefined), false, nat.compiled);
  const flows = nat.router.natTables!.flows;
  const t = { client: 0, clientPort: 0, server: 0, serverPort: 0 };
  const fill = new wl.FramePool(wl.FLOWS);
  const order = shuffledOrder(wl.FLOWS, 11);
  for (let i = 0; i < wl.FLOWS; i++) {
    wl.fillFlow(order[i], t);
    fill.set(i, wl.LAN, t.client, t.server, t.clientPort, t.serverPort);
  }
  nat.input.use(fill);
  for (let i = 0; i < wl.FLOWS / MAX_BATCH; i++) nat.step();
  const natPort = new Int32Array(wl.FLOWS);
  for (let f = 0; f < wl.FLOWS; f++) {
    wl.fillFlow(f, t);
    const v = flows.lookup(t.client, t.server, (t.clientPort << 16) | t.serverPort, 17);
    if (v < 0) throw new Error(`ab-trees: ${root}: flow ${f} is not in the table`);
    natPort[f] = flows.keyWord(v >> 1, 1, 2) & 0xffff;
  }
  const [count, seed] = pool === 'hot' ? [MAX_BATCH, 0x1b873593] : [RANDOM_FRAMES, 0x2545f491];
  nat.verify(wl.establishedPool(count, seed, (f) => natPort[f]), `${root} established`);
  l3.verify(wl.establishedPool(count, seed, undefined), `${root} plain L3`);
  return { step: nat.step, l3Step: l3.step, cpuNs: rig.cpuNsPerPacket, median: rig.median };
}

async function main(): Promise<void> {
  const [rootA, rootB, which = 'hot', roundsArg = '31'] = process.argv.slice(2);
  if (rootA === undefined || rootB === undefined || (which !== 'hot' && which !== 'random')) {
    throw new Error('usage: node --expose-gc dist/bench/nat/ab-trees.js ROOT_A ROOT_B [hot|random] [ROUNDS]');
  }
  const rounds = Number(roundsArg);
  const a = await build(rootA, which);
  const b = await build(rootB, which);
  for (let i = 0; i < 400; i++) {
    a.step();
    b.step();
    a.l3Step();
  }
  const load = loadavg()[0];
  const na: number[] = [];
  const nb: number[] = [];
  const nl: number[] = [];
  const ratios: number[] = [];
  const chunk = 256;
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    let l: number;
    if (r % 2 === 0) {
      x = a.cpuNs(a.step, chunk);
      y = b.cpuNs(b.step, chunk);
      l = a.cpuNs(a.l3Step, chunk);
    } else {
      l = a.cpuNs(a.l3Step, chunk);
      y = b.cpuNs(b.step, chunk);
      x = a.cpuNs(a.step, chunk);
    }
    na.push(x);
    nb.push(y);
    nl.push(l);
    ratios.push(y / x);
  }
  const m = a.median;
  console.log(
    `${which}: A ${m(na).toFixed(1)} B ${m(nb).toFixed(1)} plain L3 ${m(nl).toFixed(1)} ns/packet; B/A ${m(ratios).toFixed(3)} ` +
      `(median of ${rounds} pairwise ratios, min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); ` +
      `L3/A ${(m(nl) / m(na)).toFixed(3)}, L3/B ${(m(nl) / m(nb)).toFixed(3)}; load ${load.toFixed(2)} -> ${loadavg()[0].toFixed(2)}; ${machineLabel()}`,
  );
}

await main();

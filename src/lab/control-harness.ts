// A dataplane driven over stdin, for the live-update lab (control-lab.ts):
// `node control-harness.js CONFIG WORKERS` inside the router namespace starts
// Dataplane.start(CONFIG) and answers one JSON request per line
// ({ id, op, args }) with one JSON line ({ id, ok, result } or { id, ok:
// false, error }). It stands in for the control API where a test or a
// benchmark needs the Dataplane's main-thread methods in a namespace of its
// own; the gRPC server (src/control/) calls the same methods.
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/load.js';
import { Dataplane } from '../runtime/dataplane.js';

type Op = 'changeRoutes' | 'routeTable' | 'routeCount' | 'neighbors' | 'changeNeighbors' | 'counters' | 'drops' | 'ports' | 'reload' | 'traceStart' | 'traceStop' | 'traceRead' | 'stop';

async function main(): Promise<void> {
  const [configPath, workersText] = process.argv.slice(2);
  const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const dp = await Dataplane.start(loadConfig(configPath), { workers: Number(workersText ?? '1') });
  out({ ready: true, generation: dp.generation });
  const ops: Record<Op, (args: never) => unknown> = {
    changeRoutes: (args: Parameters<Dataplane['changeRoutes']>[0]) => dp.changeRoutes(args),
    routeTable: () => dp.routeTable(),
    routeCount: () => dp.routeTable().length,
    neighbors: () => dp.neighbors(),
    changeNeighbors: (args: Parameters<Dataplane['changeNeighbors']>[0]) => dp.changeNeighbors(args),
    counters: () => dp.counters().nonZero(),
    /** Packets dropped so far by drop reason (every node's drop counters, non-zero ones). */
    drops: () => {
      const c = dp.counters();
      const out: Record<string, number> = {};
      for (let i = 0; i < c.registry.size; i++) if (c.registry.info(i).kind === 'drop' && c.packets(i) > 0) out[c.registry.info(i).name] = c.packets(i);
      return out;
    },
    ports: () => dp.ports(),
    reload: (args: { config: string }) => dp.reload(loadConfig(args.config)),
    traceStart: (args: { filter: string; count: number }) => dp.traceStart(args),
    traceStop: () => dp.traceStop(),
    /** Traced packets in brief: where each came in, how many frames left, and the nodes' verdict records. */
    traceRead: (args: { max?: number }) => dp.traceRead(args?.max).map((p) => ({ id: p.id, worker: p.worker, inPort: p.inPort, outPorts: p.outs.map((o) => o.port), drops: p.drops.length, records: p.records.length })),
    stop: async () => {
      await dp.stop();
      setImmediate(() => process.exit(0));
      return 'stopped';
    },
  };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    let id: unknown;
    try {
      const req = JSON.parse(line) as { id: unknown; op: Op; args: never };
      id = req.id;
      const fn = ops[req.op];
      if (fn === undefined) throw new Error(`unknown op ${String(req.op)}`);
      out({ id, ok: true, result: await fn(req.args) });
    } catch (e) {
      out({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await dp.stop();
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ ready: false, error: e instanceof Error ? e.message : String(e) }) + '\n');
  process.exit(1);
});

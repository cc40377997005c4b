// Drops by node and reason, and packets by node, from the pipeline's counter
// registry: "ip4-lookup/no-route" becomes {node="ip4-lookup",
// reason="no-route"}. Every declared reason is a series from the start (at 0),
// so rate() and alerts see a reason the first time it grows. The registry is
// fixed once the graph is built, so the labels are computed here once.
import type { CounterRegistry } from '../pipeline/counters.js';
import { counterFamily, type FamilyContext, type Labels } from './families.js';

interface Series {
  index: number;
  labels: Labels;
}

/** The registry's drop counters as node and reason (split at the first "/"). */
export function dropSeries(registry: CounterRegistry): Series[] {
  const out: Series[] = [];
  for (let i = 0; i < registry.size; i++) {
    const info = registry.info(i);
    if (info.kind !== 'drop') continue;
    const slash = info.name.indexOf('/');
    out.push({ index: i, labels: slash < 0 ? { node: info.name, reason: '' } : { node: info.name.slice(0, slash), reason: info.name.slice(slash + 1) } });
  }
  return out;
}

/** The "<node>/packets" counters every node has (and "output/packets"). */
function nodeSeries(registry: CounterRegistry): Series[] {
  const out: Series[] = [];
  for (let i = 0; i < registry.size; i++) {
    const m = /^([^/]+)\/packets$/.exec(registry.info(i).name);
    if (m !== null) out.push({ index: i, labels: { node: m[1] } });
  }
  return out;
}

export function registerDropMetrics(ctx: FamilyContext, registry: CounterRegistry): void {
  const drops = dropSeries(registry);
  const nodes = nodeSeries(registry);
  counterFamily(ctx, 'dataplane_drops_total', 'Packets dropped, by the node that dropped them and its declared reason.', ['node', 'reason'], (r, emit) => {
    for (const s of drops) emit(s.labels, r.counters.packets(s.index));
  });
  counterFamily(ctx, 'dataplane_drop_bytes_total', 'Bytes of the packets dropped, by node and reason.', ['node', 'reason'], (r, emit) => {
    for (const s of drops) emit(s.labels, r.counters.bytes(s.index));
  });
  counterFamily(ctx, 'dataplane_node_packets_total', 'Packets each pipeline node processed (node="output": handed to a port).', ['node'], (r, emit) => {
    for (const s of nodes) emit(s.labels, r.counters.packets(s.index));
  });
}

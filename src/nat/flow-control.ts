// The control plane's handle on flows and NAT mappings: filter text in,
// plain objects out (the gRPC service maps them to its messages). The
// Dataplane makes one over the NAT state it gave its workers; tests make one
// over a Router's. Filters are parsed per call (flow-filter.ts: a bad one
// throws FlowFilterError naming the word); reading and deleting are
// flow-dump.ts and mapping-dump.ts.
import { FlowTable } from '../flow/flow-table.js';
import { systemClock, type Clock } from '../pipeline/clock.js';
import { parseFlowFilter } from './flow-filter.js';
import { deleteFlows, listFlows, type BackendRegistryView, type FlowDeletion, type FlowList, type FlowSource } from './flow-dump.js';
import { deleteNatMappings, listNatMappings, type NatMappingDeletion, type NatMappingList } from './mapping-dump.js';
import type { NatBuffers, NatPool } from './nat-tables.js';

/** The load balancer as the dump names backends: its registry, and its VIPs' names now (they may reload). */
export interface LbNames {
  tables: BackendRegistryView;
  vipNames: () => readonly string[];
}

export class FlowControl {
  private readonly table: FlowTable;

  constructor(
    buffers: NatBuffers,
    private readonly pools: readonly NatPool[],
    private readonly lb?: LbNames,
    /** The workers' clock (idle times and time left are measured on it). */
    private readonly clock: Clock = systemClock,
  ) {
    this.table = FlowTable.attach(buffers.flows, -1);
  }

  private source(): FlowSource {
    return { table: this.table, pools: this.pools, lb: this.lb && { tables: this.lb.tables, vipNames: this.lb.vipNames() } };
  }

  /** Live flows matching `filter`, at most `limit` (whole number >= 0), with the count that matched. */
  flows(filter: string, limit: number): FlowList {
    return listFlows(this.source(), parseFlowFilter(filter, 'flow'), limit, this.clock.nowMs());
  }

  /** Marks the flows matching `filter` for their owners' sweeps; how many. */
  deleteFlows(filter: string): FlowDeletion {
    return deleteFlows(this.source(), parseFlowFilter(filter, 'flow'));
  }

  /** Live NAT mappings matching `filter` (a mapping filter: internal, external, host, port, ...). */
  natMappings(filter: string, limit: number): NatMappingList {
    return listNatMappings(this.source(), parseFlowFilter(filter, 'mapping'), limit, this.clock.nowMs());
  }

  /** Deletes the NAT mappings matching `filter` and the flows holding them. */
  deleteNatMappings(filter: string): NatMappingDeletion {
    return deleteNatMappings(this.source(), parseFlowFilter(filter, 'mapping'));
  }
}

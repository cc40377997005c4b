// The disruption preview (`dataplane lb preview`): what a new load-balancer
// config would change, computed from the two configs' own Maglev tables
// before anything is applied. Per VIP (matched by name):
//   - the share of table slots whose backend changes: the share of new flows
//     that would go elsewhere. Tables of different sizes cannot be compared
//     slot by slot; then the share is measured over 2^20 evenly spaced flow
//     hash values (each maps to a slot of both tables), an estimate.
//   - given a capture, the share of its flows to the VIP whose backend would
//     change (lbFlowHash with the VIP's hash inputs, before and after; a flow
//     that the new VIP no longer matches, by address, protocol or port,
//     counts as moved). With clientIP affinity the dataplane picks per
//     client, not per flow (load-balancer.ts): a client's (its address under
//     the affinity prefix) first flow hashes, its later flows follow that
//     backend; the preview does the same in capture order, per config.
// Established flows stay pinned in the flow table on the packet path, so the
// flow share is what their next connections (or packets after their entry
// expires) would see. Every backend is taken as healthy.
import { prefixMask } from '../route/prefix.js';
import type { BackendConfig, LbHashInputs, LoadBalancerConfig, VipConfig } from './lb-config.js';
import { lbFlowHash, lbPortMask } from './lb-hash.js';
import { backendTranslation, buildMaglev, countMovedSlots } from './maglev.js';
import type { CaptureFlows } from './capture-flows.js';

/** Hash values sampled when the table size changes. */
const HASH_SAMPLES = 1 << 20;

export interface BackendShare {
  address: number;
  /** Share of the table's slots before and after (0-1); undefined: not in that config. */
  before: number | undefined;
  after: number | undefined;
}

/** How a config gives its flows a backend: each flow by its hash, or each client (clientIP affinity) by its first flow's hash. */
export type FlowHashing = { by: 'flow'; hash: LbHashInputs } | { by: 'client'; prefixLength: number; hash: LbHashInputs };

export function flowHashing(v: VipConfig): FlowHashing {
  return v.affinity === undefined ? { by: 'flow', hash: v.hash } : { by: 'client', prefixLength: v.affinity.sourcePrefixLength, hash: v.hash };
}

export interface VipPreview {
  name: string;
  change: 'changed' | 'unchanged' | 'added' | 'removed';
  /** The VIP as configured after (before, for a removed VIP). */
  vip: VipConfig;
  /** Table slots whose backend changes, of tableSize (both configs' VIPs present). */
  slotsMoved: number;
  slotShare: number;
  /** True when the table size changed, so slotShare is the sampled estimate. */
  sampled: boolean;
  backends: BackendShare[];
  /** The capture's flows to this VIP (as configured before; after, for an added VIP) and how many would move. */
  flows: number | undefined;
  flowsMoved: number | undefined;
  /** How each config picks a flow's backend (undefined: the VIP is not in that config). */
  hashing: { before: FlowHashing | undefined; after: FlowHashing | undefined };
  /** What else changes for this VIP (address, port, mode...), in words. */
  notes: string[];
}

/** Which VIP a flow is for: address, protocol, and the port unless the VIP takes all ports. */
function matches(v: VipConfig, dst: number, ports: number, proto: number): boolean {
  return v.address >>> 0 === dst && v.protocol === proto && (v.port === 0 || v.port === (ports & 0xffff));
}

function tableOf(v: VipConfig): Int32Array {
  return buildMaglev(keyed(v.backends), v.tableSize);
}

function keyed(backends: readonly BackendConfig[]): { key: number; weight: number }[] {
  return backends.map((b) => ({ key: b.address >>> 0, weight: b.weight }));
}

/** The backend address a flow hash picks, or -1 when the table is empty. */
function pick(table: Int32Array, backends: readonly BackendConfig[], hash: number): number {
  const i = table[hash % table.length];
  return i < 0 ? -1 : backends[i].address >>> 0;
}

function shares(table: Int32Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const i of table) if (i >= 0) c[i]++;
  return c.map((x) => x / table.length);
}

function backendShares(before: VipConfig | undefined, tBefore: Int32Array | undefined, after: VipConfig | undefined, tAfter: Int32Array | undefined): BackendShare[] {
  const rows = new Map<number, BackendShare>();
  const row = (a: number) => rows.get(a) ?? rows.set(a, { address: a, before: undefined, after: undefined }).get(a)!;
  if (before && tBefore) shares(tBefore, before.backends.length).forEach((s, i) => (row(before.backends[i].address >>> 0).before = s));
  if (after && tAfter) shares(tAfter, after.backends.length).forEach((s, i) => (row(after.backends[i].address >>> 0).after = s));
  return [...rows.values()];
}

function describeChanges(a: VipConfig, b: VipConfig): string[] {
  const notes: string[] = [];
  const fields = ['address', 'protocol', 'port', 'mode', 'hash', 'tableSize', 'snat', 'guePort'] as const;
  for (const f of fields) if (a[f] !== b[f]) notes.push(`${f} changes`);
  if (JSON.stringify(a.affinity) !== JSON.stringify(b.affinity)) notes.push('affinity changes');
  if (JSON.stringify(a.healthCheck) !== JSON.stringify(b.healthCheck)) notes.push('healthCheck changes');
  return notes;
}

function flowsTo(v: VipConfig, flows: CaptureFlows): number[] {
  const idx: number[] = [];
  for (let i = 0; i < flows.count; i++) if (matches(v, flows.dst[i], flows.ports[i], flows.proto[i])) idx.push(i);
  return idx;
}

/**
 * The backend address VIP v would give each capture flow: -2 for a flow v
 * does not match, -1 when the table is empty. With affinity, a client's
 * first matching flow hashes and its later flows follow, as the dataplane's
 * affinity entries make them (no entry is made when there is no backend).
 */
function backendsOf(v: VipConfig, table: Int32Array, flows: CaptureFlows): Float64Array {
  const out = new Float64Array(flows.count).fill(-2);
  const portMask = lbPortMask(v.hash);
  const clientMask = v.affinity === undefined ? undefined : prefixMask(v.affinity.sourcePrefixLength) >>> 0;
  const clients = new Map<number, number>();
  for (let i = 0; i < flows.count; i++) {
    const [s, d, p, pr] = [flows.src[i], flows.dst[i], flows.ports[i], flows.proto[i]];
    if (!matches(v, d, p, pr)) continue;
    const client = clientMask === undefined ? 0 : (s & clientMask) >>> 0;
    const known = clientMask === undefined ? undefined : clients.get(client);
    if (known !== undefined) {
      out[i] = known;
      continue;
    }
    out[i] = pick(table, v.backends, lbFlowHash(s, d, p & portMask, pr));
    if (clientMask !== undefined && out[i] >= 0) clients.set(client, out[i]);
  }
  return out;
}

function previewBoth(a: VipConfig, b: VipConfig, flows: CaptureFlows | undefined): VipPreview {
  const ta = tableOf(a);
  const tb = tableOf(b);
  let slotsMoved: number;
  let slotShare: number;
  const sampled = ta.length !== tb.length;
  if (!sampled) {
    slotsMoved = countMovedSlots(ta, tb, backendTranslation(keyed(a.backends), keyed(b.backends)));
    slotShare = slotsMoved / tb.length;
  } else {
    let moved = 0;
    const step = 2 ** 32 / HASH_SAMPLES;
    for (let k = 0; k < HASH_SAMPLES; k++) {
      const h = k * step + step / 2;
      if (pick(ta, a.backends, h) !== pick(tb, b.backends, h)) moved++;
    }
    slotShare = moved / HASH_SAMPLES;
    slotsMoved = Math.round(slotShare * tb.length);
  }
  let flowCount: number | undefined;
  let flowsMoved: number | undefined;
  if (flows) {
    const was = backendsOf(a, ta, flows);
    const now = backendsOf(b, tb, flows);
    flowCount = 0;
    flowsMoved = 0;
    for (let i = 0; i < flows.count; i++) {
      if (was[i] === -2) continue;
      flowCount++;
      if (was[i] !== now[i]) flowsMoved++;
    }
  }
  const notes = describeChanges(a, b);
  const changed = slotsMoved > 0 || (flowsMoved ?? 0) > 0 || notes.length > 0 || JSON.stringify(a.backends) !== JSON.stringify(b.backends);
  return {
    name: b.name,
    change: changed ? 'changed' : 'unchanged',
    vip: b,
    slotsMoved,
    slotShare,
    sampled,
    backends: backendShares(a, ta, b, tb),
    flows: flowCount,
    flowsMoved,
    hashing: { before: flowHashing(a), after: flowHashing(b) },
    notes,
  };
}

function previewOne(v: VipConfig, change: 'added' | 'removed', flows: CaptureFlows | undefined): VipPreview {
  const t = tableOf(v);
  const n = flows ? flowsTo(v, flows).length : undefined;
  return {
    name: v.name,
    change,
    vip: v,
    slotsMoved: v.tableSize,
    slotShare: 1,
    sampled: false,
    backends: change === 'added' ? backendShares(undefined, undefined, v, t) : backendShares(v, t, undefined, undefined),
    flows: n,
    // A removed VIP's flows all lose it; an added VIP's flows were not balanced before.
    flowsMoved: n,
    hashing: change === 'added' ? { before: undefined, after: flowHashing(v) } : { before: flowHashing(v), after: undefined },
    notes: [],
  };
}

/** Per VIP, in the new config's order, then the removed ones. */
export function previewLoadBalancer(before: LoadBalancerConfig | undefined, after: LoadBalancerConfig | undefined, flows?: CaptureFlows): VipPreview[] {
  const old = new Map((before?.vips ?? []).map((v) => [v.name, v]));
  const out: VipPreview[] = [];
  for (const v of after?.vips ?? []) {
    const a = old.get(v.name);
    out.push(a ? previewBoth(a, v, flows) : previewOne(v, 'added', flows));
    old.delete(v.name);
  }
  for (const v of old.values()) out.push(previewOne(v, 'removed', flows));
  return out;
}

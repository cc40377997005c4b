// The load balancer as the dataplane runs it: the `loadBalancer:` section of
// the config with text turned into numbers (src/config/load-balancer.ts
// builds this from the YAML and checks it). Addresses are uint32 (>>> 0).
//
// A VIP is an address (and protocol, and optionally one port) the dataplane
// answers for by choosing a backend per flow with Maglev consistent hashing
// (maglev.ts): every worker, and every other instance with the same config,
// picks the same backend for a flow.

export const LB_MODES = ['dsr-l2', 'dsr-ipip', 'dsr-gue', 'nat'] as const;
export type LbModeName = (typeof LB_MODES)[number];
/** Modes as numbers (index into LB_MODES), for typed arrays on the packet path. */
export const LbMode = { DSR_L2: 0, DSR_IPIP: 1, DSR_GUE: 2, NAT: 3 } as const;

/** What a flow's hash is made of (fragments always hash on src, dst and protocol). */
export const LB_HASH_INPUTS = ['five-tuple', 'no-source-port'] as const;
export type LbHashInputs = (typeof LB_HASH_INPUTS)[number];

/** GUE's UDP port when the config names none (the port Katran and Linux fou examples use). */
export const DEFAULT_GUE_PORT = 6080;
/** Maglev table size when the config names none (a prime, as the paper's). */
export const DEFAULT_TABLE_SIZE = 65537;

export interface BackendConfig {
  address: number;
  /** Relative share of new flows; 0 drains (existing flows stay, new ones go elsewhere). */
  weight: number;
}

export type HealthCheckConfig =
  | { type: 'tcp'; port: number; intervalMs: number; timeoutMs: number; rise: number; fall: number }
  | { type: 'http'; port: number; path: string; expectStatus: number; intervalMs: number; timeoutMs: number; rise: number; fall: number }
  | { type: 'icmp'; intervalMs: number; timeoutMs: number; rise: number; fall: number };

export interface AffinityConfig {
  /** Kubernetes sessionAffinity: ClientIP; timeoutSeconds as ms. */
  timeoutMs: number;
  /** Clients sharing an address under this prefix length share a backend (32: one address). */
  sourcePrefixLength: number;
}

/** Load-driven weights: the health checker's measurements feed the weights, a bounded step at a time. */
export interface DynamicWeightsConfig {
  /** What the load is: the backend's active flows in the flow table, its probe latency, or both. */
  signal: 'flows' | 'latency' | 'both';
  /** How often the weights are recomputed. */
  intervalMs: number;
  /** At most this share of the table's slots may change backend per update (0-1). */
  maxSlotShare: number;
}

export interface VipConfig {
  name: string;
  address: number;
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  protocol: number;
  /** The VIP's port, or 0 for all ports. */
  port: number;
  mode: LbModeName;
  /** Maglev lookup table entries (a prime). */
  tableSize: number;
  hash: LbHashInputs;
  affinity: AffinityConfig | undefined;
  healthCheck: HealthCheckConfig | undefined;
  dynamicWeights: DynamicWeightsConfig | undefined;
  /** NAT mode: also translate the client's source to the egress port's address (replies then come back for certain). */
  snat: boolean;
  /** dsr-gue: the outer UDP destination port. */
  guePort: number;
  backends: BackendConfig[];
}

export interface LoadBalancerConfig {
  vips: VipConfig[];
}

/** A port's `decap:` option: packets tunnelled to a backend behind this port are unwrapped here. */
export interface DecapConfig {
  ipip: boolean;
  gue: boolean;
  guePort: number;
}

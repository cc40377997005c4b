// NAT as the dataplane runs it: the rules of the config, with names resolved
// to port indexes and text to numbers (src/config/nat.ts builds this from
// the YAML and checks it). Rules are tried in order; the first that matches
// a new flow decides its translation.

export interface PortRange {
  lo: number;
  hi: number;
}

/** A network as address and mask (uint32). */
export interface Net {
  net: number;
  mask: number;
}

export interface MasqueradeRule {
  /** Packets leaving this port get its address. */
  outPort: number;
  /** Destinations left untranslated (ip-masq-agent's nonMasqueradeCIDRs). */
  nonMasquerade: Net[];
  /** Translate traffic to 169.254.0.0/16 too. */
  masqLinkLocal: boolean;
  ports: PortRange;
}

export interface SnatRule {
  src: Net | undefined;
  dst: Net | undefined;
  /** IPPROTO_* or 0 for any. */
  proto: number;
  outPort: number;
  /** The pool, lowest to highest address. */
  addresses: number[];
  ports: PortRange;
}

export interface DnatRule {
  inPort: number;
  proto: number;
  dports: PortRange;
  /** The router's address the traffic is addressed to. */
  dst: number;
  to: number;
  /** The new destination port, or 0 to keep the original. */
  toPort: number;
}

export type Filtering = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
export type NatProfile = 'rfc' | 'cloud-nat';

export interface NatConfig {
  masquerade: MasqueradeRule[];
  snat: SnatRule[];
  dnat: DnatRule[];
  filtering: Filtering;
  profile: NatProfile;
  /** Ports set aside per internal endpoint (cloud-nat), 0 for none. */
  minPortsPerEndpoint: number;
}

/** Source ports a masquerade or SNAT rule uses when the config names none (below 1024 stays with the hosts). */
export const DEFAULT_NAT_PORTS: PortRange = { lo: 1024, hi: 65535 };
/** Cloud NAT's default minimum of ports per VM. */
export const CLOUD_NAT_MIN_PORTS = 64;
/** Largest SNAT pool: paired pooling keeps a table of internal hosts per address. */
export const MAX_POOL_ADDRESSES = 256;

/**
 * No translation at all: what connection tracking runs with when a stateful
 * feature other than NAT (the firewall) needs the flow table and the config
 * has no `nat:`.
 */
export const NO_NAT: NatConfig = Object.freeze({ masquerade: [], snat: [], dnat: [], filtering: 'endpoint-independent', profile: 'rfc', minPortsPerEndpoint: 0 }) as NatConfig;

/** The NAT config connection tracking runs with: the config's, NO_NAT when only the firewall needs flows, undefined when nothing stateful is configured. */
export function trackingConfig(config: { nat: NatConfig | undefined; firewall?: unknown }): NatConfig | undefined {
  return config.nat ?? (config.firewall !== undefined ? NO_NAT : undefined);
}

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
  /**
   * Made for the load balancer (a NAT-mode VIP with `snat: true` leaving by
   * a port the config does not masquerade): only load-balanced flows use it.
   */
  lbOnly?: boolean;
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

/**
 * The NAT config connection tracking runs with: the config's, NO_NAT when
 * only the firewall or the load balancer needs flows, undefined when nothing
 * stateful is configured. A NAT-mode VIP with `snat: true` translates the
 * client's source to the egress port's address: ports the config does not
 * masquerade get a masquerade rule only load-balanced flows use (lbOnly).
 */
export function trackingConfig(config: {
  nat: NatConfig | undefined;
  firewall?: unknown;
  loadBalancer?: { vips: readonly { mode: string; snat: boolean }[] } | undefined;
  ports?: readonly unknown[];
}): NatConfig | undefined {
  const base = config.nat ?? (config.firewall !== undefined || config.loadBalancer !== undefined ? NO_NAT : undefined);
  if (base === undefined || config.ports === undefined || !(config.loadBalancer?.vips.some((v) => v.mode === 'nat' && v.snat) ?? false)) return base;
  const masqueraded = new Set(base.masquerade.map((r) => r.outPort));
  const extra: MasqueradeRule[] = [];
  for (let p = 0; p < config.ports.length; p++) {
    if (!masqueraded.has(p)) extra.push({ outPort: p, nonMasquerade: [], masqLinkLocal: true, ports: DEFAULT_NAT_PORTS, lbOnly: true });
  }
  return { ...base, masquerade: [...base.masquerade, ...extra] };
}

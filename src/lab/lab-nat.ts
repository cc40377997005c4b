// The lab's NAT mode (`dataplane lab up --nat`, issue 9): the router
// masquerades the client's traffic leaving wan and forwards two ports from
// outside to the client, done by the dataplane (its `nat:` config section)
// or by the Linux kernel (nftables and conntrack inside the router namespace,
// the reference the e2e tests and the live NAT benchmark compare against).
//
// The server gets a second address (198.51.100.11): turnserver needs two
// outside addresses to answer RFC 5780 CHANGE-REQUESTs, so that
// turnutils_natdiscovery can tell the mapping and filtering apart. The server
// has no route to the client's subnet: it only ever sees 198.51.100.1, so a
// packet that was not translated gets no answer instead of a misleading one.
import { nsRun, nsTry, sysctl } from '../host/commands.js';
import type { Filtering } from '../nat/nat-config.js';
import { LabError } from './lab-error.js';

export type NatFiltering = Filtering;
export const NAT_FILTERINGS: readonly NatFiltering[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'];
/** "endpoint-independent, address-dependent or address-and-port-dependent", for messages. */
export const NAT_FILTERINGS_TEXT = `${NAT_FILTERINGS.slice(0, -1).join(', ')} or ${NAT_FILTERINGS.at(-1)}`;

export interface LabNat {
  /** RFC 4787 filtering of inbound packets (default endpoint-independent, the config's default). */
  filtering?: NatFiltering;
  /** The dataplane's conntrack capacity (default 65536). The kernel's nf_conntrack_max is global: not applied. */
  capacity?: number;
}

export const NAT_DEFAULT_CAPACITY = 65536;
/** The config's limits (src/config/schema.ts, conntrack.capacity). */
export const NAT_MIN_CAPACITY = 16;
export const NAT_MAX_CAPACITY = 16 * 1024 * 1024;

/** The addresses and forwarded ports of the NAT lab (the router's wan address is the NAT address). */
export const LAB_NAT = {
  /** What the server has no route to. */
  clientNet: '192.0.2.0/24',
  /** The server's second address (turnserver's alternate address). */
  serverAlt: { addr: '198.51.100.11', cidr: '198.51.100.11/24' },
  /** TCP to wan:8080 reaches the client's port 80. */
  tcpForward: { dport: 8080, to: '192.0.2.10', toPort: 80 },
  /** UDP to wan:5353 reaches the client's port 53. */
  udpForward: { dport: 5353, to: '192.0.2.10', toPort: 53 },
  /** The nftables table of the kernel engine (router namespace only). */
  nftTable: 'dataplane_lab_nat',
  /** How long the kernel keeps a UDP mapping: RFC 4787 REQ-5's 2 minutes, as the dataplane's `rfc` profile. */
  udpTimeoutSec: 120,
} as const;

export function natFiltering(n: LabNat): NatFiltering {
  return n.filtering ?? 'endpoint-independent';
}

export function natCapacity(n: LabNat): number {
  return n.capacity ?? NAT_DEFAULT_CAPACITY;
}

/** Why these NAT options cannot be used, or undefined. */
export function checkLabNat(n: LabNat): string | undefined {
  if (n.filtering !== undefined && !NAT_FILTERINGS.includes(n.filtering)) return `NAT filtering must be ${NAT_FILTERINGS_TEXT} (got '${String(n.filtering)}')`;
  if (n.capacity !== undefined && (!Number.isInteger(n.capacity) || n.capacity < NAT_MIN_CAPACITY || n.capacity > NAT_MAX_CAPACITY)) {
    return `conntrack capacity must be a whole number from ${NAT_MIN_CAPACITY} to ${NAT_MAX_CAPACITY} (got ${n.capacity})`;
  }
  return undefined;
}

/** The `nat:` and `conntrack:` sections of the dataplane's config, in the shape of issue 9's example. */
export function natConfigYaml(n: LabNat): string {
  const t = LAB_NAT.tcpForward;
  const u = LAB_NAT.udpForward;
  return `nat:
  masquerade:
    - { outPort: wan }
  dnat:
    - { inPort: wan, proto: tcp, dport: ${t.dport}, to: "${t.to}:${t.toPort}" }
    - { inPort: wan, proto: udp, dport: ${u.dport}, to: "${u.to}:${u.toPort}" }
  filtering: ${natFiltering(n)}
  profile: rfc
conntrack: { capacity: ${natCapacity(n)} }
`;
}

/**
 * The kernel's NAT as nftables (`nft -f`) for the router namespace. Linux
 * conntrack keeps the source port when it can, so masquerade maps
 * endpoint-independently; but it lets in only replies from the exact
 * endpoint a flow went to (address-and-port-dependent filtering). The two
 * wider filterings are built from dynamic sets filled as UDP leaves wan
 * (after masquerade, so `udp sport` is the external port):
 *   - eim_udp maps each external port to its internal endpoint, so a new
 *     flow from anywhere to that port is DNATed back to it (endpoint-
 *     independent filtering, a "full cone");
 *   - adf_udp holds (external port . remote address) pairs, and the DNAT is
 *     taken only for a remote address the endpoint has sent to (address-
 *     dependent).
 * NAT chains see only a flow's first packet, so replies to existing flows
 * never reach the map.
 */
export function kernelNatRuleset(n: LabNat, wanAddr: string): string {
  const f = natFiltering(n);
  const t = LAB_NAT.tcpForward;
  const u = LAB_NAT.udpForward;
  const timeout = `${LAB_NAT.udpTimeoutSec}s`;
  const inbound =
    f === 'address-and-port-dependent'
      ? ''
      : `    iifname "wan" ip daddr ${wanAddr} ${f === 'address-dependent' ? 'udp dport . ip saddr @adf_udp ' : ''}dnat ip to udp dport map @eim_udp\n`;
  const sets =
    f === 'address-and-port-dependent'
      ? ''
      : `  map eim_udp {
    type inet_service : ipv4_addr . inet_service
    flags dynamic, timeout
    timeout ${timeout}
  }
  set adf_udp {
    type inet_service . ipv4_addr
    flags dynamic, timeout
    timeout ${timeout}
  }
  chain mappings {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "wan" meta l4proto udp ct direction original ct status snat update @eim_udp { udp sport timeout ${timeout} : ct original ip saddr . ct original proto-src }
    oifname "wan" meta l4proto udp ct direction original ct status snat update @adf_udp { udp sport . ip daddr timeout ${timeout} }
  }
`;
  return `# dataplane lab NAT (${f}), router namespace only
table ip ${LAB_NAT.nftTable} {
${sets}  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" ip daddr ${wanAddr} tcp dport ${t.dport} dnat to ${t.to}:${t.toPort}
    iifname "wan" ip daddr ${wanAddr} udp dport ${u.dport} dnat to ${u.to}:${u.toPort}
${inbound}  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
`;
}

/** What the kernel engine cannot do as asked (said by `lab up`/`status` and skipped by the tests). */
export const KERNEL_CAPACITY_NOTE =
  'conntrack capacity not applied to the kernel: net.netfilter.nf_conntrack_max is one value for the whole host (read-only inside a network namespace), and the lab never changes the host';

/** Installs the kernel's NAT in the router namespace (nftables and per-namespace conntrack timeouts there; nothing in the host's namespace). */
export function applyKernelNat(routerNs: string, n: LabNat, wanAddr: string): string[] {
  const notes: string[] = [];
  nsRun(routerNs, 'nft', ['-f', '-'], { input: kernelNatRuleset(n, wanAddr) });
  // Per-namespace timeouts (the conntrack module is loaded once nft has a nat table).
  for (const key of ['net.netfilter.nf_conntrack_udp_timeout', 'net.netfilter.nf_conntrack_udp_timeout_stream']) {
    try {
      sysctl(routerNs, key, String(LAB_NAT.udpTimeoutSec));
    } catch (e) {
      notes.push(`${key} not set: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (n.capacity !== undefined) notes.push(KERNEL_CAPACITY_NOTE);
  return notes;
}

/**
 * The server's side of NAT mode, once its interface exists (a TAP appears
 * only when the dataplane has moved it): the second address, and no route
 * beyond its own subnet.
 */
export function setUpNatServer(serverNs: string, hostIf: string): void {
  const has = nsTry(serverNs, 'ip', ['-4', '-br', 'addr', 'show', 'dev', hostIf]).stdout;
  if (!has.includes(`${LAB_NAT.serverAlt.addr}/`)) nsRun(serverNs, 'ip', ['addr', 'add', LAB_NAT.serverAlt.cidr, 'dev', hostIf]);
  nsTry(serverNs, 'ip', ['route', 'del', 'default']);
  const routes = nsRun(serverNs, 'ip', ['-4', 'route', 'show', 'default']);
  if (routes.trim() !== '') throw new LabError(`NAT mode: the server namespace ${serverNs} still has a default route (${routes.trim()})`);
}

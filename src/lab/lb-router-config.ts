// What the load balancer lab's routers run: the dataplane configs of the
// balancer (a `loadBalancer:` section with one VIP, as issue 11 writes it)
// and of the decap router, and the Linux reference, nftables DNAT to a
// `numgen random mod N` map as kube-proxy's nftables mode does.
import type { LbHashInputs, LbModeName } from '../lb/lb-config.js';
import { LB_LAB, type LbTopology } from './lb-topology.js';

export interface LbHealthCheckSpec {
  type: 'tcp';
  port: number;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

/** The lab's one VIP (LB_LAB.vip), balanced over the three backends. */
export interface LbVipSpec {
  mode: LbModeName;
  protocol: 'tcp' | 'udp';
  /** Omit: every port. */
  port?: number;
  /** One weight per backend (LB_LAB.backends order); 0 drains. */
  weights: readonly number[];
  hash?: LbHashInputs;
  tableSize?: number;
  healthCheck?: LbHealthCheckSpec;
  /** nat mode: translate the client's source to the balancer's address too. */
  snat?: boolean;
}

/** The topology a mode needs: encapsulation reaches the backends through the decap router. */
export function topologyOf(mode: LbModeName): LbTopology {
  return mode === 'dsr-ipip' || mode === 'dsr-gue' ? 'tunnel' : 'direct';
}

const afpacket = (dev: string) => `{ type: afpacket, interface: ${dev}, offload: false }`;
/** The balancer's port I/O: AF_PACKET (the default), or AF_XDP (the live benchmark's second subject). */
export type LbPortIo = 'afpacket' | 'afxdp';
const portIo = (kind: LbPortIo, dev: string) => (kind === 'afxdp' ? `{ type: afxdp, interface: ${dev} }` : afpacket(dev));

function vipYaml(v: LbVipSpec): string {
  if (v.weights.length !== LB_LAB.backends.length) throw new Error(`a weight per backend: ${LB_LAB.backends.length} weights, got ${v.weights.length}`);
  const hc = v.healthCheck;
  const lines = [
    'loadBalancer:',
    '  vips:',
    '    - name: web',
    `      address: ${LB_LAB.vip}`,
    `      protocol: ${v.protocol}`,
    ...(v.port === undefined ? [] : [`      port: ${v.port}`]),
    `      mode: ${v.mode}`,
    ...(v.snat === undefined ? [] : [`      snat: ${v.snat}`]),
    ...(v.hash === undefined ? [] : [`      hash: ${v.hash}`]),
    `      tableSize: ${v.tableSize ?? 65537}`,
    ...(hc === undefined ? [] : [`      healthCheck: { type: ${hc.type}, port: ${hc.port}, intervalMs: ${hc.intervalMs}, timeoutMs: ${hc.timeoutMs}, rise: ${hc.rise}, fall: ${hc.fall} }`]),
    '      backends:',
    ...LB_LAB.backends.map((b, i) => `        - { address: ${b.addr}, weight: ${v.weights[i]} }`),
  ];
  return lines.join('\n') + '\n';
}

/** The balancer's config: a port per client, the backend segment (direct) or the transit link (tunnel), the VIP; `extra` appended as it is. */
export function balancerYaml(topology: LbTopology, vip: LbVipSpec, extra = '', io: LbPortIo = 'afpacket'): string {
  const ports = LB_LAB.clients.map((c) => `  - name: ${c.port}\n    address: ${c.portCidr}\n    io: ${portIo(io, c.port)}`);
  if (topology === 'direct') ports.push(`  - name: ${LB_LAB.be.port}\n    address: ${LB_LAB.be.cidr}\n    io: ${portIo(io, LB_LAB.be.port)}`);
  else ports.push(`  - name: ${LB_LAB.transit.port}\n    address: ${LB_LAB.transit.lb.cidr}\n    io: ${portIo(io, LB_LAB.transit.port)}`);
  const routes = topology === 'tunnel' ? `routes:\n  - ${LB_LAB.backendNet} via ${LB_LAB.transit.decap.addr}\n` : '';
  return `# The load balancer lab's balancer (${topology}), written by src/lab/lb-lab.ts.
ports:
${ports.join('\n')}
${routes}icmp: { ratePerSecond: 1000, burst: 100 }
${vipYaml(vip)}${extra}`;
}

/** The decap router between the balancer and the backends (tunnel topology): it unwraps what is tunnelled to a host on its backend port. */
export function decapYaml(): string {
  return `# The load balancer lab's decap router, written by src/lab/lb-lab.ts.
ports:
  - name: ${LB_LAB.transit.port}
    address: ${LB_LAB.transit.decap.cidr}
    io: ${afpacket(LB_LAB.transit.port)}
  - name: ${LB_LAB.be.port}
    address: ${LB_LAB.be.cidr}
    io: ${afpacket(LB_LAB.be.port)}
    decap: true
routes:
  - ${LB_LAB.clientNet} via ${LB_LAB.transit.lb.addr}
icmp: { ratePerSecond: 1000, burst: 100 }
`;
}

export const NFT_TABLE = 'lb_lab';

/**
 * The kernel's balancer: DNAT of new connections to the VIP to a backend
 * drawn by `numgen random mod N` from a map, kube-proxy's nftables mode
 * (weights as repeated map entries, weight 0 left out). Established
 * connections keep their backend in conntrack. A whole-table replacement,
 * so loading it again changes the weights atomically.
 */
export function nftDnatRuleset(v: LbVipSpec): string {
  const entries: string[] = [];
  LB_LAB.backends.forEach((b, i) => {
    for (let w = 0; w < v.weights[i]; w++) entries.push(b.addr);
  });
  if (entries.length === 0) throw new Error('nftables DNAT needs a backend with a weight above 0');
  const match = v.port === undefined ? `meta l4proto ${v.protocol}` : `${v.protocol} dport ${v.port}`;
  const map = entries.map((a, i) => `${i} : ${a}`).join(', ');
  return `table ip ${NFT_TABLE}
delete table ip ${NFT_TABLE}
table ip ${NFT_TABLE} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${LB_LAB.vip} ${match} dnat to numgen random mod ${entries.length} map { ${map} }
  }
}
`;
}

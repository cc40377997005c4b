// The load balancer's lab (issue 11): two clients, a router that balances a
// VIP, and three backends on one L2 segment (a bridge in a namespace of its
// own, never in the host's).
//
//   direct (dsr-l2, nat):
//     <p>-c1 eth0 192.0.2.10/25  --- lan1 192.0.2.1/25   [<p>-lb]  be 198.51.100.1/24 ---+
//     <p>-c2 eth0 192.0.2.130/25 --- lan2 192.0.2.129/25           mgmt 198.51.100.2/24 --+-- br0 in <p>-sw
//                                                                                          +-- eth0 198.51.100.11/24 <p>-b1 (.12 b2, .13 b3)
//   tunnel (dsr-ipip, dsr-gue): the same clients and segment, and between them
//     [<p>-lb] transit 198.18.0.1/24 --- transit 198.18.0.2/24 [<p>-dc] be 198.51.100.1/24 (decap) --- br0
//
// The router in <p>-lb is the dataplane (AF_PACKET ports: the router ends
// carry no kernel address) or, for the benchmark, the Linux kernel
// (addresses on the router ends, ip_forward, nftables DNAT). <p>-dc is
// always a dataplane: it terminates the IPIP/GUE the balancer sends to a
// backend (`decap: true` on its backend-side port), since this kernel has
// no ipip/fou modules. `mgmt` is a kernel interface of the balancer's
// namespace on the backend segment: the dataplane's health checks run on
// its main thread through that namespace's kernel, so they need it.
//
// In the DSR modes each backend owns the VIP on its loopback and answers
// from it; the lab answers no ARP for it (arp_ignore/arp_announce as for
// LVS-DR real servers). Backends route everything via 198.51.100.1.
import { ip, listNetns, nsRun, nsTry, sysctl, tryRun } from '../host/commands.js';
import type { Tool } from '../host/tools.js';

export type LbTopology = 'direct' | 'tunnel';
export type LbEngine = 'dataplane' | 'kernel';

export const LB_LAB = {
  vip: '203.0.113.10',
  /** Each client has a port of the balancer to itself. */
  clients: [
    { name: 'c1', addr: '192.0.2.10', cidr: '192.0.2.10/25', port: 'lan1', portAddr: '192.0.2.1', portCidr: '192.0.2.1/25' },
    { name: 'c2', addr: '192.0.2.130', cidr: '192.0.2.130/25', port: 'lan2', portAddr: '192.0.2.129', portCidr: '192.0.2.129/25' },
  ],
  clientNet: '192.0.2.0/24',
  backends: [
    { name: 'b1', addr: '198.51.100.11', cidr: '198.51.100.11/24' },
    { name: 'b2', addr: '198.51.100.12', cidr: '198.51.100.12/24' },
    { name: 'b3', addr: '198.51.100.13', cidr: '198.51.100.13/24' },
  ],
  backendNet: '198.51.100.0/24',
  /** The router port on the backend segment (the balancer's, or the decap router's). */
  be: { port: 'be', addr: '198.51.100.1', cidr: '198.51.100.1/24' },
  /** The balancer namespace's kernel leg on the backend segment (health checks). */
  mgmt: { ifname: 'mgmt', addr: '198.51.100.2', cidr: '198.51.100.2/24' },
  transit: { port: 'transit', lb: { addr: '198.18.0.1', cidr: '198.18.0.1/24' }, decap: { addr: '198.18.0.2', cidr: '198.18.0.2/24' } },
  hostIf: 'eth0',
  bridge: 'br0',
} as const;

export interface LbLabNames {
  lb: string;
  decap: string;
  sw: string;
  clients: [string, string];
  backends: [string, string, string];
}

export function lbLabNames(prefix: string): LbLabNames {
  return {
    lb: `${prefix}-lb`,
    decap: `${prefix}-dc`,
    sw: `${prefix}-sw`,
    clients: [`${prefix}-c1`, `${prefix}-c2`],
    backends: [`${prefix}-b1`, `${prefix}-b2`, `${prefix}-b3`],
  };
}

function allNames(n: LbLabNames): string[] {
  return [n.lb, n.decap, n.sw, ...n.clients, ...n.backends];
}

/** The namespaces of this prefix that exist now. */
export function lbNamespaces(prefix: string): string[] {
  const names = allNames(lbLabNames(prefix));
  return listNetns().filter((ns) => names.includes(ns));
}

/** What buildLbNamespaces runs. */
export function lbTopologyTools(engine: LbEngine): Tool[] {
  return engine === 'kernel' ? ['ip', 'sysctl', 'ethtool', 'nft'] : ['ip', 'sysctl', 'ethtool'];
}

function newNetns(name: string): void {
  tryRun('ip', ['netns', 'del', name]);
  ip('netns', 'add', name);
  nsRun(name, 'ip', ['link', 'set', 'lo', 'up']);
  // No IPv6: no router solicitations, MLD or DAD frames on the segment.
  sysctl(name, 'net.ipv6.conf.all.disable_ipv6', '1');
  sysctl(name, 'net.ipv6.conf.default.disable_ipv6', '1');
}

/**
 * Turns off TSO/GSO/GRO and TX checksum offload: the dataplane's AF_PACKET
 * ports run with `offload: false`, and a super-frame or a partial checksum
 * from any host on the path (the bridge passes them on as they are) would
 * reach them.
 */
function offloadsOff(ns: string, dev: string): void {
  nsRun(ns, 'ethtool', ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  nsTry(ns, 'ethtool', ['-K', dev, 'tx', 'off']);
}

/** A veth pair `a`@nsA -- `b`@nsB, both up, offloads off. */
function veth(nsA: string, a: string, nsB: string, b: string): void {
  ip('link', 'add', 'name', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
  for (const [ns, dev] of [
    [nsA, a],
    [nsB, b],
  ] as const) {
    offloadsOff(ns, dev);
    nsRun(ns, 'ip', ['link', 'set', 'dev', dev, 'up']);
  }
}

function addr(ns: string, dev: string, cidr: string): void {
  nsRun(ns, 'ip', ['addr', 'add', cidr, 'dev', dev]);
}

export interface BuildOptions {
  prefix: string;
  topology: LbTopology;
  engine: LbEngine;
  /** The backends own the VIP on their loopback (the DSR modes). */
  vipOnBackends: boolean;
}

/**
 * Creates every namespace and link of the lab (the routers are started
 * afterwards). The kernel engine routes the direct topology only.
 */
export function buildLbNamespaces(o: BuildOptions): LbLabNames {
  const n = lbLabNames(o.prefix);
  const kernel = o.engine === 'kernel';
  const tunnel = o.topology === 'tunnel';
  for (const ns of allNames(n)) if (ns !== n.decap || tunnel) newNetns(ns);
  // The backend segment: a bridge in its own namespace, one port per host.
  nsRun(n.sw, 'ip', ['link', 'add', LB_LAB.bridge, 'type', 'bridge']);
  nsRun(n.sw, 'ip', ['link', 'set', LB_LAB.bridge, 'up']);
  const toBridge = (ns: string, dev: string, swDev: string) => {
    veth(ns, dev, n.sw, swDev);
    nsRun(n.sw, 'ip', ['link', 'set', swDev, 'master', LB_LAB.bridge]);
  };
  // Clients: one port of the balancer each.
  LB_LAB.clients.forEach((c, i) => {
    veth(n.lb, c.port, n.clients[i], LB_LAB.hostIf);
    addr(n.clients[i], LB_LAB.hostIf, c.cidr);
    nsRun(n.clients[i], 'ip', ['route', 'add', 'default', 'via', c.portAddr]);
    if (kernel) addr(n.lb, c.port, c.portCidr);
  });
  // Backends.
  LB_LAB.backends.forEach((b, i) => {
    const ns = n.backends[i];
    toBridge(ns, LB_LAB.hostIf, b.name);
    addr(ns, LB_LAB.hostIf, b.cidr);
    nsRun(ns, 'ip', ['route', 'add', 'default', 'via', LB_LAB.be.addr]);
    // LVS-DR real servers: answer ARP only for addresses of the interface asked on, and source it from there.
    for (const dev of ['all', LB_LAB.hostIf]) {
      sysctl(ns, `net.ipv4.conf.${dev}.arp_ignore`, '1');
      sysctl(ns, `net.ipv4.conf.${dev}.arp_announce`, '2');
    }
    if (o.vipOnBackends) addr(ns, 'lo', `${LB_LAB.vip}/32`);
  });
  // The balancer's way to the segment: directly, or through the decap router.
  if (tunnel) {
    veth(n.lb, LB_LAB.transit.port, n.decap, LB_LAB.transit.port);
    toBridge(n.decap, LB_LAB.be.port, 'dc');
    sysctl(n.decap, 'net.ipv4.ip_forward', '0');
  } else {
    toBridge(n.lb, LB_LAB.be.port, 'lb');
    if (kernel) addr(n.lb, LB_LAB.be.port, LB_LAB.be.cidr);
  }
  if (!kernel) {
    // Health checks leave through the kernel of the balancer's namespace. It answers ARP only
    // for mgmt's address and only on mgmt: not on the dataplane's veths, whose MACs are the ports'.
    toBridge(n.lb, LB_LAB.mgmt.ifname, 'mgmt');
    addr(n.lb, LB_LAB.mgmt.ifname, LB_LAB.mgmt.cidr);
    sysctl(n.lb, 'net.ipv4.conf.all.arp_ignore', '1');
    sysctl(n.lb, 'net.ipv4.conf.all.arp_announce', '2');
  }
  sysctl(n.lb, 'net.ipv4.ip_forward', kernel ? '1' : '0');
  return n;
}

/** Deletes this prefix's namespaces (their links go with them); returns those deleted. */
export function deleteLbNamespaces(prefix: string): string[] {
  const gone: string[] = [];
  for (const ns of lbNamespaces(prefix)) if (tryRun('ip', ['netns', 'del', ns]).status === 0) gone.push(ns);
  return gone;
}

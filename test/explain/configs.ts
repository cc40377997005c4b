// Configs the explain tests share: a router with a route, a small-MTU
// uplink and masquerade plus port forwarding; a firewall with allow,
// reject and deny rules at different priorities; a load balancer with a
// tunnel VIP, a NAT VIP and a MAC-rewrite VIP.
import { parseConfig, type RouterConfig } from '../../src/config/load.js';

export const NAT_YAML = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1400 }
routes:
  - 203.0.113.0/24 via 198.51.100.254
neighbors:
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.7, mac: "02:bb:00:00:00:07" }
nat:
  masquerade:
    - { outPort: wan }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }
conntrack: { capacity: 1024 }
`;

export const FIREWALL_YAML = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:01" }
endpoints:
  - { address: 192.0.2.10, labels: { app: web } }
firewall:
  rules:
    - { name: allow-web, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [80] }] }
    - { name: reject-ssh, direction: ingress, priority: 900, action: reject, protocols: [{ protocol: tcp, ports: [22] }] }
    - { name: deny-dns, direction: ingress, priority: 800, action: deny, protocols: [{ protocol: udp, ports: [53] }] }
conntrack: { capacity: 1024 }
`;

export const BACKENDS = ['198.51.100.11', '198.51.100.12'];

/** The load-balancer configs' ports and neighbors: a client on lan, two backends on wan. */
const LB_PORTS = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
`;

export const LB_YAML = `${LB_PORTS}loadBalancer:
  vips:
    - { name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-ipip, tableSize: 251, backends: [{ address: 198.51.100.11, weight: 100 }, { address: 198.51.100.12, weight: 100 }] }
    - { name: dns, address: 203.0.113.11, protocol: udp, port: 53, mode: nat, tableSize: 251, backends: [{ address: 198.51.100.12, weight: 100 }] }
    - { name: l2, address: 203.0.113.12, protocol: tcp, mode: dsr-l2, tableSize: 251, backends: [{ address: 198.51.100.11, weight: 100 }] }
conntrack: { capacity: 1024 }
`;

export function config(yaml: string): RouterConfig {
  return parseConfig(yaml, 'test.yaml', '.');
}

/** A dsr-l2 VIP whose two backends are endpoints: web open on 80, shard one denied; a nat-mode DNS VIP (nothing opens udp 53); a port forward to shard one's ssh. */
export const LB_FIREWALL_YAML = `${LB_PORTS}loadBalancer:
  vips:
    - { name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, tableSize: 251, backends: [{ address: 198.51.100.11, weight: 100 }, { address: 198.51.100.12, weight: 100 }] }
    - { name: dns, address: 203.0.113.11, protocol: udp, port: 53, mode: nat, tableSize: 251, backends: [{ address: 198.51.100.12, weight: 100 }] }
endpoints:
  - { address: 198.51.100.11, labels: { app: web, shard: one } }
  - { address: 198.51.100.12, labels: { app: web, shard: two } }
firewall:
  rules:
    - { name: allow-web, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [80] }], targets: { labels: { app: web } } }
    - { name: deny-shard-one, direction: ingress, priority: 100, action: deny, protocols: [{ protocol: tcp, ports: [80] }], targets: { labels: { shard: one } } }
    - { name: reject-ssh, direction: ingress, priority: 900, action: reject, protocols: [{ protocol: tcp, ports: [22] }] }
nat:
  dnat:
    - { inPort: lan, proto: tcp, dport: 2222, to: "198.51.100.11:22" }
conntrack: { capacity: 1024 }
`;

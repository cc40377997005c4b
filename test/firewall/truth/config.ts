// The router config of a truth-table case: one port per pod, each pod on its
// own /24 so every probe crosses the router, and the case's firewall in the
// config's own terms (endpoints, namespaces, networkPolicies or
// networkPolicyFile, firewall.rules). Replay gets static neighbors; live,
// each port is a TAP whose kernel side sits in the pod's namespace.
import { stringify } from 'yaml';
import { endpointsConfig, namespacesConfig, PODS, type Pod, type TruthCase } from './cases.js';

/** The router's port for a pod: "x-a". */
export const portName = (p: Pod) => p.id.replace('/', '-');
const hex = (n: number) => n.toString(16).padStart(2, '0');
export const routerMac = (p: Pod) => `02:00:00:00:01:${hex(p.index + 1)}`;
export const podMac = (p: Pod) => `02:aa:00:00:00:${hex(p.index + 1)}`;

export interface LiveOptions {
  /** Namespace of pod p. */
  netns: (p: Pod) => string;
  /** Where the case's NetworkPolicy YAML was written (networkPolicyFile), when it has policies. */
  policyFile?: string;
}

export function truthConfigYaml(c: TruthCase, live?: LiveOptions): string {
  const config: Record<string, unknown> = {
    ports: PODS.map((p) => ({
      name: portName(p),
      mac: routerMac(p),
      address: `${p.gateway}/24`,
      ...(live === undefined ? {} : { io: { type: 'tap', netns: live.netns(p), peerAddress: `${p.address}/24`, peerName: 'eth0' } }),
    })),
    endpoints: endpointsConfig(),
    namespaces: namespacesConfig(),
  };
  if (live === undefined) config.neighbors = PODS.map((p) => ({ address: p.address, mac: podMac(p) }));
  if (live?.policyFile !== undefined && c.policies.length > 0) config.networkPolicyFile = live.policyFile;
  else config.networkPolicies = c.policies;
  if (c.vpcRules !== undefined) config.firewall = { rules: c.vpcRules };
  return `# firewall truth table: ${c.name}\n${stringify(config)}`;
}

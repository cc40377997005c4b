// The firewall's fields after the config failed its schema: as much of them
// as is valid, so the checks that need parsed values (a cidr's host bits, a
// protocol's name, a rule name used twice, every NetworkPolicy) still run and
// a rule with several mistakes shows all of them in one pass, as a config's
// routes and ports do, instead of one now and the next after the fix.
//
// A VPC rule that fails the schema is kept field by field: each field that is
// valid on its own is kept, each that is not is replaced by a value no check
// complains about (its problem is the schema's, reported already), and list
// elements are replaced in place, never removed, so every later problem still
// names its own index (cidrs[1] stays cidrs[1]).
import type { z } from 'zod';
import { validEntries } from './valid-entries.js';
import { endpointSchema, firewallConfigShape, namespaceSchema, vpcRuleSchema, type FirewallSource } from './firewall-schema.js';

type VpcRule = z.infer<typeof vpcRuleSchema>;
type AddressSet = NonNullable<VpcRule['source']>;
type ProtocolEntry = NonNullable<VpcRule['protocols']>[number];

/**
 * The name of a rule whose own name failed the schema: empty, which no valid
 * name is, so compileVpcRules does not count it as a duplicate of anything.
 */
export const UNNAMED_RULE = '';

const shape = vpcRuleSchema.shape;
const addressSetShape = shape.source.unwrap().shape;
const protocolEntry = shape.protocols.unwrap().element;
/** Matches every address and is no cidr's problem: what a cidr the schema refused stands for. */
const ANY_CIDR = '0.0.0.0/0';
/** Every protocol, no ports: what a protocols entry the schema refused stands for. */
const ANY_PROTOCOL: ProtocolEntry = { protocol: 'all' };

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field<T>(schema: z.ZodType<T>, value: unknown, fallback: T): T {
  const r = schema.safeParse(value);
  return r.success ? r.data : fallback;
}

function addressSet(value: unknown): AddressSet | undefined {
  if (!isMapping(value)) return undefined;
  const cidrs = Array.isArray(value.cidrs) ? value.cidrs.map((c) => field(addressSetShape.cidrs.unwrap().element, c, ANY_CIDR)) : undefined;
  // Labels given but refused stand as given (no "give cidrs or labels" on top of their problem).
  const labels = value.labels === undefined ? undefined : field(addressSetShape.labels, value.labels, {});
  return { cidrs, labels };
}

function salvageRule(value: unknown): VpcRule {
  const whole = vpcRuleSchema.safeParse(value);
  if (whole.success) return whole.data;
  const r = isMapping(value) ? value : {};
  const protocols = Array.isArray(r.protocols) && r.protocols.length > 0 ? r.protocols.map((p) => field(protocolEntry, p, ANY_PROTOCOL)) : undefined;
  return {
    name: field(shape.name, r.name, UNNAMED_RULE),
    direction: field(shape.direction, r.direction, 'ingress'),
    priority: field(shape.priority, r.priority, 1000),
    action: field(shape.action, r.action, 'allow'),
    protocols,
    source: addressSet(r.source),
    destination: addressSet(r.destination),
    targets: field(shape.targets, r.targets, undefined),
  };
}

/** Salvaged endpoints and namespaces: where each kept entry stands in the list as written. */
export interface SalvagedEntries {
  endpoints: number[];
  namespaces: number[];
  /** Endpoints were written but the schema refused every one: the firewall is checked without them. */
  endpointsAllRefused: boolean;
}

/**
 * After the whole config failed its schema: the firewall's fields, with each
 * VPC rule salvaged as above, and the endpoints and namespaces that are
 * valid on their own (`at` says where each stands as written, so the checks'
 * problems can name it by its own index). The rules and policies are then
 * checked against the endpoints kept: no check blames a rule or policy for
 * an endpoint that is missing (a selector that selects nothing is no
 * problem), so what the schema refused in an endpoint no longer hides the
 * policies' mistakes until the next run.
 */
export function salvageFirewall(js: Record<string, unknown>): { source: FirewallSource; at: SalvagedEntries } {
  const endpoints = validEntries(js.endpoints, endpointSchema);
  const namespaces = validEntries(js.namespaces, namespaceSchema);
  const out: FirewallSource = {};
  if (endpoints !== undefined) out.endpoints = endpoints.items;
  if (namespaces !== undefined) out.namespaces = namespaces.items;
  const at: SalvagedEntries = {
    endpoints: endpoints?.at ?? [],
    namespaces: namespaces?.at ?? [],
    endpointsAllRefused: endpoints !== undefined && endpoints.items.length === 0 && (js.endpoints as unknown[]).length > 0,
  };
  const policies = firewallConfigShape.networkPolicies.safeParse(js.networkPolicies);
  if (policies.success) out.networkPolicies = policies.data;
  const file = firewallConfigShape.networkPolicyFile.safeParse(js.networkPolicyFile);
  if (file.success) out.networkPolicyFile = file.data;
  if (js.firewall !== undefined) {
    const whole = firewallConfigShape.firewall.safeParse(js.firewall);
    if (whole.success) out.firewall = whole.data;
    else if (isMapping(js.firewall) && (js.firewall.rules === undefined || Array.isArray(js.firewall.rules))) {
      out.firewall = { rules: ((js.firewall.rules as unknown[] | undefined) ?? []).map(salvageRule) };
    }
  }
  return { source: out, at };
}

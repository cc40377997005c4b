// The endpoints a firewall protects and the namespaces they live in, checked
// and indexed for the compilers of VPC rules (firewall.ts) and
// NetworkPolicy (network-policy.ts): labels and selectors resolve here to
// endpoint addresses.
import { ipv4ToString, parseIpv4Address } from '../wire/address.js';
import type { AddressMatch, Cidr } from '../firewall/plan.js';
import type { FirewallSource, LabelSelector } from './firewall-schema.js';
import { hostAddressProblem, portWithAddress, type AddressCheckPort } from './address-check.js';

/** Set on every namespace by the API server (Kubernetes 1.22+), so a namespaceSelector can name one namespace. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Where an endpoint without a namespace lives (where a pod created without one lands). */
export const DEFAULT_NAMESPACE = 'default';

/**
 * An endpoint's or a namespace's labels. A Map, not an object: a label key is
 * data, and a key such as "constructor" or "toString" must be found only when
 * it was given (an object would answer for it from its prototype).
 */
export type Labels = ReadonlyMap<string, string>;
export const NO_LABELS: Labels = new Map();
/** Labels as a selector, a rule or the YAML give them (label-syntax.ts keys, checked by the schema). */
export type LabelPairs = Readonly<Record<string, string>>;

export interface Endpoint {
  address: number;
  namespace: string;
  labels: Labels;
  /** Named ports: "name/PROTOCOL" -> number. */
  ports: Map<string, number>;
}

export interface EndpointSet {
  endpoints: Endpoint[];
  /** Namespace name -> its labels (with kubernetes.io/metadata.name), for every declared namespace and every namespace an endpoint is in. */
  namespaces: Map<string, Labels>;
}

export const ANY: AddressMatch = { include: [{ addr: 0, len: 0 }], except: [] };

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** A schema-checked "A.B.C.D/LEN"; host bits are a problem when `field` is given, else cleared (as Kubernetes parses an ipBlock). */
export function parseCidr(text: string, field: string | undefined, problems: string[]): Cidr {
  const [a, l] = text.split('/');
  const len = Number(l);
  const raw = parseIpv4Address(a);
  const addr = (raw & maskOf(len)) >>> 0;
  if (field !== undefined && addr !== raw) problems.push(`${field}: ${text} has host bits set for /${len} (did you mean ${ipv4ToString(addr)}/${len}?)`);
  return { addr, len };
}

export function hostsOf(endpoints: readonly Endpoint[]): AddressMatch {
  return { include: endpoints.map((e) => ({ addr: e.address, len: 32 })), except: [] };
}

/** True when `labels` has every pair of `wanted` (an empty `wanted` matches everything). */
export function hasLabels(labels: Labels, wanted: LabelPairs): boolean {
  for (const [k, v] of Object.entries(wanted)) if (labels.get(k) !== v) return false;
  return true;
}

/** A Kubernetes label selector's meaning: matchLabels AND every matchExpression. Checked by checkSelector first. */
export function selects(sel: LabelSelector, labels: Labels): boolean {
  if (sel.matchLabels !== undefined && !hasLabels(labels, sel.matchLabels)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const value = labels.get(e.key);
    const has = value !== undefined;
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** What the API server refuses in a selector: In/NotIn without values, Exists/DoesNotExist with them. */
export function checkSelector(sel: LabelSelector, field: string, problems: string[]): boolean {
  let ok = true;
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const n = e.values?.length ?? 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) {
      problems.push(`${field}.matchExpressions[${i}].values: ${e.operator} needs at least one value`);
      ok = false;
    } else if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) {
      problems.push(`${field}.matchExpressions[${i}].values: ${e.operator} takes no values`);
      ok = false;
    }
  });
  return ok;
}

/**
 * Checks `endpoints:` and `namespaces:` (addresses and names once each, port
 * names once per endpoint); an endpoint's address is one host's
 * (address-check.ts), not one of the router's ports (`routerPorts`).
 */
export function checkEndpoints(raw: FirewallSource, problems: string[], routerPorts: readonly AddressCheckPort[] = []): EndpointSet {
  const endpoints: Endpoint[] = [];
  const seen = new Map<number, number>();
  (raw.endpoints ?? []).forEach((e, i) => {
    const address = parseIpv4Address(e.address);
    const notHost = hostAddressProblem(address, routerPorts);
    const own = portWithAddress(address, routerPorts);
    if (notHost !== undefined) problems.push(`endpoints[${i}].address: ${e.address} ${notHost}; an endpoint is one VM or pod`);
    else if (own !== undefined) problems.push(`endpoints[${i}].address: ${e.address} is port "${own.name}"'s own address (the router is not an endpoint it protects)`);
    const other = seen.get(address);
    if (other !== undefined) problems.push(`endpoints[${i}].address: ${e.address} is listed twice (endpoints[${other}])`);
    else seen.set(address, i);
    const ports = new Map<string, number>();
    const names = new Map<string, number>();
    e.ports.forEach((p, j) => {
      const first = names.get(p.name);
      if (first !== undefined) problems.push(`endpoints[${i}].ports[${j}].name: "${p.name}" is already endpoints[${i}].ports[${first}]`);
      else names.set(p.name, j);
      ports.set(`${p.name}/${p.protocol}`, p.port);
    });
    endpoints.push({ address, namespace: e.namespace ?? DEFAULT_NAMESPACE, labels: new Map(Object.entries(e.labels)), ports });
  });
  const namespaces = new Map<string, Labels>();
  (raw.namespaces ?? []).forEach((ns, i) => {
    if (namespaces.has(ns.name)) problems.push(`namespaces[${i}].name: "${ns.name}" is listed twice`);
    // The API server sets the name label whatever the manifest says.
    namespaces.set(ns.name, new Map([...Object.entries(ns.labels), [NAMESPACE_NAME_LABEL, ns.name]]));
  });
  for (const e of endpoints) if (!namespaces.has(e.namespace)) namespaces.set(e.namespace, new Map([[NAMESPACE_NAME_LABEL, e.namespace]]));
  return { endpoints, namespaces };
}

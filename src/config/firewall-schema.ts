// The firewall's part of the YAML config: endpoints (VMs or pods) and their
// namespaces, VPC firewall rules (`firewall:`) and Kubernetes NetworkPolicy
// objects (`networkPolicies:` inline, `networkPolicyFile:` as kubectl writes
// them). Shapes only; firewall.ts checks what needs the whole config
// (duplicates, named ports, endPort) and compiles them.
//
// NetworkPolicy objects are checked one at a time by firewall.ts with
// networkPolicySchema (inline and file alike, so one broken policy does not
// hide the others' problems): configSchema takes `networkPolicies` as a list
// of anything.
import { z } from 'zod';
import { labelKeyProblems, labelValueProblems } from './label-syntax.js';
import { quoted } from './quoted.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
/** A namespace name: a DNS label (RFC 1123), at most 63 characters. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A named port (IANA_SVC_NAME): 1-15 lowercase letters, digits and single hyphens, with a letter, no hyphen at either end. */
export const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9])){0,14}$/;
/** A VPC firewall rule name, as GCP spells them: a lowercase letter, then lowercase letters, digits and hyphens, 63 at most. */
const RULE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const ipv4String = z.string().regex(IPV4, 'must be a dotted-quad IPv4 address such as 192.0.2.1');
const cidrString = z.string().regex(CIDR, 'must be an IPv4 prefix such as 192.0.2.0/24');
const portNumber = z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One line for all that is wrong with a label key (a prefix and a name can both be). */
function keyProblem(k: string): string | undefined {
  const why = labelKeyProblems(k);
  return why.length === 0 ? undefined : `invalid label key ${quoted(k)}: ${why.join('; ')}`;
}

function valueProblem(v: string): string | undefined {
  const why = labelValueProblems(v);
  return why.length === 0 ? undefined : `invalid label value ${quoted(v)}: ${why.join('; ')}`;
}

/** A label selector's key (matchExpressions[].key), refused in the API server's words (label-syntax.ts). */
const labelKey = z.string().superRefine((k, ctx) => {
  const why = keyProblem(k);
  if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
});

/** A label value as a selector's matchExpressions[].values take it. */
const labelValue = z.string().superRefine((v, ctx) => {
  const why = valueProblem(v);
  if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
});

const LABEL_VALUE_TYPE = 'must be a string (quote numbers and booleans: "1", "true")';

/**
 * Labels (`labels:`, `matchLabels:`): a mapping of label keys to label
 * values. Keys and values are checked before the record schema sees them:
 * zod's record leaves a key "__proto__" out of what it returns without a
 * word, so a label of that name would vanish instead of being refused. Each
 * problem names its key ("labels.bad key: ..."), where the record would say
 * "Invalid key in record"; all of them come in one pass.
 */
export const labelsSchema = z.preprocess(
  (input, ctx) => {
    if (!isMapping(input)) return input; // the record says what it expected
    for (const [k, v] of Object.entries(input)) {
      const badKey = keyProblem(k);
      const badValue = typeof v !== 'string' ? LABEL_VALUE_TYPE : valueProblem(v);
      if (badKey !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: badKey, input: k });
      if (badValue !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: badValue, input: v });
    }
    return input;
  },
  z.record(z.string(), z.string({ error: LABEL_VALUE_TYPE })),
);

const namespaceName = z.string().regex(DNS_LABEL, 'must be a namespace name: lowercase letters, digits and "-" (at most 63)');

/** A named port of an endpoint, as a pod's containerPort declares it. */
const endpointPortSchema = z
  .object({
    name: z.string().regex(PORT_NAME, 'must be a port name: 1-15 lowercase letters, digits and "-", with a letter (IANA_SVC_NAME)'),
    port: portNumber,
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  })
  .strict();

export const endpointSchema = z
  .object({
    address: ipv4String,
    /** Kubernetes namespace; default "default" (where a pod created without one lands). */
    namespace: namespaceName.optional(),
    labels: labelsSchema.default({}),
    ports: z.array(endpointPortSchema).default([]),
  })
  .strict();

export const namespaceSchema = z
  .object({
    name: namespaceName,
    labels: labelsSchema.default({}),
  })
  .strict();

// Ports and protocols are numbers or strings here; firewall.ts reads them
// and names what is wrong ("8080-80": LOW > HIGH) better than a union can.
/** A port or a range "LOW-HIGH". */
const rulePort = z.union([z.number(), z.string()], { error: 'must be a port or a range such as 8000-8080' });
/** tcp, udp, icmp, sctp, all, or an IP protocol number 0-255. */
const ruleProtocol = z.union([z.string(), z.number()], { error: 'must be tcp, udp, icmp, sctp, all or a protocol number 0-255' });

/** Addresses a VPC rule's source or destination allows: cidrs OR endpoints with these labels (GCP's sourceRanges and sourceTags). */
const addressSetSchema = z
  .object({
    cidrs: z.array(cidrString).optional(),
    labels: labelsSchema.optional(),
  })
  .strict();

export const vpcRuleSchema = z
  .object({
    name: z.string().regex(RULE_NAME, 'must be a rule name: a lowercase letter, then lowercase letters, digits and "-" (at most 63)'),
    direction: z.enum(['ingress', 'egress']),
    /** Lower wins; GCP's default. */
    priority: z.number().int('must be a whole number').min(0, 'must be 0-65535').max(65535, 'must be 0-65535').default(1000),
    action: z.enum(['allow', 'deny', 'reject']),
    /** Absent: every protocol. */
    protocols: z
      .array(z.object({ protocol: ruleProtocol, ports: z.array(rulePort).optional() }).strict())
      .min(1, 'must list at least one protocol (leave "protocols" out for all)')
      .optional(),
    source: addressSetSchema.optional(),
    destination: addressSetSchema.optional(),
    /** The endpoints the rule protects: the destination of ingress, the source of egress. Absent: all endpoints. */
    targets: z.object({ labels: labelsSchema }).strict().optional(),
  })
  .strict();

export const vpcFirewallSchema = z
  .object({
    rules: z.array(vpcRuleSchema).default([]),
  })
  .strict();

// NetworkPolicy (networking.k8s.io/v1). metadata and the object's top level
// take what kubectl writes (uid, resourceVersion, annotations, status...)
// and ignore it; spec is strict, so a typo such as "ingres" is named.

const labelSelectorSchema = z
  .object({
    matchLabels: labelsSchema.optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: labelKey,
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(labelValue).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type LabelSelector = z.infer<typeof labelSelectorSchema>;

const peerSchema = z
  .object({
    podSelector: labelSelectorSchema.optional(),
    namespaceSelector: labelSelectorSchema.optional(),
    ipBlock: z.object({ cidr: cidrString, except: z.array(cidrString).optional() }).strict().optional(),
  })
  .strict();

const policyPortSchema = z
  .object({
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
    /** A number or a named port of the endpoints. */
    port: z.union([z.number(), z.string()], { error: 'must be a port number or a port name' }).optional(),
    endPort: portNumber.optional(),
  })
  .strict();

export const networkPolicySchema = z
  .object({
    apiVersion: z.literal('networking.k8s.io/v1', { error: 'must be networking.k8s.io/v1' }).optional(),
    kind: z.literal('NetworkPolicy', { error: 'must be NetworkPolicy' }).optional(),
    metadata: z
      .object({
        name: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a name: lowercase letters, digits, "-" and "."'),
        namespace: namespaceName.default('default'),
      })
      .loose(),
    spec: z
      .object({
        podSelector: labelSelectorSchema.default({}),
        policyTypes: z.array(z.enum(['Ingress', 'Egress'])).optional(),
        ingress: z.array(z.object({ from: z.array(peerSchema).optional(), ports: z.array(policyPortSchema).optional() }).strict()).optional(),
        egress: z.array(z.object({ to: z.array(peerSchema).optional(), ports: z.array(policyPortSchema).optional() }).strict()).optional(),
      })
      .strict(),
    status: z.unknown().optional(),
  })
  .strict();

export type NetworkPolicy = z.infer<typeof networkPolicySchema>;

/** The config's fields the firewall compiles (all optional: no firewall without them). */
export const firewallConfigShape = {
  /** What the firewall protects: VMs or pods, by address. */
  endpoints: z.array(endpointSchema).optional(),
  /** Kubernetes namespaces' labels (each also has kubernetes.io/metadata.name=<name>). */
  namespaces: z.array(namespaceSchema).optional(),
  /** VPC firewall rules (GCP's model). */
  firewall: vpcFirewallSchema.optional(),
  /** NetworkPolicy objects, checked one by one (firewall.ts). */
  networkPolicies: z.array(z.unknown()).optional(),
  /** A YAML file of NetworkPolicy objects (multi-document, or List items), relative to the config. */
  networkPolicyFile: z.string().min(1, 'must be a file path').optional(),
};

export type FirewallSource = z.infer<z.ZodObject<typeof firewallConfigShape>>;

// A zod issue's message as the config loaders word it. zod says a field left
// out is "Invalid input: expected string, received undefined", which reads
// as if something had been given, and a value of the wrong kind "expected
// object, received array", which is the schema's vocabulary, not YAML's. The
// loaders say a field is missing, name both kinds as YAML writes them, and
// for a section written as a list where it takes a mapping, show the shape.
import type { z } from 'zod';

const KIND: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  null: 'nothing (an empty value)',
};

/** Sections that take a mapping and hold one list, the usual mistake being to write that list in their place. */
const MAPPING_SHAPE: Readonly<Record<string, string>> = {
  firewall: 'firewall: { rules: [ ... ] }',
  loadBalancer: 'loadBalancer: { vips: [ ... ] }',
  nat: 'nat: { masquerade: [ ... ], snat: [ ... ], dnat: [ ... ] }',
  metrics: 'metrics: { listen: 127.0.0.1:9469 }',
  control: 'control: { socket: /run/dataplane/dataplane.sock }',
};

const WRONG_KIND = /^Invalid input: expected (\w+), received (\S+)$/;

/**
 * The issue's message: "required field missing (expected a list)" for a field
 * left out, "expected a mapping, got a list (write it as firewall: { rules: [ ... ] })"
 * for a value of the wrong kind. `path` is the field's full path from the
 * top of the config, when the caller knows it (it picks the shape shown).
 */
export function issueMessage(issue: z.core.$ZodIssue, path: readonly PropertyKey[] = issue.path): string {
  // zod's "Invalid option: expected one of \"tcp\"|\"udp\"", as the loaders list choices.
  if (issue.code === 'invalid_value' && /^Invalid (option|input)/.test(issue.message)) {
    const values = issue.values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
    return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}`;
  }
  if (issue.code !== 'invalid_type') return issue.message;
  if (/received undefined$/.test(issue.message)) return `required field missing (expected ${KIND[issue.expected] ?? issue.expected})`;
  const kinds = WRONG_KIND.exec(issue.message);
  if (kinds === null) return issue.message;
  const [, expected, received] = kinds;
  const text = `expected ${KIND[expected] ?? expected}, got ${KIND[received] ?? received}`;
  if (expected === 'object' && received === 'array') {
    const field = path.length === 1 ? String(path[0]) : undefined;
    const shape = field === undefined ? undefined : MAPPING_SHAPE[field];
    return `${text} (write it as ${shape ?? 'fields, key: value, not a list of items'})`;
  }
  return text;
}

/**
 * A zod `error` for a field of fixed choices whose message lists them
 * ("must be tcp or udp"): a field left out is said to be missing, so
 * `affinity: {}` reads "required field missing ..." rather than as if a
 * wrong value had been given. `missing` words the missing case when the
 * choices alone do not say what to do.
 */
export function choiceError(text: string, missing = `required field missing (${text.replace(/^must be /, '')})`): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? missing : text);
}

const MISSING_DISCRIMINATOR = 'required field missing';

/**
 * The `error` of a discriminated union on `key` (a port's io, a health
 * check): marks the issue of a mapping without `key`, so unionMessage says
 * the field is missing; any other issue keeps zod's message.
 */
export function discriminatorError(key: string): (issue: { code?: string; input?: unknown }) => string | undefined {
  return (issue) =>
    issue.code === 'invalid_union' && typeof issue.input === 'object' && issue.input !== null && !Object.hasOwn(issue.input, key) ? MISSING_DISCRIMINATOR : undefined;
}

/** A discriminated union's issue in the loaders' words: 'must be one of "tap", "afpacket"', or 'required field missing (one of ...)'. */
export function unionMessage(issue: z.core.$ZodIssue, options: readonly unknown[]): string {
  const list = options.map((o) => `"${String(o)}"`).join(', ');
  return issue.message === MISSING_DISCRIMINATOR ? `required field missing (one of ${list})` : `must be one of ${list}`;
}

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

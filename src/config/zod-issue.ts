// A zod issue's message as the config loaders word it. zod says a field left
// out is "Invalid input: expected string, received undefined", which reads
// as if something had been given; the loaders say it is missing.
import type { z } from 'zod';

const KIND: Readonly<Record<string, string>> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list', object: 'a mapping' };

/** The issue's message, "required field missing (expected a list)" for a field left out. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `required field missing (expected ${KIND[issue.expected] ?? issue.expected})`;
  return issue.message;
}

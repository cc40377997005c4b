// Kubernetes label syntax, checked as the API server checks it
// (k8s.io/apimachinery util/validation: IsQualifiedName for a key,
// IsValidLabelValue for a value) and refused in its words, so a label that
// kubectl would refuse is refused here for the same reason:
//
//   key    [PREFIX/]NAME  PREFIX a lowercase RFC 1123 subdomain of at most 253
//                         characters; NAME at most 63 of [A-Za-z0-9_.-],
//                         starting and ending with a letter or digit
//   value  empty, or at most 63 characters as NAME
//
// Neither lets through "__proto__" or any other key that starts or ends with
// "_", so no label key can reach an object's prototype; the code that stores
// labels keeps them in Maps all the same (firewall-endpoints.ts), so a valid
// key such as "constructor" is a label like any other.

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_MAX = 63;
const PREFIX_MAX = 253;
const VALUE_MAX = 63;

// The reasons as the API server gives them, without its regular expressions.
const NAME_RULE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')";
const SUBDOMAIN_RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
const VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', 'my_value' or '12345')";

const tooLong = (n: number) => `must be no more than ${n} characters`;

/** Why `key` is not a label key, in the API server's words; [] when it is one. */
export function labelKeyProblems(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) return [`a qualified name ${NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  const problems: string[] = [];
  const name = parts.length === 2 ? parts[1] : parts[0];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === '') problems.push('prefix part must be non-empty');
    else {
      if (prefix.length > PREFIX_MAX) problems.push(`prefix part ${tooLong(PREFIX_MAX)}`);
      if (!SUBDOMAIN.test(prefix)) problems.push(`prefix part ${SUBDOMAIN_RULE}`);
    }
  }
  if (name === '') problems.push('name part must be non-empty');
  else if (name.length > NAME_MAX) problems.push(`name part ${tooLong(NAME_MAX)}`);
  if (name !== '' && !NAME.test(name)) problems.push(`name part ${NAME_RULE}`);
  return problems;
}

/** Why `value` is not a label value, in the API server's words; [] when it is one. */
export function labelValueProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > VALUE_MAX) problems.push(tooLong(VALUE_MAX));
  if (value !== '' && !NAME.test(value)) problems.push(VALUE_RULE);
  return problems;
}

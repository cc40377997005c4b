// How every user-written YAML file is read (the config, its networkPolicyFile,
// the firewall `ctl firewall set` sends, the control section `ctl --config`
// reads), so one file means the same thing wherever it is given.
//
// Merge keys (`<<: *defaults`, as docker-compose files use them) are on: YAML
// 1.2 dropped them from the spec, but users share settings between VIPs,
// rules and ports this way and expect it to work; without it `<<` reads as a
// field named "<<" and the file is refused with "unknown field". A key given
// next to `<<` wins over the merged one (the YAML 1.1 merge rule).
// Duplicate keys stay an error, and alias expansions (merged ones included)
// stay bounded, so an alias bomb is refused instead of filling memory.
import type { DocumentOptions, ParseOptions, SchemaOptions, ToJSOptions } from 'yaml';

/** Alias expansions a file may use: plenty for anchors, too few for a billion laughs. */
export const MAX_YAML_ALIASES = 1000;

/** parseDocument / parseAllDocuments options. */
export const YAML_PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { merge: true, uniqueKeys: true };

/** Document.toJS options. */
export const YAML_TO_JS_OPTIONS: ToJSOptions = { maxAliasCount: MAX_YAML_ALIASES };

/** yaml's parse(), which reads straight to JavaScript values: both of the above. */
export const YAML_PARSE_TO_JS_OPTIONS = { ...YAML_PARSE_OPTIONS, ...YAML_TO_JS_OPTIONS };

/**
 * A config's top level without its extension fields: keys starting with "x-"
 * are ignored, as docker-compose ignores them, so shared settings have a
 * place to live (`x-defaults: &defaults { ... }`) that the strict schema
 * does not refuse as an unknown field. Other levels stay strict: a typo
 * inside a section is still named.
 */
export function withoutExtensionFields(js: unknown): unknown {
  if (typeof js !== 'object' || js === null || Array.isArray(js)) return js;
  const keys = Object.keys(js);
  if (!keys.some(isExtensionField)) return js;
  return Object.fromEntries(Object.entries(js).filter(([k]) => !isExtensionField(k)));
}

export function isExtensionField(key: string): boolean {
  return key.startsWith('x-');
}

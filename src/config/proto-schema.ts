// The config's protobuf schema (proto/dataplane/config.proto), loaded at run
// time with protobufjs, and the conventions by which YAML maps onto it (the
// file's header states them; the checker, the reference and the drift test
// all read them from here so that they cannot disagree).
//
// The .proto files ship with the package (proto/ at its root) and are found
// from this module's own place, so the same code works from src/ (vitest)
// and from dist/src/ (the installed CLI).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const PROTO_PACKAGE = 'dataplane.v1';
/** The config schema's file, relative to the package's proto/ directory. */
export const CONFIG_PROTO = 'dataplane/config.proto';
/** The oneof whose members are a YAML union's forms (proto/dataplane/config.proto's header). */
export const UNION_ONEOF = 'form';

/** The package's proto/ directory: the nearest one above this module (src/config/ or dist/src/config/). */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    if (existsSync(join(dir, 'proto', CONFIG_PROTO))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error(`proto/${CONFIG_PROTO} not found above ${fileURLToPath(import.meta.url)} (the package ships it)`);
}

let cached: protobuf.Root | undefined;

/**
 * Parses the schema under `dir` (a proto/ directory) and resolves it (every
 * field knows its type). Field names are kept as written (snake_case) and
 * comments are kept for the reference; a field's YAML key is its jsonName.
 */
export function loadProtoRoot(dir: string): protobuf.Root {
  const root = new protobuf.Root();
  // Imports resolve inside proto/ (google/protobuf/* are bundled with protobufjs).
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(dir, target));
  root.loadSync(CONFIG_PROTO, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** The package's schema, parsed once per process. */
export function protoRoot(): protobuf.Root {
  cached ??= loadProtoRoot(protoDir());
  return cached;
}

/** A message of the config schema by its short name ("Config", "Port"...). */
export function configType(name = 'Config'): protobuf.Type {
  return protoRoot().lookupType(`${PROTO_PACKAGE}.${name}`);
}

/** google.protobuf.Struct: an opaque mapping checked by other code (NetworkPolicy). */
export function isStruct(type: protobuf.Type): boolean {
  return type.fullName === '.google.protobuf.Struct';
}

/**
 * The members of a YAML union (all of a message's fields in the oneof
 * `form`), or undefined for an ordinary message.
 */
export function unionMembers(type: protobuf.Type): protobuf.Field[] | undefined {
  const form = type.oneofs?.[UNION_ONEOF];
  if (form === undefined || form.fieldsArray.length !== type.fieldsArray.length) return undefined;
  return form.fieldsArray;
}

/** A singular field without `optional` must be given in YAML; lists, maps and oneof members never are. */
export function isRequired(field: protobuf.Field): boolean {
  return !field.repeated && !field.map && field.partOf === null && field.options?.proto3_optional !== true;
}

/** The field's YAML key (its JSON name: lowerCamelCase, or json_name). */
export function yamlKey(field: protobuf.Field): string {
  return field.jsonName;
}

const enumSpellings = new WeakMap<protobuf.Enum, Map<string, string>>();

/**
 * An enum's YAML spellings, lower case, each mapped to its value's name:
 * the value name without the enum's prefix, "_" as "-"
 * (FILTERING_ENDPOINT_INDEPENDENT: endpoint-independent). The zero value
 * (*_UNSPECIFIED) is for the API only.
 */
export function yamlEnumValues(e: protobuf.Enum): Map<string, string> {
  let m = enumSpellings.get(e);
  if (m !== undefined) return m;
  const prefix = `${e.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_`;
  m = new Map();
  for (const [name, id] of Object.entries(e.values)) {
    if (id === 0) continue;
    const bare = name.startsWith(prefix) ? name.slice(prefix.length) : name;
    m.set(bare.toLowerCase().replace(/_/g, '-'), name);
  }
  enumSpellings.set(e, m);
  return m;
}

/** Protobuf scalar types the YAML writes as whole numbers, with their ranges. */
export const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

// Walks the protobuf schema (config.proto) and the zod schema (schema.ts)
// side by side from Config down, field by field, and says where they
// disagree: a field one has and the other lacks, another kind of value, a
// list against a single value, required against optional, other enum
// values. The drift test wants no disagreement; the config reference takes
// each message's zod fields (for their defaults) from the same walk.
import type protobuf from 'protobufjs';
import type { z } from 'zod';
import { vipSchema } from './load-balancer-schema.js';
import { configType, INTEGER_RANGES, isRequired, isStruct, unionMembers, yamlEnumValues, yamlKey } from './proto-schema.js';
import { configSchema } from './schema.js';
import { describeZod, type ZodField, type ZodShape } from './zod-shape.js';

/**
 * Fields the config schema takes as "anything" because other code checks
 * each element with its own schema (so that one bad VIP keeps its index in
 * messages and does not hide the others): the walk follows that schema.
 */
const CHECKED_ELSEWHERE: Record<string, z.ZodType> = {
  'loadBalancer.vips[]': vipSchema,
};

/**
 * Where zod takes any number and the proto a whole one, on purpose: the
 * firewall compiler (firewall.ts) reads these values itself and names what
 * is wrong with them ("8080-80": LOW > HIGH; 1.5 is not a port) better than a
 * schema could. Paths with [] for "every element".
 */
export const ALLOWED_DIFFERENCES: Record<string, string> = {
  'firewall.rules[].protocols[].protocol': 'firewall.ts checks protocol numbers (0-255, whole) and names',
  'firewall.rules[].protocols[].ports[]': 'firewall.ts checks ports and ranges (1-65535, whole, LOW <= HIGH)',
};

export interface PairVisitor {
  /** A message met at `path` (first meeting of each message only), with the zod fields found there. */
  message?(type: protobuf.Type, zodFields: Map<string, ZodField>, path: string): void;
  /** A disagreement. */
  disagree(path: string, what: string): void;
}

function protoKind(field: protobuf.Field): string {
  const t = field.resolvedType;
  if (t !== null) return 'values' in t ? 'enum' : isStruct(t as protobuf.Type) ? 'unknown' : unionMembers(t as protobuf.Type) !== undefined ? 'union' : 'object';
  if (INTEGER_RANGES[field.type] !== undefined) return 'int';
  if (field.type === 'double' || field.type === 'float') return 'number';
  if (field.type === 'bool') return 'boolean';
  return 'string';
}

class Walker {
  private readonly seen = new Set<string>();
  constructor(private readonly v: PairVisitor) {}

  message(type: protobuf.Type, zod: ZodShape, path: string): void {
    if (zod.kind !== 'object') {
      this.v.disagree(path, `proto ${type.name} is a mapping, zod has ${zod.kind}`);
      return;
    }
    const first = !this.seen.has(type.fullName);
    this.seen.add(type.fullName);
    if (first) this.v.message?.(type, zod.fields, path);
    const keys = new Set(type.fieldsArray.map(yamlKey));
    for (const name of zod.fields.keys()) if (!keys.has(name)) this.v.disagree(join(path, name), `in zod, not in proto ${type.name}`);
    for (const field of type.fieldsArray) {
      const key = yamlKey(field);
      const zf = zod.fields.get(key);
      if (zf === undefined) this.v.disagree(join(path, key), `in proto ${type.name}, not in zod`);
      else this.field(field, zf, join(path, key));
    }
  }

  private field(field: protobuf.Field, zf: ZodField, path: string): void {
    if (field.map) {
      if (zf.shape.kind !== 'record') return this.v.disagree(path, `proto map, zod ${zf.shape.kind}`);
      return this.value(field, zf.shape.value, `${path}{}`);
    }
    if (field.repeated) {
      if (zf.shape.kind !== 'array') return this.v.disagree(path, `proto repeated, zod ${zf.shape.kind}`);
      return this.value(field, this.substitute(`${path}[]`, zf.shape.element), `${path}[]`);
    }
    if (zf.shape.kind === 'array' || zf.shape.kind === 'record') return this.v.disagree(path, `proto single value, zod ${zf.shape.kind}`);
    if (isRequired(field) !== zf.required) this.v.disagree(path, `proto ${isRequired(field) ? 'required' : 'optional'}, zod ${zf.required ? 'required' : 'optional'}`);
    this.value(field, zf.shape, path);
  }

  private substitute(path: string, shape: ZodShape): ZodShape {
    const other = CHECKED_ELSEWHERE[path];
    return other !== undefined && shape.kind === 'unknown' ? describeZod(other) : shape;
  }

  /** One value of the field against one zod shape. */
  private value(field: protobuf.Field, zod: ZodShape, path: string): void {
    const kind = protoKind(field);
    if (kind === 'object') return this.message(field.resolvedType as protobuf.Type, zod, path);
    if (kind === 'union') return this.union(unionMembers(field.resolvedType as protobuf.Type)!, zod, path);
    if (kind === 'enum') {
      if (zod.kind !== 'enum') return this.v.disagree(path, `proto enum, zod ${zod.kind}`);
      const proto = [...yamlEnumValues(field.resolvedType as protobuf.Enum).keys()].sort();
      const zodValues = [...new Set(zod.values.map((x) => x.toLowerCase()))].sort();
      if (proto.join() !== zodValues.join()) this.v.disagree(path, `proto enum ${proto.join('|')}, zod ${zodValues.join('|')}`);
      return;
    }
    if (kind === zod.kind) return;
    if (kind === 'int' && zod.kind === 'number' && ALLOWED_DIFFERENCES[path] !== undefined) return;
    this.v.disagree(path, `proto ${kind === 'unknown' ? 'Struct' : `${field.type} (${kind})`}, zod ${zod.kind}`);
  }

  /** A YAML union: zod's options and the proto's members pair up by kind, one to one. */
  private union(members: protobuf.Field[], zod: ZodShape, path: string): void {
    if (zod.kind !== 'union') return this.v.disagree(path, `proto union (${members.map((m) => m.name).join('|')}), zod ${zod.kind}`);
    if (zod.options.length !== members.length) return this.v.disagree(path, `proto union of ${members.length}, zod of ${zod.options.length}`);
    const left = [...zod.options];
    for (const m of members) {
      const kind = protoKind(m);
      const numeric = (k: string) => k === 'int' || k === 'number';
      let i = left.findIndex((o) => o.kind === kind || (kind === 'enum' && o.kind === 'enum') || (numeric(kind) && numeric(o.kind)));
      if (i < 0) i = left.findIndex((o) => kind === 'object' && o.kind === 'object');
      if (i < 0) {
        this.v.disagree(path, `proto union member ${m.name} (${kind}) has no zod option`);
        continue;
      }
      this.value(m, left[i], path);
      left.splice(i, 1);
    }
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Walks config.proto's Config and schema.ts's configSchema together (or any pair). */
export function walkSchemas(visitor: PairVisitor, type: protobuf.Type = configType(), zod: z.ZodType = configSchema): void {
  new Walker(visitor).message(type, describeZod(zod), '');
}

/** Every disagreement between the proto and the zod schema, "path: what". */
export function schemaDisagreements(type?: protobuf.Type, zod?: z.ZodType): string[] {
  const out: string[] = [];
  walkSchemas({ disagree: (path, what) => out.push(`${path || '(top level)'}: ${what}`) }, type, zod);
  return out;
}

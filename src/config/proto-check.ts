// Checks a YAML config (as yaml's toJS() gives it) against the protobuf
// schema, before the zod schemas see it: unknown fields, wrong kinds of
// value (a string where a number goes, a list where a mapping goes), enum
// spellings, lists against single values, and fields the proto says must be
// given. Each problem names its field path and the reason, in the form the
// rest of the config checks use ("ports[1].mtu: ...").
//
// Ranges, formats and rules across fields are not checked here: they are
// zod's and the compilers' (schema.ts), whose messages say more (the MTU's
// range and RFC rather than "a uint32"). parseConfig therefore reports a
// problem of this check only where no other check said something about the
// same field (mergeProtoProblems).
import type protobuf from 'protobufjs';
import { configType, INTEGER_RANGES, isRequired, isStruct, unionMembers, yamlEnumValues, yamlKey } from './proto-schema.js';

export interface ProtoProblem {
  /** Field names and list indexes from the top of the config. */
  path: readonly (string | number)[];
  message: string;
}

/** "ports[1].io.type" (as load.ts writes paths); "(top level)" for the root. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

type Path = (string | number)[];

const keyIndexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldsByKey(type: protobuf.Type): Map<string, protobuf.Field> {
  let m = keyIndexes.get(type);
  if (m === undefined) {
    m = new Map(type.fieldsArray.map((f) => [yamlKey(f), f]));
    keyIndexes.set(type, m);
  }
  return m;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a YAML value is, for messages ("a string", "a list"). */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a whole number' : 'a number';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  return typeof v;
}

/** What a field's value must be, in words ("a whole number from 0 to 4294967295"). */
function expected(field: protobuf.Field): string {
  const t = field.resolvedType;
  if (t !== null && 'values' in t) return `one of ${[...yamlEnumValues(t as protobuf.Enum).keys()].map((s) => `"${s}"`).join(', ')}`;
  if (t !== null) {
    const type = t as protobuf.Type;
    const members = unionMembers(type);
    if (members !== undefined) return members.map((m) => expected(m)).join(' or ');
    return isStruct(type) ? 'a mapping' : `a mapping (${type.name})`;
  }
  const range = INTEGER_RANGES[field.type];
  if (range !== undefined) return range[0] === 0 ? 'a whole number' : 'a whole number (may be negative)';
  if (field.type === 'double' || field.type === 'float') return 'a number';
  if (field.type === 'bool') return 'true or false';
  return 'a string';
}

class Checker {
  readonly problems: ProtoProblem[] = [];

  private add(path: Path, message: string): void {
    this.problems.push({ path: [...path], message });
  }

  message(value: unknown, type: protobuf.Type, path: Path): void {
    if (!isMapping(value)) {
      this.add(path, `must be ${isStruct(type) ? 'a mapping' : `a mapping (${type.name})`}, not ${kindOf(value)}`);
      return;
    }
    if (isStruct(type)) return; // opaque: its own checker reads it
    const byKey = fieldsByKey(type);
    const unknown = Object.keys(value).filter((k) => !byKey.has(k));
    if (unknown.length > 0) this.add(path, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`);
    for (const field of type.fieldsArray) {
      const key = yamlKey(field);
      const v = value[key];
      // null is "not given", as in the proto3 JSON mapping; the zod schema says whether null is welcome.
      if (v === undefined || v === null) {
        if (isRequired(field)) this.add([...path, key], `required (${expected(field)})`);
        continue;
      }
      // One path array for the whole walk, pushed and popped: it is copied only into a problem.
      path.push(key);
      this.field(v, field, path);
      path.pop();
    }
  }

  private field(v: unknown, field: protobuf.Field, path: Path): void {
    if (field.map) {
      if (!isMapping(v)) {
        this.add(path, `must be a mapping of ${expected(field)} values, not ${kindOf(v)}`);
        return;
      }
      for (const [k, x] of Object.entries(v)) {
        path.push(k);
        this.single(x, field, path);
        path.pop();
      }
    } else if (field.repeated) {
      if (!Array.isArray(v)) {
        this.add(path, `must be a list (of ${expected(field)}), not ${kindOf(v)}`);
        return;
      }
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        this.single(v[i], field, path);
        path.pop();
      }
    } else this.single(v, field, path);
  }

  /** One value of a field (a list's element, a map's value, or the field itself). */
  private single(v: unknown, field: protobuf.Field, path: Path): void {
    const t = field.resolvedType;
    if (t !== null && 'values' in t) {
      const spellings = yamlEnumValues(t as protobuf.Enum);
      if (typeof v !== 'string' || !spellings.has(v.toLowerCase())) this.add(path, `must be ${expected(field)}`);
      return;
    }
    if (t !== null) {
      const type = t as protobuf.Type;
      const members = unionMembers(type);
      if (members === undefined) this.message(v, type, path);
      else this.union(v, members, path);
      return;
    }
    const wrong = scalarProblem(v, field);
    if (wrong !== undefined) this.add(path, wrong);
  }

  /** A YAML union: the member whose kind the value has, checked in place (YAML has no key for the member). */
  private union(v: unknown, members: protobuf.Field[], path: Path): void {
    const member = members.find((m) => acceptsKind(m, v));
    if (member === undefined) {
      this.add(path, `must be ${members.map((m) => expected(m)).join(' or ')}, not ${kindOf(v)}`);
      return;
    }
    this.single(v, member, path);
  }
}

/** Whether a union member takes values of v's YAML kind (a number goes to a number member even when it is not whole: that member says so). */
function acceptsKind(member: protobuf.Field, v: unknown): boolean {
  const t = member.resolvedType;
  if (t !== null) return 'values' in t ? typeof v === 'string' : isMapping(v);
  if (member.type === 'string' || member.type === 'bytes') return typeof v === 'string';
  if (member.type === 'bool') return typeof v === 'boolean';
  return typeof v === 'number';
}

function scalarProblem(v: unknown, field: protobuf.Field): string | undefined {
  const range = INTEGER_RANGES[field.type];
  if (range !== undefined) {
    if (typeof v !== 'number' || !Number.isInteger(v)) return `must be a whole number, not ${kindOf(v)}`;
    if (v < range[0] || v > range[1]) return `must be a whole number from ${range[0]} to ${range[1]} (${field.type})`;
    return undefined;
  }
  switch (field.type) {
    case 'double':
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a number, not ${kindOf(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `must be true or false, not ${kindOf(v)}`;
    default:
      return typeof v === 'string' ? undefined : `must be a string, not ${kindOf(v)} (quote it)`;
  }
}

/** Checks a config object (or any value against a message of the schema). */
export function checkAgainstProto(value: unknown, type: protobuf.Type = configType(), path: readonly (string | number)[] = []): ProtoProblem[] {
  const c = new Checker();
  c.message(value, type, [...path]);
  return c.problems;
}

/** The field path a problem line names: the text before its first ": ". */
function pathOfLine(line: string): string {
  const i = line.indexOf(': ');
  return i < 0 ? line : line.slice(0, i);
}

/**
 * The problem lines of a config: this check's first (it runs first), each
 * kept only where no other check named the same field or one inside it
 * (theirs say more: the range, the format, the reason), then the others.
 */
export function mergeProtoProblems(proto: readonly ProtoProblem[], others: readonly string[]): string[] {
  // Every path a line names and each of its ancestors ("a[1].b" gives "a", "a[1]", "a[1].b"): one lookup per proto
  // problem, so a config with many bad entries is not a quadratic wait.
  const covering = new Set<string>();
  for (const q of others.map(pathOfLine)) {
    covering.add(q);
    for (let i = 0; i < q.length; i++) if (q[i] === '.' || q[i] === '[') covering.add(q.slice(0, i));
  }
  const covered = (p: string) => covering.has(p);
  const kept = proto.map((p) => ({ p: pathText(p.path), m: p.message })).filter((x) => !covered(x.p));
  return [...kept.map((x) => `${x.p}: ${x.m}`), ...others];
}

// The zod schemas of the config (schema.ts and its parts) described in the
// terms the protobuf schema uses: mappings with fields, lists, maps, unions,
// strings, whole numbers, numbers, booleans and enums; each field required
// or not, with its default. The drift test compares this with the proto
// field by field; the config reference takes the defaults from it.
import type { z } from 'zod';

export type ZodShape =
  | { kind: 'object'; fields: Map<string, ZodField> }
  | { kind: 'array'; element: ZodShape }
  | { kind: 'record'; value: ZodShape }
  | { kind: 'union'; options: ZodShape[] }
  | { kind: 'enum'; values: string[] }
  | { kind: 'string' | 'int' | 'number' | 'boolean' | 'unknown' };

export interface ZodField {
  shape: ZodShape;
  /** Neither optional nor defaulted: the YAML must give it. */
  required: boolean;
  /**
   * The default when the field is left out, if it has one; for a field of a
   * discriminated union whose options default it differently, one per
   * option ("tap: false, afpacket: true").
   */
  defaults?: { when?: string; value: unknown }[];
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  entries?: Record<string, string>;
  values?: unknown[];
  in?: z.ZodType;
  out?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** A field's schema without its optional/default wrappers, and what they said. */
function unwrap(s: z.ZodType): { inner: z.ZodType; required: boolean; defaultValue?: unknown; hasDefault: boolean } {
  let required = true;
  let hasDefault = false;
  let defaultValue: unknown;
  for (;;) {
    const d = defOf(s);
    if (d.type === 'optional' || d.type === 'nullable') required = false;
    else if (d.type === 'default' || d.type === 'prefault') {
      required = false;
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = d.defaultValue;
      }
    } else if (d.type === 'pipe') {
      // A .transform() describes as what goes in; a z.preprocess() (a transform in front) as the schema it feeds.
      s = defOf(d.in!).type === 'transform' ? d.out! : d.in!;
      continue;
    } else return { inner: s, required, defaultValue, hasDefault };
    s = d.innerType!;
  }
}

function objectFields(shape: Record<string, z.ZodType>): Map<string, ZodField> {
  const fields = new Map<string, ZodField>();
  for (const [name, s] of Object.entries(shape)) {
    const u = unwrap(s);
    fields.set(name, { shape: describeZod(u.inner), required: u.required, ...(u.hasDefault ? { defaults: [{ value: u.defaultValue }] } : {}) });
  }
  return fields;
}

/** A discriminated union of objects as one mapping: every option's fields, required where all options require them, the discriminator an enum. */
function mergeOptions(options: z.ZodType[], discriminator: string): ZodShape {
  const fields = new Map<string, ZodField>();
  const perOption = options.map((o) => ({ name: String(defOf(defOf(o).shape![discriminator]).values?.[0]), fields: objectFields(defOf(o).shape!) }));
  for (const { fields: fs } of perOption) for (const name of fs.keys()) if (!fields.has(name)) fields.set(name, { shape: { kind: 'unknown' }, required: true });
  for (const [name, merged] of fields) {
    const present = perOption.filter((o) => o.fields.has(name));
    const shapes = present.map((o) => o.fields.get(name)!.shape);
    merged.required = present.length === perOption.length && present.every((o) => o.fields.get(name)!.required);
    merged.shape = shapes.every((s) => s.kind === 'enum') ? { kind: 'enum', values: shapes.flatMap((s) => (s as { values: string[] }).values) } : shapes[0];
    const defaults = present.flatMap((o) => (o.fields.get(name)!.defaults ?? []).map((d) => ({ when: o.name, value: d.value })));
    const same = defaults.length === present.length && defaults.every((d) => JSON.stringify(d.value) === JSON.stringify(defaults[0].value));
    if (defaults.length > 0) merged.defaults = same ? [{ value: defaults[0].value }] : defaults;
  }
  return { kind: 'object', fields };
}

/** The shape of a schema (optional/default wrappers of the value itself are dropped). */
export function describeZod(schema: z.ZodType): ZodShape {
  const s = unwrap(schema).inner;
  const d = defOf(s);
  switch (d.type) {
    case 'object':
      return { kind: 'object', fields: objectFields(d.shape!) };
    case 'array':
      return { kind: 'array', element: describeZod(d.element!) };
    case 'record':
      return { kind: 'record', value: describeZod(d.valueType!) };
    case 'union':
      return d.discriminator !== undefined ? mergeOptions(d.options!, d.discriminator) : { kind: 'union', options: d.options!.map(describeZod) };
    case 'enum':
      return { kind: 'enum', values: Object.values(d.entries!) };
    case 'literal':
      return { kind: 'enum', values: d.values!.map(String) };
    case 'number':
      return { kind: (s as z.ZodNumber).isInt ? 'int' : 'number' };
    case 'string':
    case 'boolean':
      return { kind: d.type };
    default:
      return { kind: 'unknown' };
  }
}

// The config reference (docs/CONFIG-REFERENCE.md), generated from the
// protobuf schema: every message reachable from Config, in the order a
// config meets them, with its fields' YAML keys, types, whether they must be
// given, their defaults (from the zod schema, which applies them) and the
// proto comments. `npm run docs:config` writes it; a test fails when the
// committed file is not what this renders.
import type protobuf from 'protobufjs';
import { CONFIG_PROTO, configType, INTEGER_RANGES, isRequired, isStruct, unionMembers, yamlEnumValues, yamlKey } from './proto-schema.js';
import { walkSchemas } from './schema-pairs.js';
import type { ZodField } from './zod-shape.js';

/** A comment as one paragraph for a table cell. */
function cell(text: string | null | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

/** A markdown anchor for a message heading "`Name`" (GitHub's rule: lower case, punctuation dropped). */
function anchor(type: protobuf.Type | protobuf.Enum): string {
  return `#${type.name.toLowerCase()}`;
}

function isEnum(t: protobuf.Type | protobuf.Enum | null): t is protobuf.Enum {
  return t !== null && 'values' in t;
}

/** One value of a field's type, in words with links. */
function valueType(field: protobuf.Field): string {
  const t = field.resolvedType as protobuf.Type | protobuf.Enum | null;
  if (isEnum(t)) return [...yamlEnumValues(t).keys()].map((v) => `\`${v}\``).join(' \\| ');
  if (t !== null) {
    if (isStruct(t)) return 'mapping (opaque)';
    const members = unionMembers(t);
    if (members !== undefined) return `[${t.name}](${anchor(t)}): ${members.map(valueType).join(' or ')}`;
    return `[${t.name}](${anchor(t)})`;
  }
  if (INTEGER_RANGES[field.type] !== undefined) return `integer (${field.type})`;
  if (field.type === 'double' || field.type === 'float') return 'number';
  if (field.type === 'bool') return 'boolean';
  return 'string';
}

function typeText(field: protobuf.Field): string {
  if (field.map) return `map of string to ${valueType(field)}`;
  if (field.repeated) return `list of ${valueType(field)}`;
  return valueType(field);
}

function yamlValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function defaultText(field: protobuf.Field, zf: ZodField | undefined): string {
  const ds = zf?.defaults;
  if (ds === undefined || ds.length === 0) return '';
  // An empty map (labels: {}) or list is "none"; an empty object for a message is what its fields default to.
  const empty = (v: unknown) => (Array.isArray(v) && v.length === 0) || (v instanceof Map && v.size === 0) || (field.map && typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  const one = (v: unknown) => (empty(v) ? 'none' : typeof v === 'object' && v !== null && !Array.isArray(v) ? 'its fields\' defaults' : `\`${yamlValue(v)}\``);
  if (ds.length === 1 && ds[0].when === undefined) return one(ds[0].value);
  return ds.map((d) => `${d.when}: ${one(d.value)}`).join('; ');
}

/** Messages in the order a walk from Config meets them, with the YAML paths each is found at. */
function messagesInOrder(root: protobuf.Type): Map<protobuf.Type, string[]> {
  const out = new Map<protobuf.Type, string[]>();
  const visit = (type: protobuf.Type, path: string, depth: number) => {
    const paths = out.get(type);
    if (paths !== undefined) {
      paths.push(path);
      return;
    }
    out.set(type, [path]);
    if (depth > 16) return;
    for (const f of type.fieldsArray) {
      const t = f.resolvedType as protobuf.Type | protobuf.Enum | null;
      if (t === null || isEnum(t) || isStruct(t)) continue;
      const key = yamlKey(f);
      const sub = unionMembers(type) !== undefined ? path : `${path === '' ? '' : `${path}.`}${key}${f.repeated ? '[]' : f.map ? '.*' : ''}`;
      visit(t, sub, depth + 1);
    }
  };
  visit(root, '', 0);
  return out;
}

function enumSection(e: protobuf.Enum, owner: protobuf.Type): string[] {
  const spellings = yamlEnumValues(e);
  const lines = [`### \`${owner.name}.${e.name}\``, '', cell(e.comment), ''];
  for (const [yaml, name] of spellings) lines.push(`- \`${yaml}\`: ${cell(e.comments[name])}`);
  lines.push('');
  return lines;
}

/** The reference as markdown. */
export function renderConfigReference(): string {
  const root = configType();
  const zodFields = new Map<protobuf.Type, Map<string, ZodField>>();
  walkSchemas({
    message: (type, fields) => zodFields.set(type, fields),
    disagree: () => {
      // The drift test reports disagreements; the reference shows what the proto says.
    },
  });
  const out: string[] = [
    '# Config reference',
    '',
    `<!-- Generated from proto/${CONFIG_PROTO} by \`npm run docs:config\` (src/config/reference.ts): edit the proto's comments, not this file. -->`,
    '',
    'The config file is YAML; its schema is the protobuf message `dataplane.v1.Config`',
    `in [proto/${CONFIG_PROTO}](../proto/${CONFIG_PROTO}), which the gRPC API uses too.`,
    'docs/CONFIG.md explains the sections with examples; this page lists every field.',
    '',
    '- A field\'s YAML key is its JSON name (lowerCamelCase).',
    '- **Required** fields must be given; the others may be left out and take the default shown.',
    '- An enum is written as one of the values listed, in the letter case shown (`TCP` for',
    '  `tcp` is refused almost everywhere; a firewall rule\'s `protocol` alone takes any case).',
    '- A union (RouteEntry, PortRange, Decap, IpProtocol) is written as one of its forms directly.',
    '- Ranges and formats in the descriptions are checked after the schema; every error names',
    '  the field path, such as `ports[1].address: ...`.',
    '',
  ];
  const messages = messagesInOrder(root);
  out.push('## Messages', '');
  for (const [type, paths] of messages) out.push(`- [${type.name}](${anchor(type)}): ${paths.map((p) => `\`${p || '(top level)'}\``).join(', ')}`);
  out.push('');
  for (const [type, paths] of messages) {
    out.push(`## \`${type.name}\``, '', cell(type.comment), '', `At ${paths.map((p) => `\`${p || '(top level)'}\``).join(', ')}.`, '');
    const members = unionMembers(type);
    const zf = zodFields.get(type);
    if (members !== undefined) {
      out.push('Written as one of:', '');
      for (const m of members) out.push(`- ${typeText(m)}: ${cell(m.comment)}`);
      out.push('');
    } else {
      out.push('| Field | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |');
      for (const f of type.fieldsArray) {
        out.push(`| \`${yamlKey(f)}\` | ${typeText(f)} | ${isRequired(f) ? 'yes' : ''} | ${defaultText(f, zf?.get(yamlKey(f)))} | ${cell(f.comment)} |`);
      }
      out.push('');
    }
    for (const nested of type.nestedArray) if (isEnum(nested as protobuf.Enum)) out.push(...enumSection(nested as protobuf.Enum, type));
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

// docs/CONFIG-REFERENCE.md is generated from the proto (npm run docs:config):
// the committed file must be what the generator writes now, and the defaults
// the proto's comments state must be the ones the zod schema applies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yamlKey } from '../../src/config/proto-schema.js';
import { renderConfigReference } from '../../src/config/reference.js';
import { walkSchemas } from '../../src/config/schema-pairs.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('config reference', () => {
  it('docs/CONFIG-REFERENCE.md is up to date with proto/dataplane/config.proto (run `npm run docs:config`)', () => {
    expect(readFileSync(join(ROOT, 'docs/CONFIG-REFERENCE.md'), 'utf8')).toBe(renderConfigReference());
  });

  it('says what the loader does: enum case matters, conntrack entries as measured, and CONFIG.md agrees', () => {
    const ref = renderConfigReference();
    const guide = readFileSync(join(ROOT, 'docs/CONFIG.md'), 'utf8');
    expect(ref).not.toMatch(/case is not significant/);
    // bench/results/nat.json: 100.4 B per entry, 104.6 at the default capacity 2^20.
    expect(ref).toContain('about 105 bytes each');
    expect(guide).toContain('about 105 bytes each');
    expect(guide).toContain('at most 16 MiB');
    expect(guide).not.toMatch(/lines can be pasted from\s+`ip route`/);
  });

  it('lists every message with its fields, their YAML keys, required marks and zod defaults', () => {
    const doc = renderConfigReference();
    for (const name of ['Config', 'Port', 'PortIo', 'Route', 'Nexthop', 'Neighbor', 'Nat', 'FirewallRule', 'Endpoint', 'LoadBalancer', 'Vip', 'Backend', 'HealthCheck', 'Affinity', 'Control', 'Metrics']) {
      expect(doc).toContain(`## \`${name}\``);
    }
    expect(doc).toContain('| `mtu` | integer (uint32) |  | `1500` | The MTU, 68-9216 (at most 3826 on an afxdp port). Default 1500. |');
    expect(doc).toContain('| `name` | string | yes |');
    expect(doc).toContain('| `offload` | boolean |  | tap: `false`; afpacket: `true`; afxdp: `false` |');
    expect(doc).toContain('| `socket` | string |  | `/run/dataplane/dataplane.sock` |');
    expect(doc).toContain('| `nonMasqueradeCIDRs` | list of string |');
    expect(doc).toContain('- `endpoint-independent`: Any host may reach a mapping (full cone).');
  });

  it('every "Default V" a proto comment states is the default the zod schema applies', () => {
    const stated: string[] = [];
    const wrong: string[] = [];
    walkSchemas({
      disagree: () => {},
      message: (type, zodFields, path) => {
        for (const f of type.fieldsArray) {
          const zf = zodFields.get(yamlKey(f));
          const zodDefaults = (zf?.defaults ?? []).map((d) => d.value).filter((v) => typeof v !== 'object').map(String);
          const inComment = [...(f.comment ?? '').matchAll(/\bDefault (\S+?)\.?(?=\s|$)/g)].map((m) => m[1].replace(/^"(.*)"$/, "$1"));
          if (zodDefaults.length === 0 || inComment.length === 0) continue;
          stated.push(`${path}.${yamlKey(f)}`);
          if (inComment.sort().join() !== [...new Set(zodDefaults)].sort().join()) wrong.push(`${type.name}.${yamlKey(f)}: comment says ${inComment.join(', ')}, zod ${zodDefaults.join(', ')}`);
        }
      },
    });
    expect(stated.length).toBeGreaterThan(30);
    expect(wrong).toEqual([]);
  });
});

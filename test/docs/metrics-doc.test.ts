// docs/METRICS.md lists what the metrics module registers: every family
// with its type and labels, no more and no fewer, each under the heading of
// the feature that brings it (a config without NAT has no NAT families), and
// every metric name the docs write is one it registers. The families come
// from DataplaneMetrics over real routers (the memory rig), as `run` has them.
import { describe, expect, it } from 'vitest';
import { DataplaneMetrics } from '../../src/metrics/dataplane-metrics.js';
import { PipelineRig } from '../../src/metrics/memory-rig.js';
import { readDoc } from './doc-blocks.js';

interface DocFamily {
  name: string;
  type: string;
  labels: string[];
  section: string;
}

/** The rows of METRICS.md's tables: `| \`name\` | type | labels | meaning |`, under their `##` heading. */
function documentedFamilies(markdown: string): DocFamily[] {
  const out: DocFamily[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    const heading = /^## (.*)$/.exec(line);
    if (heading !== null) section = heading[1];
    const row = /^\| `(dataplane_\w+)` \| (\w+) \|([^|]*)\|/.exec(line);
    if (row === null) continue;
    const labels = row[3].trim() === '' ? [] : row[3].split(',').map((l) => l.trim());
    out.push({ name: row[1], type: row[2], labels, section });
  }
  return out;
}

type Feature = 'nat' | 'firewall' | 'lb';
/** Which features bring a section's families: its heading's first word. */
function sectionFeatures(section: string): Feature[] | 'always' {
  const word = section.split(' ')[0];
  if (word === 'Ports' || word === 'Pipeline') return 'always';
  if (word === 'Flow') return ['nat', 'firewall', 'lb'];
  if (word === 'NAT') return ['nat'];
  if (word === 'Firewall') return ['firewall'];
  if (word === 'Load') return ['lb'];
  throw new Error(`METRICS.md section "${section}": which feature brings it? (metrics-doc.test.ts sectionFeatures)`);
}

const PORTS = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;
const SECTIONS: Record<Feature, string> = {
  nat: `
nat:
  masquerade:
    - { outPort: wan }
conntrack: { capacity: 4096 }
`,
  firewall: `
endpoints:
  - { address: 192.0.2.10 }
firewall:
  rules:
    - { name: deny-telnet, direction: egress, action: deny, protocols: [{ protocol: tcp, ports: [23] }] }
`,
  lb: `
loadBalancer:
  vips:
    - { name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, tableSize: 251, backends: [{ address: 198.51.100.11 }] }
`,
};

/** The families a config registers: name -> { type, labels }. */
async function registered(features: Feature[]): Promise<Map<string, { type: string; labels: string[] }>> {
  const metrics = new DataplaneMetrics(new PipelineRig(PORTS + features.map((f) => SECTIONS[f]).join(''), 1));
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    const metric = metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] };
    out.set(name, { type: String(type), labels: [...(metric.labelNames ?? [])] });
  }
  return out;
}

describe('docs/METRICS.md', () => {
  const documented = documentedFamilies(readDoc('docs/METRICS.md'));

  it('lists a table row per family', () => {
    expect(documented.length).toBeGreaterThanOrEqual(25);
    expect(new Set(documented.map((f) => f.name)).size).toBe(documented.length);
  });

  it.each<[string, Feature[]]>([
    ['ports only', []],
    ['NAT', ['nat']],
    ['a firewall', ['firewall']],
    ['a load balancer', ['lb']],
    ['all of them', ['nat', 'firewall', 'lb']],
  ])('with %s: the families registered are those of its sections, with the documented type and labels', async (_, features) => {
    const got = await registered(features);
    const expected = documented.filter((f) => {
      const brought = sectionFeatures(f.section);
      return brought === 'always' || brought.some((x) => features.includes(x));
    });
    const asRows = (rows: [string, { type: string; labels: string[] }][]) => Object.fromEntries(rows.map(([n, v]) => [n, `${v.type} {${v.labels.join(', ')}}`]));
    expect(asRows([...got])).toEqual(asRows(expected.map((f) => [f.name, f]))); // name -> "type {labels}"
  });

  it('every metric name the docs write is registered', async () => {
    const all = await registered(['nat', 'firewall', 'lb']);
    for (const doc of ['docs/METRICS.md', 'docs/OPERATIONS.md', 'README.md', 'src/metrics/README.md']) {
      const names = [...readDoc(doc).matchAll(/\bdataplane_[a-z_]+/g)].map((m) => m[0]);
      expect({ doc, unknown: names.filter((n) => !all.has(n)) }).toEqual({ doc, unknown: [] });
    }
  });
});

// The counter names the docs write (`ip4-lookup/no-route`, `lb-encap/ipip|gue`,
// `io/<port>/rx-oversize`, `fib/shadowed-routes`) are counters the dataplane
// has, and docs/ARCHITECTURE.md's node table lists each node's drop reasons,
// all of them: the registry of real routers (the memory rig) over a plain
// config (the fast path) and one with every stateful node is the truth.
import { describe, expect, it } from 'vitest';
import { DUPLICATE_ROUTES, SHADOWED_ROUTES } from '../../src/config/route-precedence.js';
import { IO_COUNTER_NAMES } from '../../src/io/native.js';
import { PipelineRig } from '../../src/metrics/memory-rig.js';
import { projectDocs, readDoc } from './doc-blocks.js';

const DOCS = projectDocs();

const PLAIN = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;
/** Every node the router can have: NAT, a firewall, a VIP of each mode, a decap port, an offload port. */
const EVERYTHING = `
ports:
  - { name: lan, address: 192.0.2.1/24, io: { type: tap, offload: true } }
  - { name: wan, address: 198.51.100.1/24, decap: true }
  - { name: transit, address: 198.18.0.1/24 }
nat:
  masquerade:
    - { outPort: wan }
endpoints:
  - { address: 192.0.2.10 }
firewall:
  rules:
    - { name: deny-telnet, direction: egress, action: deny, protocols: [{ protocol: tcp, ports: [23] }] }
loadBalancer:
  vips:
    - { name: l2, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, tableSize: 251, backends: [{ address: 198.51.100.11 }] }
    - { name: ipip, address: 203.0.113.11, protocol: tcp, port: 80, mode: dsr-ipip, tableSize: 251, backends: [{ address: 198.18.0.11 }] }
    - { name: gue, address: 203.0.113.12, protocol: tcp, port: 80, mode: dsr-gue, tableSize: 251, backends: [{ address: 198.18.0.12 }] }
    - { name: nat, address: 203.0.113.13, protocol: tcp, port: 80, mode: nat, tableSize: 251, backends: [{ address: 198.18.0.13 }] }
`;

/** name -> kind ('drop' or 'count') of every counter the two routers register. */
function counters(): Map<string, string> {
  const out = new Map<string, string>();
  for (const yaml of [PLAIN, EVERYTHING]) {
    const registry = new PipelineRig(yaml, 1).registry;
    registry.names().forEach((name, i) => out.set(name, registry.info(i).kind));
  }
  return out;
}

describe('the counter names the docs write', () => {
  const all = counters();
  const nodes = new Set([...all.keys()].map((n) => n.split('/')[0]));

  it('the routers have every node', () => {
    for (const n of ['ip4-fast', 'ethernet-input', 'ct-input', 'nat-output', 'firewall', 'lb-forward', 'lb-encap', 'lb-decap', 'ip4-gso', 'arp-resolve']) expect(nodes).toContain(n);
  });

  it('are counters the dataplane has', () => {
    const unknown: string[] = [];
    let checked = 0;
    for (const doc of DOCS) {
      const text = readDoc(doc);
      // node/counter, node/a|b|c; not a file path (src/firewall/plan.ts) nor a prefix (`--prefix ip4-lookup/`).
      for (const m of text.matchAll(/(?<![\w./-])([a-z0-9]+(?:-[a-z0-9]+)*)\/([a-z0-9]+(?:-[a-z0-9]+)*(?:\|[a-z0-9]+(?:-[a-z0-9]+)*)*)(?![\w./-])/g)) {
        const [, node, names] = m;
        const line = text.slice(0, m.index).split('\n').length;
        for (const name of names.split('|')) {
          const full = `${node}/${name}`;
          if (nodes.has(node)) checked++;
          const known = nodes.has(node) ? all.has(full) : node === 'fib' || node === 'config' ? full === SHADOWED_ROUTES || full === DUPLICATE_ROUTES : true;
          if (!known) unknown.push(`${doc}:${line}: ${full}`);
        }
      }
      for (const m of text.matchAll(/io\/<port>\/([a-z-]+)/g)) {
        if (!IO_COUNTER_NAMES.includes(m[1])) unknown.push(`${doc}:${text.slice(0, m.index).split('\n').length}: io/<port>/${m[1]}`);
      }
    }
    expect(unknown).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it("ARCHITECTURE.md's node table lists every drop reason of each node, and only those", () => {
    const rows = [...readDoc('docs/ARCHITECTURE.md').matchAll(/^\| `([a-z0-9-]+)`(?: \([^)]*\))? \|[^|]*\| (.*) \|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(18);
    for (const [, node, cell] of rows) {
      // The reasons are the backticked words outside parentheses (which explain them).
      const listed = [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]).sort();
      const declared = [...all].filter(([n, kind]) => kind === 'drop' && n.startsWith(`${node}/`)).map(([n]) => n.slice(node.length + 1)).sort();
      expect({ node, drops: listed }).toEqual({ node, drops: declared });
    }
  });
});

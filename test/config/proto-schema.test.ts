// The protobuf schema of the config (proto/dataplane/config.proto): every
// config the project ships or documents passes its check; wrong kinds of
// value, unknown fields, bad enum values and missing required fields are
// named with their field path; and the proto and the zod schema agree field
// by field (the drift test), so neither can change alone.
//
// Every test that loads a valid config through parseConfig also runs the
// proto check (load.ts), so the configs written inline across test/ pass it
// too, or those tests fail.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import { checkAgainstProto, mergeProtoProblems, pathText } from '../../src/config/proto-check.js';
import { configType, loadProtoRoot, protoDir, protoRoot, yamlEnumValues } from '../../src/config/proto-schema.js';
import { schemaDisagreements } from '../../src/config/schema-pairs.js';
import { configSchema, DEFAULT_CONTROL_SOCKET } from '../../src/config/schema.js';
import { withoutExtensionFields, YAML_PARSE_OPTIONS, YAML_TO_JS_OPTIONS } from '../../src/config/yaml-options.js';
import { DEMO_CONFIG } from '../../src/demo/scenario.js';
import { LB_MODES } from '../../src/lb/lb-config.js';
import { NAT_FILTERINGS } from '../../src/lab/lab-nat.js';
import { balancerYaml, decapYaml, topologyOf } from '../../src/lab/lb-router-config.js';
import { labConfigYaml } from '../../src/lab/topology.js';
import { CASES } from '../firewall/truth/cases.js';
import { truthConfigYaml } from '../firewall/truth/config.js';
import { configProblems } from './config-problems.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** "path: message" lines of the proto check alone. */
function protoProblems(value: unknown, type = configType()): string[] {
  return checkAgainstProto(value, type).map((p) => `${pathText(p.path)}: ${p.message}`);
}

/** The configs and config fragments a doc shows (test/docs/doc-blocks.ts): not those shown for their error, nor files that are no config. */
function yamlBlocks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^```yaml([^\n]*)\n([\s\S]*?)^```/gm)]
    .filter((m) => !/\binvalid\b/.test(m[1]) && (!/\bfile=/.test(m[1]) || /^ports:/m.test(m[2])))
    .map((m) => m[2]);
}

/** The message a documentation fragment belongs to: the first whose fields hold all its keys. */
function fragmentType(js: Record<string, unknown>): protobuf.Type {
  for (const name of ['Config', 'Vip', 'Port']) {
    const type = configType(name);
    const keys = new Set(type.fieldsArray.map((f) => f.jsonName));
    if (Object.keys(js).every((k) => keys.has(k))) return type;
  }
  throw new Error(`no message has all of ${Object.keys(js).join(', ')}`);
}

const problems = (yaml: string) => configProblems(yaml);

describe('the configs the project ships and documents pass the proto check', () => {
  it('docs (every yaml block, full configs and fragments) and docker/router.yaml', () => {
    // Each block read as the config loader reads YAML: merge keys, top-level x- fields ignored.
    const blocks = ['docs/CONFIG.md', 'docs/CLI.md', 'README.md', 'src/lab/README.md'].flatMap((f) => yamlBlocks(f).map((b, i) => ({ where: `${f} block ${i + 1}`, js: withoutExtensionFields(parse(b, { ...YAML_PARSE_OPTIONS, ...YAML_TO_JS_OPTIONS })) as Record<string, unknown> })));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const b of blocks) {
      const type = fragmentType(b.js);
      // A fragment of a VIP or a port shows the fields it is about, not the ones its message requires.
      const found = protoProblems(b.js, type).filter((p) => type.name === 'Config' || !/^\w+: required/.test(p));
      expect({ where: b.where, problems: found }).toEqual({ where: b.where, problems: [] });
    }
    expect(protoProblems(parse(readFileSync(join(ROOT, 'docker/router.yaml'), 'utf8')))).toEqual([]);
  });

  it('the demo, the labs (every port kind, offload, NAT filtering, load balancer mode) and the firewall truth-table configs', () => {
    const configs: [string, string][] = [['demo', DEMO_CONFIG]];
    for (const ports of ['tap', 'afpacket'] as const) {
      for (const offload of [false, true]) configs.push([`lab ${ports} offload ${offload}`, labConfigYaml({ prefix: 'dp', ports, engine: 'dataplane', workers: 1, wanMtu: 1400, offload })]);
      for (const filtering of NAT_FILTERINGS) configs.push([`lab ${ports} nat ${filtering}`, labConfigYaml({ prefix: 'dp', ports, engine: 'dataplane', workers: 1, nat: { filtering, capacity: 4096 } })]);
    }
    for (const mode of LB_MODES) {
      const hc = { type: 'tcp' as const, port: 80, intervalMs: 200, timeoutMs: 100, rise: 1, fall: 2 };
      configs.push([`lb ${mode}`, balancerYaml(topologyOf(mode), { mode, protocol: 'tcp', port: 80, weights: [1, 2, 0], hash: 'no-source-port', healthCheck: hc, snat: mode === 'nat' ? true : undefined })]);
      configs.push([`lb ${mode} udp all ports`, balancerYaml(topologyOf(mode), { mode, protocol: 'udp', weights: [1, 1, 1], tableSize: 251 })]);
    }
    configs.push(['lb decap router', decapYaml()]);
    for (const c of CASES) {
      configs.push([`truth ${c.name}`, truthConfigYaml(c)]);
      configs.push([`truth ${c.name} live`, truthConfigYaml(c, { netns: (p) => `dp-${p.index}`, policyFile: '/tmp/policies.yaml' })]);
    }
    expect(configs.length).toBeGreaterThan(40);
    for (const [name, yaml] of configs) expect({ name, problems: protoProblems(parse(yaml)) }).toEqual({ name, problems: [] });
  });
});

describe('the proto check names the field and the reason', () => {
  it('unknown fields, at any depth, in the form the other checks use', () => {
    expect(protoProblems({ ports: [{ name: 'lan', address: '192.0.2.1/24', speed: 10, duplex: 'full' }], colour: 'red' })).toEqual([
      '(top level): unknown field "colour"',
      'ports[0]: unknown fields "speed", "duplex"',
    ]);
    expect(protoProblems({ loadBalancer: { vips: [{ name: 'a', address: '203.0.113.1', protocol: 'tcp', mode: 'nat', backends: [{ address: '198.51.100.2', wieght: 2 }] }] } })).toEqual([
      'loadBalancer.vips[0].backends[0]: unknown field "wieght"',
    ]);
  });

  it('wrong kinds of value: strings, whole numbers, numbers, booleans, mappings, lists', () => {
    expect(
      protoProblems({
        ports: [{ name: 7, address: '192.0.2.1/24', mtu: '1500', io: { type: 'tap', vnetHdr: 'yes' } }, { name: 'wan', address: '198.51.100.1/24', mtu: 1500.5 }, 'eth0'],
        icmp: { ratePerSecond: 'fast', burst: -1 },
        conntrack: { capacity: 2 ** 33 },
        neighbors: { address: '192.0.2.9', mac: '02:00:00:00:00:09' },
        routesFile: ['a', 'b'],
        arp: 5,
      }),
    ).toEqual([
      'ports[0].name: must be a string, not a whole number (quote it)',
      'ports[0].mtu: must be a whole number, not "1500"',
      'ports[0].io.vnetHdr: must be true or false, not "yes"',
      'ports[1].mtu: must be a whole number, not a number',
      'ports[2]: must be a mapping (Port), not "eth0"',
      'routesFile: must be a string, not a list (quote it)',
      'neighbors: must be a list (of a mapping (Neighbor)), not a mapping',
      'icmp.ratePerSecond: must be a number, not "fast"',
      'icmp.burst: must be a whole number from 0 to 4294967295 (uint32)',
      'arp: must be a mapping (Arp), not a whole number',
      'conntrack.capacity: must be a whole number from 0 to 4294967295 (uint32)',
    ]);
  });

  it('enum values: the YAML spellings, any letter case, never the API-only zero value', () => {
    const vip = (o: object) => ({ loadBalancer: { vips: [{ name: 'a', address: '203.0.113.1', protocol: 'tcp', mode: 'nat', backends: [{ address: '198.51.100.2' }], ...o }] } });
    expect(protoProblems(vip({ mode: 'dsr_l2' }))).toEqual(['loadBalancer.vips[0].mode: must be one of "dsr-l2", "dsr-ipip", "dsr-gue", "nat"']);
    expect(protoProblems(vip({ mode: 'unspecified' }))).toEqual(['loadBalancer.vips[0].mode: must be one of "dsr-l2", "dsr-ipip", "dsr-gue", "nat"']);
    expect(protoProblems(vip({ mode: 4 }))).toEqual(['loadBalancer.vips[0].mode: must be one of "dsr-l2", "dsr-ipip", "dsr-gue", "nat"']);
    expect(protoProblems(vip({ affinity: { type: 'ClientIP' }, hash: 'no-source-port' }))).toEqual([]);
    expect(protoProblems({ nat: { filtering: 'full-cone', profile: 'cloud-nat' } })).toEqual(['nat.filtering: must be one of "endpoint-independent", "address-dependent", "address-and-port-dependent"']);
    expect(protoProblems({ endpoints: [{ address: '198.51.100.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'x', port: 1, protocol: 'icmp' }] }] })).toEqual([
      'endpoints[0].ports[1].protocol: must be one of "tcp", "udp", "sctp"',
    ]);
  });

  it('fields the proto requires (singular, without `optional`), and null as "not given"', () => {
    expect(protoProblems({ ports: [{ address: '192.0.2.1/24' }], neighbors: [{ address: '192.0.2.9', mac: null }] })).toEqual([
      'ports[0].name: required (a string)',
      'neighbors[0].mac: required (a string)',
    ]);
    expect(protoProblems({ nat: { dnat: [{ inPort: 'wan', proto: 'tcp', to: '192.0.2.10' }] } })).toEqual(['nat.dnat[0].dport: required (a whole number or a string)']);
    expect(protoProblems({ ports: [{ name: 'lan', address: '192.0.2.1/24', mac: null, io: { type: 'afpacket', interface: 'eth0' } }] })).toEqual([]);
  });

  it('YAML unions: a route line or a Route, a port or "LOW-HIGH", decap true or protocols, a protocol name or number', () => {
    const ports = [{ name: 'wan', address: '198.51.100.1/24', decap: true }, { name: 'lan', address: '192.0.2.1/24', decap: { gue: true, guePort: 7000 } }];
    expect(
      protoProblems({
        ports,
        routes: ['198.18.0.0/15 via 198.51.100.2', { prefix: '198.18.0.0/24', type: 'blackhole' }],
        nat: { masquerade: [{ outPort: 'wan', ports: '20000-29999' }], dnat: [{ inPort: 'wan', proto: 'udp', dport: 53, to: '192.0.2.10' }] },
        firewall: { rules: [{ name: 'a', direction: 'ingress', action: 'allow', protocols: [{ protocol: 'tcp', ports: [80, '8000-8080'] }, { protocol: 47 }] }] },
      }),
    ).toEqual([]);
    expect(
      protoProblems({
        ports: [{ name: 'wan', address: '198.51.100.1/24', decap: 'yes' }, { name: 'lan', address: '192.0.2.1/24', decap: { gue: true, port: 7000 } }],
        routes: [42, { prefix: '198.18.0.0/24', nexthop: [] }, ['198.18.1.0/24']],
        nat: { dnat: [{ inPort: 'wan', proto: 'tcp', dport: 80.5, to: '192.0.2.10' }, { inPort: 'wan', proto: 'tcp', dport: true, to: '192.0.2.10' }] },
        firewall: { rules: [{ name: 'a', direction: 'ingress', action: 'allow', protocols: [{ protocol: { name: 'tcp' } }] }] },
      }),
    ).toEqual([
      'ports[0].decap: must be true or false or a mapping (DecapProtocols), not "yes"',
      'ports[1].decap: unknown field "port"',
      'routes[0]: must be a string or a mapping (Route), not a whole number',
      'routes[1]: unknown field "nexthop"',
      'routes[2]: must be a string or a mapping (Route), not a list',
      'nat.dnat[0].dport: must be a whole number, not a number',
      'nat.dnat[1].dport: must be a whole number or a string, not true',
      'firewall.rules[0].protocols[0].protocol: must be a string or a whole number, not a mapping',
    ]);
    // `prefix` is required: the line form has no such field.
    expect(protoProblems({ routes: ['x', { via: '198.51.100.2' }] })).toEqual(['routes[1].prefix: required (a string)']);
  });

  it('NetworkPolicy objects are opaque mappings here (their own checker names their fields)', () => {
    expect(protoProblems({ networkPolicies: [{ spec: { ingres: [] } }, 'allow-all'] })).toEqual(['networkPolicies[1]: must be a mapping, not "allow-all"']);
  });

  it('maps: each value checked, the key in the path', () => {
    expect(protoProblems({ endpoints: [{ address: '198.51.100.10', labels: { app: 'db', tier: 1 } }], namespaces: [{ name: 'prod', labels: ['env'] }] })).toEqual([
      'endpoints[0].labels.tier: must be a string, not a whole number (quote it)',
      'namespaces[0].labels: must be a mapping of a string values, not a list',
    ]);
  });
});

describe('parseConfig: the proto check first, each field named once', () => {
  it('a problem only the proto sees is reported; where zod names the same field, its message (the range, the reason) stands alone', () => {
    // zod sets no upper bound on the ICMP burst; the proto's uint32 does.
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\nicmp: { burst: 5000000000 }\n')).toEqual(['icmp.burst: must be a whole number from 0 to 4294967295 (uint32)']);
    // The proto says "whole number"; zod, on the same field, says more.
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, mtu: 40.5 }\n')).toEqual(['ports[0].mtu: must be a whole number 68-9216']);
    expect(mergeProtoProblems([{ path: ['ports', 0, 'mtu'], message: 'must be a whole number, not "x"' }], ['ports[0].mtu: must be at least 68 (RFC 791)'])).toEqual([
      'ports[0].mtu: must be at least 68 (RFC 791)',
    ]);
    // A problem inside the field also covers it; a problem elsewhere does not.
    expect(mergeProtoProblems([{ path: ['loadBalancer', 'vips', 0], message: 'x' }, { path: ['icmp'], message: 'y' }], ['loadBalancer.vips[0].mode: z'])).toEqual(['icmp: y', 'loadBalancer.vips[0].mode: z']);
  });

  it('control and metrics: defaults, loopback-only API over TCP, and their mistakes named', () => {
    const c = parseConfig('ports:\n  - { name: lan, address: 192.0.2.1/24 }\n', 'c.yaml', '.');
    expect(c.control).toEqual({ socket: DEFAULT_CONTROL_SOCKET });
    expect(c.metrics).toBeUndefined();
    const d = parseConfig('ports:\n  - { name: lan, address: 192.0.2.1/24 }\ncontrol: { socket: /tmp/dp.sock, listen: "127.0.0.1:9470" }\nmetrics: { listen: "127.0.0.1:9469" }\n', 'c.yaml', '.');
    expect([d.control, d.metrics]).toEqual([{ socket: '/tmp/dp.sock', listen: '127.0.0.1:9470' }, { listen: { host: '127.0.0.1', port: 9469 } }]);
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\ncontrol: { socket: dp.sock, listen: "192.0.2.1:9470", tls: true }\nmetrics: { listen: 9469 }\n')).toEqual([
      'control.socket: must be an absolute path such as /run/dataplane/dataplane.sock, or "" to turn the API off',
      'control.listen: "192.0.2.1" is not a loopback address: must be a loopback HOST:PORT such as 127.0.0.1:9470 (the API has no authentication)',
      'control: unknown field "tls"',
      'metrics.listen: must be ADDRESS:PORT such as 127.0.0.1:9469',
    ]);
  });
});

describe('the proto and the zod schema agree (drift)', () => {
  it('no field differs in name, kind, list or single, required, or enum values', () => {
    expect(schemaDisagreements()).toEqual([]);
  });

  it('a change to the zod schema alone is named', () => {
    const icmp = z.object({ ratePerSecond: z.number().int(), burst: z.string().optional(), jitter: z.boolean().optional() }).strict();
    const drifted = configSchema.extend({
      icmp: icmp.optional(),
      routesFile: z.array(z.string()).optional(),
      nat: z.object({ filtering: z.enum(['endpoint-independent', 'symmetric']).optional() }).optional(),
    });
    expect(schemaDisagreements(undefined, drifted)).toEqual([
      'routesFile: proto single value, zod array',
      'icmp.jitter: in zod, not in proto Icmp',
      'icmp.ratePerSecond: proto optional, zod required',
      'icmp.ratePerSecond: proto double (number), zod int',
      'icmp.burst: proto uint32 (int), zod string',
      'nat.masquerade: in proto Nat, not in zod',
      'nat.snat: in proto Nat, not in zod',
      'nat.dnat: in proto Nat, not in zod',
      'nat.filtering: proto enum address-and-port-dependent|address-dependent|endpoint-independent, zod endpoint-independent|symmetric',
      'nat.profile: in proto Nat, not in zod',
      'nat.minPortsPerEndpoint: in proto Nat, not in zod',
    ]);
  });

  it('a change to the proto alone is named', () => {
    const text = readFileSync(join(protoDir(), 'dataplane/config.proto'), 'utf8')
      .replace('optional uint32 mtu = 4;', 'optional string mtu = 4;')
      .replace('string address = 3;\n  // The MTU', 'repeated string address = 3;\n  // The MTU')
      .replace('optional string routes_file = 3;', 'string routes_file = 3;')
      .replace('TYPE_AFXDP = 3;', 'TYPE_AFXDP = 3;\n    TYPE_DPDK = 4;');
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-proto-'));
    try {
      mkdirSync(join(dir, 'dataplane'));
      writeFileSync(join(dir, 'dataplane/config.proto'), text);
      const root = loadProtoRoot(dir);
      expect(schemaDisagreements(root.lookupType('dataplane.v1.Config'))).toEqual([
        'ports[].address: proto repeated, zod string',
        'ports[].mtu: proto string (string), zod int',
        'ports[].io.type: proto enum afpacket|afxdp|dpdk|tap, zod afpacket|afxdp|tap',
        'routesFile: proto required, zod optional',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every enum of the schema has YAML spellings distinct from each other', () => {
    const enums: protobuf.Enum[] = [];
    const visit = (ns: protobuf.NamespaceBase) => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Enum) enums.push(o);
        else if (o instanceof protobuf.Namespace) visit(o);
      }
    };
    visit(protoRoot().lookup('dataplane.v1') as protobuf.Namespace);
    expect(enums.length).toBeGreaterThan(10);
    for (const e of enums) expect(yamlEnumValues(e).size, e.fullName).toBe(Object.keys(e.values).length - 1);
  });
});

// Config mistakes a new user made, each caught at load with the field and the
// reason, all of them in one pass; and input that is not a config at all
// (a device, an alias bomb) refused before it costs memory or time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { firstBinaryByte } from '../../src/config/text-file.js';
import { dataplane } from '../cli-run.js';
import { configProblems } from './config-problems.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-badcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (yaml: string) => configProblems(yaml, dir);

describe('config mistakes', () => {
  it('an unknown io type names the io types', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: dpdk } }\n')).toEqual(['ports[0].io.type: must be one of "tap", "afpacket", "afxdp"']);
  });

  it('a misspelt required field: the field is named missing (not "received undefined") and the misspelling unknown', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, adress: 198.51.100.1/24 }\n')).toEqual([
      'ports[1].address: required field missing (expected a string)',
      'ports[1]: unknown field "adress"',
    ]);
  });

  it('a section written as a list where it takes a mapping: both kinds in YAML words, and the shape it takes', () => {
    const ports = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n';
    expect(problems(`${ports}firewall:\n  - { name: a, direction: ingress, priority: 10, action: allow }\n`)).toEqual([
      'firewall: expected a mapping, got a list (write it as firewall: { rules: [ ... ] })',
    ]);
    expect(problems(`${ports}nat:\n  - { outPort: lan }\n`)).toEqual([
      'nat: expected a mapping, got a list (write it as nat: { masquerade: [ ... ], snat: [ ... ], dnat: [ ... ] })',
    ]);
    // Deeper down there is no one shape to show: the field and both kinds.
    expect(problems(`${ports}nat:\n  masquerade:\n    - [lan]\n`)).toEqual([
      'nat.masquerade[0]: expected a mapping, got a list (write it as fields, key: value, not a list of items)',
    ]);
    expect(problems(`${ports}routes: 7\n`)).toEqual(['routes: expected a list, got a number']);
  });

  it('reports every mistake in one pass: schema errors and the checks after it together', () => {
    const p = problems(`
ports:
  - { name: lan, address: 192.0.2.1/24, mac: "ff:ff:ff:ff:ff:ff", io: { type: tap, peerAddress: 198.51.100.5/24 } }
  - { name: wan, address: 198.51.100.1/24, mac: "01:00:5e:00:00:01", io: { type: tap, peerAddress: 198.51.100.1/24 } }
  - { name: dmz, address: 203.0.113.1/24, mtu: 10 }
  - { name: mgmt, address: 198.18.0.1/24, mac: "00:00:00:00:00:00", io: { type: tap, peerAddress: 198.18.0.255/24 } }
routes:
  - 198.20.0.0/16 via 192.0.2.255
  - 198.21.0.0/16 via 192.0.2.0
  - 198.22.0.0/16 dev dmz
  - bogus line
`);
    expect(p).toEqual([
      "ports[2].mtu: must be 68-9216 (at least IPv4's minimum of 68, RFC 791; at most 9216, the largest jumbo frame)",
      'ports[0].mac: ff:ff:ff:ff:ff:ff is the broadcast address; a port needs a unicast MAC such as 02:00:00:00:00:01',
      "ports[0].io.peerAddress: 198.51.100.5/24 is not on the port's subnet 192.0.2.0/24",
      'ports[1].mac: 01:00:5e:00:00:01 is a multicast address; a port needs a unicast MAC such as 02:00:00:00:00:02',
      "ports[1].io.peerAddress: 198.51.100.1/24 is the port's own address; the kernel side needs another address on 198.51.100.0/24",
      'ports[3].mac: 00:00:00:00:00:00 is all zero; a port needs a unicast MAC such as 02:00:00:00:00:03',
      'ports[3].io.peerAddress: 198.18.0.255/24 is the broadcast address of 198.18.0.0/24',
      'routes[3]: "bogus" is not an IPv4 prefix (A.B.C.D/LEN)',
      `routes[0]: gateway 192.0.2.255 is the broadcast address of port "lan"'s subnet 192.0.2.0/24`,
      `routes[1]: gateway 192.0.2.0 is the network address of port "lan"'s subnet 192.0.2.0/24`,
    ]);
    // dmz failed the schema: the route through it is not blamed on top.
    expect(p.some((x) => x.includes('dev "dmz"'))).toBe(false);
  });

  it('an endpoint the schema refuses no longer hides the firewall\'s and policies\' mistakes; the checks name each endpoint by its own index', () => {
    const yaml = `ports:
  - { name: lan, address: 192.0.2.1/24 }
endpoints:
  - { address: 192.0.2.10, labels: { app: web } }
  - { address: 192.0.2.300, labels: { app: db } }
  - { address: 192.0.2.11 }
  - { address: 192.0.2.11 }
firewall:
  rules:
    - { name: web, direction: ingress, priority: 100, action: allow, protocols: [{ protocol: tcp, ports: ["80-70000"] }] }
networkPolicies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: { name: db }
    spec:
      podSelector: { matchLabels: { app: db } }
      ingress: [{ ports: [{ protocol: TCPP, port: 5432 }] }]
`;
    expect(problems(yaml)).toEqual([
      'endpoints[1].address: must be a dotted-quad IPv4 address such as 192.0.2.1',
      'endpoints[3].address: 192.0.2.11 is listed twice (endpoints[2])',
      'networkPolicies[0].spec.ingress[0].ports[0].protocol: must be one of "TCP", "UDP", "SCTP"',
      'firewall.rules[0].protocols[0].ports[0]: 80-70000 must be 1-65535 (a range LOW-HIGH with LOW <= HIGH)',
    ]);
    // Every endpoint refused: the rules are still checked, and nothing claims that no endpoints are listed.
    const none = problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\nendpoints:\n  - { address: 192.0.2.300 }\nfirewall:\n  rules:\n    - { name: web, direction: ingress, priority: 100, action: allow, protocols: [{ protocol: tcpp }] }\n');
    expect(none).toEqual([
      'endpoints[0].address: must be a dotted-quad IPv4 address such as 192.0.2.1',
      'firewall.rules[0].protocols[0].protocol: "tcpp" is not tcp, udp, icmp, sctp, all or a protocol number 0-255',
    ]);
  });

  it('a peerAddress with another prefix length, or the subnet address, is refused', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: tap, peerAddress: 192.0.2.10/16 } }\n')).toEqual([
      "ports[0].io.peerAddress: 192.0.2.10/16 must have the port's prefix length /24 (the kernel side routes the subnet the port does)",
    ]);
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: tap, peerAddress: 192.0.2.0/24 } }\n')).toEqual([
      'ports[0].io.peerAddress: 192.0.2.0/24 is the network address of 192.0.2.0/24',
    ]);
  });

  it('port names that would be ambiguous or refused where they are used: "." and ".." (Linux refuses them), a leading "-" (an option to ip), "dropped" (a trace\'s interface), "__proto__" (a JSON key)', () => {
    const port = (name: string, io = '') => problems(`ports:\n  - { name: "${name}", address: 192.0.2.1/24${io} }\n`);
    const dots = 'cannot be "." or "..": Linux refuses them as interface names (they name directories, as in /sys/class/net)';
    expect(port('.')).toEqual([`ports[0].name: ${dots}`]);
    expect(port('..')).toEqual([`ports[0].name: ${dots}`]);
    expect(port('lan', ', io: { type: tap, ifname: "..", netns: x, peerName: "." }')).toEqual([`ports[0].io.ifname: ${dots}`, `ports[0].io.peerName: ${dots}`]);
    expect(port('lan', ', io: { type: afpacket, interface: "." }')).toEqual([`ports[0].io.interface: ${dots}`]);
    expect(port('dropped')).toEqual([
      'ports[0].name: "dropped" is reserved for the interface of dropped packets in trace files (replaying a trace would take its drops for arrivals on this port)',
    ]);
    expect(port('__proto__')).toEqual([
      'ports[0].name: "__proto__" is reserved in JavaScript, where that key is an object\'s prototype (the port would vanish from the JSON that lists ports by name)',
    ]);
    // A leading "-" (Linux takes it): `ip -d link show -x`, a hint the dataplane prints, would read the name as an option.
    const dash = 'cannot start with "-": commands that take an interface name, such as `ip -d link show NAME` (which the dataplane prints as a hint), would read it as an option';
    for (const name of ['-x', '-', '--help']) expect(port(name), name).toEqual([`ports[0].name: ${dash}`]);
    expect(port('lan', ', io: { type: tap, ifname: "-d", netns: x, peerName: "-eth1" }')).toEqual([`ports[0].io.ifname: ${dash}`, `ports[0].io.peerName: ${dash}`]);
    expect(port('lan', ', io: { type: afpacket, interface: "-veth0" }')).toEqual([`ports[0].io.interface: ${dash}`]);
    expect(port('lan', ', io: { type: afxdp, interface: "-veth0" }')).toEqual([`ports[0].io.interface: ${dash}`]);
    // No "/" (a name may become a path) nor anything but the interface name characters.
    expect(port('a/b')).toEqual(['ports[0].name: must be 1-15 characters of letters, digits, "_", "." or "-" (a Linux interface name)']);
    // Names that only look like these are ports like any other.
    for (const name of ['Dropped', 'wan.1', '...', 'proto', 'x-', 'a-b']) expect(parseConfig(`ports:\n  - { name: "${name}", address: 192.0.2.1/24 }\n`, 'c.yaml', dir).ports[0].name).toBe(name);
  });

  it('an MTU out of range names the range and both reasons, whatever side it is wrong on', () => {
    const mtu = (m: string) => problems(`ports:\n  - { name: lan, address: 192.0.2.1/24, mtu: ${m} }\n`);
    const range = "ports[0].mtu: must be 68-9216 (at least IPv4's minimum of 68, RFC 791; at most 9216, the largest jumbo frame)";
    for (const m of ['0', '-5', '67', '9217', '70000']) expect(mtu(m), m).toEqual([range]);
    expect(mtu('1500.5')).toEqual(['ports[0].mtu: must be a whole number 68-9216']);
    expect(mtu('"1500"')).toEqual(['ports[0].mtu: expected a number, got a string']);
    for (const m of [68, 9216]) expect(parseConfig(`ports:\n  - { name: lan, address: 192.0.2.1/24, mtu: ${m} }\n`, 'c.yaml', dir).ports[0].mtu).toBe(m);
  });

  it('control.listen: each part of HOST:PORT gets its reason (a port of 70000 was reported as a host that is not loopback); exit 2 at load', () => {
    const listen = (l: string) => problems(`ports:\n  - { name: lan, address: 192.0.2.1/24 }\ncontrol: { listen: "${l}" }\n`);
    expect(listen('127.0.0.1:70000')).toEqual(['control.listen: port 70000 is not 1-65535']);
    expect(listen('localhost:99999')).toEqual(['control.listen: port 99999 is not 1-65535']);
    expect(listen('127.0.0.1:0')).toEqual(['control.listen: port 0 is not 1-65535 (0 would have the kernel pick a port that ctl cannot know)']);
    expect(listen('127.0.0.1:0080')).toEqual(['control.listen: port 0080: write it without leading zeros (80)']);
    expect(listen('192.0.2.1:9470')).toEqual(['control.listen: "192.0.2.1" is not a loopback address: must be a loopback HOST:PORT such as 127.0.0.1:9470 (the API has no authentication)']);
    expect(listen('127.0.0.1')).toEqual(['control.listen: must be a loopback HOST:PORT such as 127.0.0.1:9470 (the API has no authentication)']);
    expect(parseConfig('ports:\n  - { name: lan, address: 192.0.2.1/24 }\ncontrol: { listen: "127.0.0.1:65535" }\n', 'c.yaml', dir).control.listen).toBe('127.0.0.1:65535');
    const file = join(dir, 'listen.yaml');
    writeFileSync(file, 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\ncontrol: { listen: 127.0.0.1:70000 }\n');
    const r = dataplane(['route', 'lookup', '--config', file, '192.0.2.5']);
    expect([r.status, r.stderr]).toEqual([2, `dataplane route lookup: ${file}: invalid config:\n  control.listen: port 70000 is not 1-65535\n`]);
  });

  it('a YAML alias bomb is a config error, not a stack trace or gigabytes', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`l${i}: &l${i} [${Array(9).fill(i === 1 ? '*a' : `*l${i - 1}`).join(',')}]`);
    const p = problems(`${levels.join('\n')}\nports: *l8\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^YAML: .*alias/);
  });
});

describe('files that are not configs', () => {
  it('routesFile: /dev/zero is refused at once (no read, no memory)', () => {
    const p = problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\nroutesFile: /dev/zero\n');
    expect(p).toEqual(['routesFile: /dev/zero is not a regular file (a device, FIFO or socket)']);
  });

  it('a routes file line past 4096 characters is an error naming the line', () => {
    const file = join(dir, 'long.routes');
    writeFileSync(file, `198.18.0.0/24 via 192.0.2.9\n${'x'.repeat(5000)}\n`);
    expect(problems(`ports:\n  - { name: lan, address: 192.0.2.1/24 }\nroutesFile: ${file}\n`)).toEqual([`routesFile: ${file}:2: line longer than 4096 characters (not a routes file?)`]);
  });

  it('a binary routesFile (a pcap, an executable) is one problem saying where its binary data starts, not lines of raw bytes', () => {
    const pcap = join(dir, 'capture.pcap');
    writeFileSync(pcap, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]));
    const elf = join(dir, 'program');
    writeFileSync(elf, Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.from([2, 1, 1, 0]), Buffer.alloc(8)]));
    const nul = join(dir, 'nul.routes');
    writeFileSync(nul, '198.18.0.0/24 via 192.0.2.9\n198.18.1.0/24 via 192.0.2.9\0\n');
    const config = (file: string) => `ports:\n  - { name: lan, address: 192.0.2.1/24 }\nroutesFile: ${file}\n`;
    expect(problems(config(pcap))).toEqual([`routesFile: ${pcap}: not a text file of routes (binary data at byte 0)`]);
    expect(problems(config(elf))).toEqual([`routesFile: ${elf}: not a text file of routes (binary data at byte 7)`]); // after the magic and three control bytes, its first NUL
    expect(problems(config(nul))).toEqual([`routesFile: ${nul}: not a text file of routes (binary data at byte 55)`]);
  });

  it('UTF-8 text (a comment in another script) is text; a UTF-8 sequence cut by the end of the probe is not held against it', () => {
    expect(firstBinaryByte(new TextEncoder().encode('# Маршруты — 路由 🚀\n198.18.0.0/24 via 192.0.2.9\n'))).toBe(-1);
    const euro = new TextEncoder().encode('aa€'); // € is three bytes, starting at byte 2
    expect(firstBinaryByte(euro, 3)).toBe(-1);
    expect(firstBinaryByte(euro.subarray(0, 3))).toBe(2); // the file itself ends inside it
    expect(firstBinaryByte(new Uint8Array([0x41, 0xc0, 0x80]))).toBe(1); // an overlong NUL
    expect(firstBinaryByte(new Uint8Array([0x41, 0xed, 0xa0, 0x80]))).toBe(1); // a surrogate
  });

  it('a bad token in a routes line is quoted safely: controls escaped, a long one cut with its length', () => {
    const file = join(dir, 'odd.routes');
    writeFileSync(file, `198.18.0.0/24\x1b[31m via 192.0.2.9\n198.18.1.0/24 via ${'9'.repeat(300)}\n198.18.2.0/24 dev "lan\u202e"\n`);
    expect(problems(`ports:\n  - { name: lan, address: 192.0.2.1/24 }\nroutesFile: ${file}\n`)).toEqual([
      `routesFile: ${file}:1: "198.18.0.0/24\\u001b[31m" has a bad prefix length (0-32)`,
      `routesFile: ${file}:2: via "${'9'.repeat(64)}..." (300 characters) is not a usable IPv4 address`,
      `${file}:3: dev "\\"lan\\u202e\\"" is not a configured port`,
    ]);
  });

  it('--config naming a binary file, and a binary networkPolicyFile, say so too', () => {
    const elf = join(dir, 'program2');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]));
    expect(() => loadConfig(elf)).toThrow(`${elf}: not a text file of YAML (binary data at byte 7)`);
    expect(problems(`ports:\n  - { name: lan, address: 192.0.2.1/24 }\nendpoints: [{ address: 192.0.2.10 }]\nnetworkPolicyFile: ${elf}\n`)).toEqual([`networkPolicyFile: ${elf}: not a text file of YAML (binary data at byte 7)`]);
  });

  it('--config /dev/zero and a directory: exit 2 with a message', () => {
    for (const path of ['/dev/zero', dir]) {
      const r = dataplane(['route', 'lookup', '--config', path, '192.0.2.1']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${path} is not a regular file`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(() => loadConfig('/dev/null')).toThrow(ConfigError);
  });
});

describe('configs with many mistakes', () => {
  const head = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\nroutes:\n';
  const addr = (i: number) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

  it('200,000 duplicate routes: every problem kept, the message shows the first 100 and how many more, exit 2 without a stack', () => {
    // Each prefix twice: one problem per second copy, more than push(...list) takes as arguments.
    const n = 100_000;
    const lines: string[] = [];
    for (let copy = 0; copy < 2; copy++) for (let i = 0; i < n; i++) lines.push(`  - ${addr(i)} blackhole\n`);
    const file = join(dir, 'dups.yaml');
    writeFileSync(file, head + lines.join(''));
    const r = dataplane(['route', 'lookup', '--config', file, '192.0.2.1']);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const shown = r.stderr.trimEnd().split('\n');
    expect(shown).toHaveLength(1 + 100 + 1);
    expect(shown[1]).toMatch(/^ {2}routes\[100000\]: duplicate prefix 198\.18\.0\.0\/32: /);
    expect(shown.at(-1)).toBe(`  ... and ${n - 100} more (${n} in all): fix these first`);
    let err: unknown;
    try {
      loadConfig(file);
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toHaveLength(n);
  }, 60_000);

  it('50,000 routes with an unknown field each are reported in seconds, not minutes (no quadratic merge of the checks)', () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`  - { prefix: ${addr(i)}, bogus: 1 }\n`);
    const started = performance.now();
    const p = problems(head + lines.join(''));
    // Before: over 60 s on the 2-core test VM (each schema problem scanned every other problem); after: about 2 s.
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(p).toHaveLength(50_000);
    expect(p[49_999]).toBe('routes[49999]: unknown field "bogus"');
  }, 60_000);
});

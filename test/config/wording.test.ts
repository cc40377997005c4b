// What the loader echoes from the file is shown safely (a terminal escape in
// a key or an input line is printed as \u001b, not acted on), and zod's own
// vocabulary ("Invalid option: expected one of", "expected record") reads
// like the rest of the messages.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataplane } from '../cli-run.js';
import { configProblems } from './config-problems.js';

const PORTS = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/24 }\n';

describe('config messages', () => {
  it('escapes control characters in unknown keys and in paths', () => {
    const out = configProblems(PORTS + '"\\e[2J\\e[31mevil": 1\nendpoints:\n  - { address: 198.51.100.10, labels: { "\\e[31mk": v } }\n');
    expect(out).toContain('(top level): unknown field "\\u001b[2J\\u001b[31mevil"');
    expect(out.join('\n')).not.toContain('\u001b');
  });

  it('lists the choices of an enum as the other messages do', () => {
    expect(configProblems(PORTS + 'nat:\n  dnat:\n    - { inPort: wan, proto: sctp, dport: 80, to: 192.0.2.10 }\n')).toContain('nat.dnat[0].proto: must be one of "tcp", "udp"');
    expect(configProblems(PORTS.replace('192.0.2.1/24 }', '192.0.2.1/24, io: { type: foo } }'))).toContain('ports[0].io.type: must be one of "tap", "afpacket", "afxdp"');
  });

  it('a choice left out is missing, not a wrong value (io: {} said the type must be one of them, as if one had been given)', () => {
    expect(configProblems(PORTS.replace('192.0.2.1/24 }', '192.0.2.1/24, io: {} }') + 'nat:\n  dnat:\n    - { inPort: wan, dport: 80, to: 192.0.2.10 }\n')).toEqual([
      'ports[0].io.type: required field missing (one of "tap", "afpacket", "afxdp")',
      'nat.dnat[0].proto: required field missing (one of "tcp", "udp")',
    ]);
  });

  it('says a mapping, never a record, and words -.inf as .inf', () => {
    expect(configProblems(PORTS + 'endpoints:\n  - { address: 198.51.100.10, labels: [a] }\n')).toContain('endpoints[0].labels: expected a mapping, got a list');
    expect(configProblems(PORTS.replace('192.0.2.1/24 }', '192.0.2.1/24, mtu: -.inf }'))).toContain('ports[0].mtu: expected a number, got -Infinity');
    expect(configProblems(PORTS.replace('192.0.2.1/24 }', '192.0.2.1/24, mtu: .inf }'))).toContain('ports[0].mtu: expected a number, got Infinity');
  });

  it('route lookup escapes a bad address read from standard input', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-wording-'));
    writeFileSync(join(dir, 'r.yaml'), PORTS);
    const r = dataplane(['route', 'lookup', '--config', join(dir, 'r.yaml')], '\u001b[31mred\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('dataplane route lookup: "\\u001b[31mred" is not an IPv4 address\n');
  });
});

describe('metrics', () => {
  it('metrics: {} says listen is required, not that it has the wrong shape', () => {
    expect(configProblems(PORTS + 'metrics: {}\n')).toEqual(['metrics.listen: required field missing: the ADDRESS:PORT to listen on, such as 127.0.0.1:9469']);
    expect(configProblems(PORTS + 'metrics: { listen: 5 }\n')).toEqual([expect.stringMatching(/^metrics\.listen: must be ADDRESS:PORT/)]);
  });
});

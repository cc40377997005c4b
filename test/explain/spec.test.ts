// The explain spec: what it accepts (defaults written out), and for each
// kind of mistake, an error that names the word at fault and the reason;
// the command line with it, text and --json.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExplainSpecError, parseExplainSpec, specText } from '../../src/explain/spec.js';
import { dataplane } from '../cli-run.js';
import { FIREWALL_YAML } from './configs.js';

const PORTS = ['lan', 'wan'];

describe('explain spec', () => {
  it('parses the contract form and options; the text form writes the defaults out', () => {
    const s = parseExplainSpec('tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan', PORTS);
    expect(s).toMatchObject({ protocol: 6, sport: 40000, dport: 80, inPort: 0, ttl: 64, tcpFlags: 0x02, length: 40, df: false });
    expect(specText(s)).toBe('tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan flags S ttl 64 len 40');
    const o = parseExplainSpec('udp 192.0.2.10>198.51.100.10:53 in wan ttl 1 len 1000 df tos 16', PORTS);
    expect(specText(o)).toBe('udp 192.0.2.10:49152 > 198.51.100.10:53 in wan ttl 1 len 1000 tos 16 df');
    expect(specText(parseExplainSpec('icmp echo-reply 192.0.2.10 > 192.0.2.1 in lan id 7', PORTS))).toBe('icmp echo-reply 192.0.2.10 > 192.0.2.1 in lan id 7 ttl 64 len 84');
    expect(parseExplainSpec('icmp 192.0.2.10 > 192.0.2.1 type 11 in lan', PORTS).icmpType).toBe(11);
    expect(parseExplainSpec('tcp 192.0.2.10:1 > 192.0.2.1:2 in lan flags FA', PORTS).tcpFlags).toBe(0x11);
    expect(parseExplainSpec('udp 192.0.2.10:1 > 192.0.2.1:2 in lan frag offset 64', PORTS)).toMatchObject({ mf: true, fragmentOffset: 64 });
  });

  it('takes "->" for ">", as firewall --judge writes the arrow', () => {
    expect(specText(parseExplainSpec('tcp 192.0.2.10:40000 -> 203.0.113.10:80 in lan', PORTS))).toBe('tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan flags S ttl 64 len 40');
    expect(parseExplainSpec('udp 192.0.2.10:1->192.0.2.1:2 in lan', PORTS)).toMatchObject({ sport: 1, dport: 2 });
  });

  it.each([
    ['tcpx 192.0.2.10:1 > 192.0.2.1:2 in lan', 'tcpx', 'not a protocol'],
    ['tcp 192.0.2.300:1 > 192.0.2.1:2 in lan', '192.0.2.300:1', 'source must be an IPv4 address'],
    ['tcp 192.0.2.10:1 < 192.0.2.1:2 in lan', '<', 'expected ">"'],
    ['tcp 192.0.2.10:1 > 192.0.2.1 in lan', '192.0.2.1', 'needs a destination port'],
    ['tcp 192.0.2.10:70000 > 192.0.2.1:2 in lan', '70000', 'source port must be a whole number from 1 to 65535'],
    ['udp 192.0.2.10:1 > 192.0.2.1:0 in lan', '0', 'the destination port must be 1-65535 (port 0 is reserved, RFC 6335: no socket sends from or to it)'],
    ['icmp 192.0.2.10:5 > 192.0.2.1 in lan', '192.0.2.10:5', 'only tcp and udp have ports'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in dmz', 'dmz', 'not a port of the config (ports: lan, wan)'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2', '', 'say which port the packet arrives on'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in lan ttl 256', '256', 'ttl must be a whole number from 0 to 255'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in lan flags SX', 'SX', 'TCP flags are letters'],
    ['udp 192.0.2.10:1 > 192.0.2.1:2 in lan flags S', 'flags', 'only tcp has flags'],
    ['udp 192.0.2.10:1 > 192.0.2.1:2 in lan offset 12', '12', 'multiple of 8'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in lan len 30', '30', 'below the 40 bytes of the headers'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in lan ttl 3 ttl 4', 'ttl', 'given twice'],
    ['tcp 192.0.2.10:1 > 192.0.2.1:2 in lan fast', 'fast', 'not an option'],
    ['', '', 'the protocol is missing'],
  ])('%j: names "%s"', (spec, word, reason) => {
    let err: unknown;
    try {
      parseExplainSpec(spec, PORTS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExplainSpecError);
    expect((err as ExplainSpecError).word).toBe(word);
    expect((err as ExplainSpecError).message).toContain(reason);
  });

  it('the command: text, --json, and a bad packet is a usage error naming the word', () => {
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    const cfg = join(dir, 'router.yaml');
    writeFileSync(cfg, FIREWALL_YAML);
    const text = dataplane(['explain', '--config', cfg, 'tcp 198.51.100.10:40000 > 192.0.2.10:22 in wan']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('firewall: reject: rejected by reject-ssh (vpc ingress priority 900 reject)');
    expect(text.stdout).toContain('icmp:     ICMP communication administratively prohibited (type 3 code 13) to 198.51.100.10 by wan');
    const json = dataplane(['explain', '--config', cfg, '--json', 'tcp 198.51.100.10:40000 > 192.0.2.10:80 in wan']);
    expect(json.status).toBe(0);
    const r = JSON.parse(json.stdout) as { outcome: string; firewall: { rules: { name: string; priority: number }[] } };
    expect([r.outcome, r.firewall.rules[0].name, r.firewall.rules[0].priority]).toEqual(['forwarded', 'allow-web', 1000]);
    const bad = dataplane(['explain', '--config', cfg, 'tcp 198.51.100.10:40000 > 192.0.2.10:80 in dmz']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('dataplane explain: "dmz": not a port of the config (ports: lan, wan)\n');
  });
});

// `dataplane lb preview`: two small configs (the second removes one of four
// equal backends, adds a VIP and drops another) and a capture written with
// the project's pcap writer, through the built command. The figures come
// from the configs' real Maglev tables and the capture's real flows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { tcpFrame, udpFrame } from '../pipeline/build.js';
import { dataplane } from '../cli-run.js';

const dir = mkdtempSync(join(tmpdir(), `lb-preview-cli-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PORTS = `ports:
  - { name: lan, address: 198.51.100.1/24 }
  - { name: wan, address: 192.0.2.254/24 }
`;

function config(name: string, webBackends: number[], extra: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `${PORTS}loadBalancer:
  vips:
    - name: web
      address: 203.0.113.10
      protocol: tcp
      port: 80
      mode: dsr-l2
      backends:
${webBackends.map((b) => `        - { address: 198.51.100.${b}, weight: 100 }`).join('\n')}
${extra}`,
  );
  return path;
}

const DNS = `    - name: dns
      address: 203.0.113.53
      protocol: udp
      port: 53
      mode: nat
      backends:
        - { address: 198.51.100.21 }
        - { address: 198.51.100.22 }
`;
const NTP = `    - name: ntp
      address: 203.0.113.123
      protocol: udp
      mode: nat
      backends:
        - { address: 198.51.100.31 }
`;

const before = config('before.yaml', [11, 12, 13, 14], DNS);
const after = config('after.yaml', [11, 12, 13], NTP);

/** 4000 TCP flows to web (clients 192.0.2.1-200 x 20 ports, two packets each), 100 UDP flows to dns, 10 to ntp. */
function writeCapture(): string {
  const path = join(dir, 'traffic.pcapng');
  const w = new PcapngWriter(path, { interfaces: [{ name: 'wan', linkType: LINKTYPE_ETHERNET }] });
  let t = 0;
  for (let c = 1; c <= 200; c++) {
    for (let p = 0; p < 20; p++) {
      const ip = { src: `192.0.2.${c}`, dst: '203.0.113.10' };
      w.write(0, tcpFrame(ip, 30000 + p * 13, 80, 0x02), 1700000000, t++);
      w.write(0, tcpFrame(ip, 30000 + p * 13, 80, 0x10), 1700000000, t++);
    }
  }
  for (let i = 0; i < 100; i++) w.write(0, udpFrame({ src: `198.18.0.${i + 1}`, dst: '203.0.113.53' }, 5353, 53), 1700000001, i);
  for (let i = 0; i < 10; i++) w.write(0, udpFrame({ src: `198.18.1.${i + 1}`, dst: '203.0.113.123' }, 123, 123), 1700000002, i);
  w.close();
  return path;
}
const capture = writeCapture();

interface PreviewJson {
  capture?: { flows: number; packets: number; frames: number; fragments: number };
  vips: { name: string; change: string; slotShare: number; slotsMoved: number; flows?: number; flowsMoved?: number; flowShare?: number; backends: { address: string; before?: number; after?: number }[] }[];
}

describe('dataplane lb preview', () => {
  it('removing one of 4 equal backends: 25% of the slots and about 25% of the capture flows move; VIPs added and removed are named', () => {
    const r = dataplane(['lb', 'preview', '--config', before, '--new', after, '--flows', capture, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as PreviewJson;
    expect(doc.capture).toMatchObject({ frames: 8110, packets: 8110, flows: 4110, fragments: 0 });
    expect(doc.vips.map((v) => [v.name, v.change])).toEqual([
      ['web', 'changed'],
      ['ntp', 'added'],
      ['dns', 'removed'],
    ]);
    const web = doc.vips[0];
    expect(web.slotShare).toBeGreaterThanOrEqual(0.25 - 1e-4);
    expect(web.slotShare).toBeLessThan(0.255);
    expect(web.flows).toBe(4000);
    expect(web.flowShare!).toBeGreaterThan(0.22);
    expect(web.flowShare!).toBeLessThan(0.28);
    const gone = web.backends.find((b) => b.address === '198.51.100.14')!;
    expect(gone.after).toBeUndefined();
    expect(gone.before!).toBeCloseTo(0.25, 3);
    for (const b of web.backends.filter((x) => x.address !== '198.51.100.14')) expect(b.after!).toBeCloseTo(1 / 3, 3);
    expect(doc.vips[1]).toMatchObject({ flows: 10, flowsMoved: 10 });
    expect(doc.vips[2]).toMatchObject({ flows: 100, flowsMoved: 100 });
  });

  it('prints the same figures as text', () => {
    const json = JSON.parse(dataplane(['lb', 'preview', '--config', before, '--new', after, '--flows', capture, '--json']).stdout) as PreviewJson;
    const r = dataplane(['lb', 'preview', '--config', before, '--new', after, '--flows', capture]);
    expect(r.status).toBe(0);
    const web = json.vips[0];
    expect(r.stdout).toContain(`capture ${capture}: 8110 frames, 8110 TCP/UDP packets to VIP addresses, 4110 flows`);
    expect(r.stdout).toContain(`web (203.0.113.10 tcp/80, dsr-l2, 65537 slots): ${(web.slotShare * 100).toFixed(2)}% of slots change backend (${web.slotsMoved} of 65537)`);
    expect(r.stdout).toContain(`  flows: ${(web.flowShare! * 100).toFixed(2)}% of its 4000 flows in the capture would move (${web.flowsMoved})`);
    expect(r.stdout).toContain('  hashing: per flow (five-tuple hash)');
    expect(r.stdout).toMatch(/ {2}198\.51\.100\.14 +25\.0\d% -> absent of slots/);
    expect(r.stdout).toContain('ntp (203.0.113.123 udp, nat, 65537 slots): added (1 backends)');
    expect(r.stdout).toContain('dns (203.0.113.53 udp/53, nat, 65537 slots): removed (2 backends)');
  });

  it('the same config twice: nothing moves', () => {
    const doc = JSON.parse(dataplane(['lb', 'preview', '--config', before, '--new', before, '--flows', capture, '--json']).stdout) as PreviewJson;
    expect(doc.vips.map((v) => [v.name, v.change, v.slotsMoved, v.flowsMoved])).toEqual([
      ['web', 'unchanged', 0, 0],
      ['dns', 'unchanged', 0, 0],
    ]);
  });

  it('a bad config is exit 2 naming the field; an unreadable capture is exit 1', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `${PORTS}loadBalancer:\n  vips:\n    - { name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 65536, backends: [{ address: 198.51.100.11 }] }\n`);
    const r = dataplane(['lb', 'preview', '--config', before, '--new', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tableSize.*not prime/);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture at all');
    const c = dataplane(['lb', 'preview', '--config', before, '--new', after, '--flows', junk]);
    expect(c.status).toBe(1);
    expect(c.stderr).toContain(`dataplane lb preview: ${junk}:`);
    expect(dataplane(['lb', 'preview', '--config', before]).status).toBe(2);
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, PORTS);
    const none = dataplane(['lb', 'preview', '--config', plain, '--new', plain]);
    expect([none.status, none.stdout]).toEqual([0, 'no VIPs in either config (nothing to compare: add loadBalancer.vips, CONFIG.md "Load balancer")\n']);
  });

  it('with clientIP affinity, flows move per client (a client\'s 20 flows together) and the text says it hashed per client', () => {
    const affinity = '      affinity: { type: clientIP }\n';
    const a = config('affinity-before.yaml', [11, 12, 13, 14], affinity);
    const b = config('affinity-after.yaml', [11, 12, 13], affinity);
    const doc = JSON.parse(dataplane(['lb', 'preview', '--config', a, '--new', b, '--flows', capture, '--json']).stdout) as PreviewJson & { vips: { hashing: unknown }[] };
    const web = doc.vips[0];
    expect(web.flows).toBe(4000);
    expect(web.flowsMoved! % 20).toBe(0);
    expect(web.flowShare!).toBeGreaterThan(0.15);
    expect(web.flowShare!).toBeLessThan(0.35);
    expect(web.hashing).toEqual({ before: { by: 'client', prefixLength: 32, hash: 'five-tuple' }, after: { by: 'client', prefixLength: 32, hash: 'five-tuple' } });
    const r = dataplane(['lb', 'preview', '--config', a, '--new', b, '--flows', capture]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`  flows: ${(web.flowShare! * 100).toFixed(2)}% of its 4000 flows in the capture would move (${web.flowsMoved})`);
    expect(r.stdout).toContain("  hashing: per client /32 (clientIP affinity: a client's first flow in the capture picks by its five-tuple hash, its other flows follow)");
    expect(r.stdout).toContain('a client whose affinity entry is still fresh keeps its backend');
    const on = dataplane(['lb', 'preview', '--config', before, '--new', a, '--flows', capture]);
    expect(on.stdout).toContain('  hashing: before per flow (five-tuple hash); after per client /32 (clientIP affinity');
  });
});

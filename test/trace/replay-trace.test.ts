// `dataplane replay --trace`: the packet trace of a capture, read back by
// tshark. Each traced packet appears as it came in and as it left (or where
// it was dropped), the node verdicts as packet comments.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { dataplane } from '../cli-run.js';
import { HOST_MAC, ROUTER_MAC, udpFrame } from '../pipeline/build.js';
import { BASE_CONFIG } from '../pipeline/harness.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

const config = join(dir, 'router.yaml');
writeFileSync(config, BASE_CONFIG);

/** A capture of a TTL-1 packet, an unrouted packet and a forwarded one, all arriving on lan. */
function capture(): string {
  const path = join(dir, 'in.pcapng');
  const w = new PcapngWriter(path, { interfaces: ['lan', 'wan', 'dmz'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET })) });
  w.write(0, udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 40000, 33434), 1_700_000_000, 0);
  w.write(0, udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, 40001, 53), 1_700_000_000, 1000);
  w.write(0, udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 40002, 53), 1_700_000_000, 2000);
  w.close();
  return path;
}

/** tshark's view of a trace: one row per frame: interface, comments. */
function readTrace(path: string): { iface: string; comments: string[] }[] {
  const t = spawnSync('tshark', ['-r', path, '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=^', '-e', 'frame.interface_name', '-e', 'frame.comment'], { encoding: 'utf8' });
  expect(t.status).toBe(0);
  return t.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [iface, comments] = line.split('\t');
      return { iface, comments: comments.split('^') };
    });
}

describe('dataplane replay --trace', skipIf(hasTshark ? undefined : 'tshark is not installed: apt-get install -y tshark'), () => {
  it('traces a TTL-1, an unrouted and a forwarded packet: the comments name each verdict and the output port', () => {
    const out = join(dir, 'out.pcapng');
    const trace = join(dir, 'trace.pcapng');
    const r = dataplane(['replay', capture(), '--config', config, '--out', out, '--trace', trace, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).traced).toBe(3);
    const frames = readTrace(trace);
    // Each packet: in on lan, then out (the ICMP errors go back out of lan, the forwarded packet out of wan).
    expect(frames.map((f) => f.iface)).toEqual(['lan', 'lan', 'lan', 'lan', 'lan', 'wan']);
    expect(frames.map((f) => f.comments[0])).toEqual(['trace 1: in lan', 'trace 1: out lan', 'trace 2: in lan', 'trace 2: out lan', 'trace 3: in lan', 'trace 3: out wan']);
    const ttl = frames[1].comments.join('\n');
    expect(ttl).toContain('ip4-rewrite/ttl-expired -> icmp-error: ICMP time exceeded in transit');
    expect(ttl).toContain('ip4-input -> ip4-lookup: 192.0.2.10 > 192.0.2.200 udp 40000 > 33434 ttl 1');
    expect(ttl).toContain('icmp-error -> ip4-lookup: now 192.0.2.1 > 192.0.2.10 icmp type 11 code 0 id 0 ttl 64');
    expect(ttl).toContain('ip4-output -> out lan');
    const unrouted = frames[3].comments.join('\n');
    expect(unrouted).toContain('ip4-lookup/no-route -> icmp-error');
    expect(unrouted).toContain('ICMP net unreachable');
    const forwarded = frames[5].comments;
    expect(forwarded).toEqual([
      'trace 3: out wan',
      'ethernet-input -> ip4-input',
      'ip4-input -> ip4-lookup: 192.0.2.10 > 192.0.2.200 udp 40002 > 53 ttl 64',
      'ip4-lookup -> ip4-rewrite: route 192.0.2.128/25 via 198.51.100.254 dev wan',
      'ip4-rewrite -> ip4-output: ttl 64 -> 63',
      'ip4-output -> out wan',
    ]);
  });

  it('with NAT: the trace shows the binding a packet got (ct-input, then nat-output with the translated source)', () => {
    const natConfig = join(dir, 'nat.yaml');
    writeFileSync(natConfig, `${BASE_CONFIG}nat:\n  masquerade:\n    - { outPort: wan, ports: 40000-40000 }\nconntrack: { capacity: 1024 }\n`);
    const path = join(dir, 'nat-in.pcapng');
    const w = new PcapngWriter(path, { interfaces: ['lan', 'wan', 'dmz'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET })) });
    w.write(0, udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 5353, 53), 1_700_000_000, 0);
    w.close();
    const trace = join(dir, 'nat-trace.pcapng');
    const r = dataplane(['replay', path, '--config', natConfig, '--out', join(dir, 'nat-out.pcapng'), '--trace', trace]);
    expect(r.status).toBe(0);
    const out = readTrace(trace)[1];
    expect(out.comments[0]).toBe('trace 1: out wan');
    const text = out.comments.join('\n');
    expect(text).toContain('ip4-input -> ct-input');
    expect(text).toContain('ip4-lookup -> nat-output');
    expect(text).toContain('nat-output -> ip4-rewrite');
    expect(text).toContain('now 198.51.100.1:40000 -> 198.19.0.5:53 udp');
  });

  it('with a firewall: the trace names the rule that decided, for a packet it allowed and one it denied', () => {
    const fwConfig = join(dir, 'fw.yaml');
    writeFileSync(
      fwConfig,
      `${BASE_CONFIG}endpoints:\n  - { address: 192.0.2.10, labels: { app: web } }\nfirewall:\n  rules:\n    - { name: no-dns-out, direction: egress, priority: 100, action: deny, protocols: [{ protocol: udp, ports: [53] }], targets: { labels: { app: web } } }\n`,
    );
    const path = join(dir, 'fw-in.pcapng');
    const w = new PcapngWriter(path, { interfaces: ['lan', 'wan', 'dmz'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET })) });
    w.write(0, udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 5353, 53), 1_700_000_000, 0);
    w.write(0, udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 5353, 123), 1_700_000_000, 1000);
    w.close();
    const trace = join(dir, 'fw-trace.pcapng');
    const r = dataplane(['replay', path, '--config', fwConfig, '--out', join(dir, 'fw-out.pcapng'), '--trace', trace, '--json']);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { firewall: { name: string; hits: number }[] };
    expect(Object.fromEntries(summary.firewall.map((h) => [h.name, h.hits]))).toEqual({ 'implied-allow-egress': 1, 'no-dns-out': 1, 'implied-deny-ingress': 0 });
    const frames = readTrace(trace);
    const denied = frames.filter((f) => f.comments[0].startsWith('trace 1:')).flatMap((f) => f.comments).join('\n');
    expect(denied).toContain('firewall/denied');
    expect(denied).toContain('denied by no-dns-out (vpc egress priority 100 deny)');
    const allowed = frames.filter((f) => f.comments[0].startsWith('trace 2:')).flatMap((f) => f.comments).join('\n');
    expect(allowed).toContain('ip4-lookup -> firewall');
    expect(allowed).toContain('allowed by implied-allow-egress (implied egress priority 65535 allow)');
    expect(allowed).toContain('firewall -> nat-output');
  });

  it('traces only what the filter picks, at most --trace-count packets', () => {
    const out = join(dir, 'out2.pcapng');
    const trace = join(dir, 'trace2.pcapng');
    const r = dataplane(['replay', capture(), '--config', config, '--out', out, '--trace', trace, '--trace-filter', 'udp and dst port 53', '--trace-count', '1', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).traced).toBe(1);
    const frames = readTrace(trace);
    // The first packet is to port 33434: not picked. The second (unrouted, port 53) is; the budget then is spent.
    expect(frames.map((f) => f.comments[0])).toEqual(['trace 1: in lan', 'trace 1: out lan']);
    expect(frames[1].comments.join('\n')).toContain('ip4-lookup/no-route');
  });

  it('a dropped packet appears on the "dropped" interface with the drop reason', () => {
    const path = join(dir, 'blackhole.pcapng');
    const w = new PcapngWriter(path, { interfaces: [{ name: 'lan', linkType: LINKTYPE_ETHERNET }] });
    w.write(0, udpFrame({ ...FROM_LAN, dst: '198.18.0.7' }, 1, 2), 1_700_000_000, 0); // 198.18.0.0/24 blackhole
    w.close();
    const trace = join(dir, 'trace3.pcapng');
    const r = dataplane(['replay', path, '--config', config, '--out', join(dir, 'out3.pcapng'), '--trace', trace]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('packets traced: 1');
    const frames = readTrace(trace);
    expect(frames.map((f) => f.iface)).toEqual(['lan', 'dropped']);
    expect(frames[1].comments).toContain('ip4-lookup/blackhole: dropped: route 198.18.0.0/24 blackhole');
  });

  it('a fragmented packet: the path on the first fragment, each piece shown for what it is', () => {
    const path = join(dir, 'big.pcapng');
    const w = new PcapngWriter(path, { interfaces: [{ name: 'lan', linkType: LINKTYPE_ETHERNET }] });
    w.write(0, udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 5000, 53, 1450), 1_700_000_000, 0); // wan's MTU is 1400, DF clear
    w.close();
    const trace = join(dir, 'trace4.pcapng');
    const r = dataplane(['replay', path, '--config', config, '--out', join(dir, 'out4.pcapng'), '--trace', trace]);
    expect(r.status).toBe(0);
    const frames = readTrace(trace);
    expect(frames.map((f) => [f.iface, f.comments[0]])).toEqual([
      ['lan', 'trace 1: in lan'],
      ['wan', 'trace 1: out wan (1 of 2)'],
      ['wan', 'trace 1: out wan (2 of 2)'],
    ]);
    expect(frames[2].comments).toHaveLength(1);
    const lines = frames[1].comments;
    expect(lines).toContain('ip4-rewrite -> ip4-frag: ttl 64 -> 63');
    expect(lines.slice(5)).toEqual([
      'ip4-frag -> ip4-output: now 192.0.2.10 > 192.0.2.200 udp 5000 > 53 first fragment ttl 63',
      'ip4-frag -> ip4-output: now 192.0.2.10 > 192.0.2.200 udp fragment at 1376 (last) ttl 63',
      'ip4-frag: consumed: replaced by its fragments',
      'ip4-output -> out wan',
      'ip4-output -> out wan',
    ]);
  });

  it('rejects a bad filter, a count out of range, and trace options without --trace, with exit 2', () => {
    const base = ['replay', capture(), '--config', config, '--out', join(dir, 'x.pcapng')];
    let r = dataplane([...base, '--trace', join(dir, 't.pcapng'), '--trace-filter', 'in nowhere']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--trace-filter: trace filter \"in nowhere\": at 'nowhere' (word 2): expected a port name (lan, wan, dmz)");
    r = dataplane([...base, '--trace', join(dir, 't.pcapng'), '--trace-count', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--trace-count must be a whole number from 1 to 1000000');
    r = dataplane([...base, '--trace-filter', 'udp']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--trace-count and --trace-filter need --trace FILE');
  });
});

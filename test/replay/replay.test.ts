// `dataplane replay` end to end: crafted frames in a pcapng whose interfaces
// are named after the ports, through the command, and tshark reading what
// came out: the ICMP a router must send, with valid checksums, on the right
// interface.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { echoFrame, udpFrame, HOST_MAC, ROUTER_MAC } from '../pipeline/build.js';
import { BASE_CONFIG } from '../pipeline/harness.js';
import { dataplane } from '../cli-run.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasTshark = spawnSync('tshark', ['--version']).status === 0;

const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

function writeInput(): string {
  const path = join(dir, 'in.pcapng');
  const w = new PcapngWriter(path, { interfaces: ['lan', 'wan', 'dmz'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET })) });
  const frames = [
    udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 40000, 33434), // time exceeded
    udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, 1, 2), // no route: net unreachable
    udpFrame({ ...FROM_LAN, dst: '198.18.1.9' }, 1, 2), // unreachable route
    udpFrame({ ...FROM_LAN, dst: '198.18.2.9' }, 1, 2), // prohibit: admin prohibited
    udpFrame({ ...FROM_LAN, dst: '192.0.2.200', df: true }, 1, 2, 1472), // frag needed, MTU 1400
    echoFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 9, 1), // echo reply
    udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 5, 6), // forwarded to wan
  ];
  frames.forEach((f, i) => w.write(0, f, 1_700_000_000, i * 1000));
  w.close();
  return path;
}

describe('dataplane replay', () => {
  const config = join(dir, 'router.yaml');
  writeFileSync(config, BASE_CONFIG);

  it('sends the ICMP a router must, with valid checksums, out of the right port (checked by tshark)', skipIf(hasTshark ? undefined : 'tshark is not installed: apt-get install -y tshark'), () => {
    const input = writeInput();
    const out = join(dir, 'out.pcapng');
    const r = dataplane(['replay', input, '--config', config, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { framesRead: number; framesOut: number; counters: Record<string, { packets: number }> };
    expect([summary.framesRead, summary.framesOut]).toEqual([7, 7]);
    expect(summary.counters['ip4-rewrite/ttl-expired'].packets).toBe(1);
    const t = spawnSync(
      'tshark',
      ['-r', out, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=,', '-E', 'occurrence=f',
        '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type', '-e', 'icmp.code', '-e', 'icmp.mtu', '-e', 'ip.checksum.status', '-e', 'icmp.checksum.status', '-e', 'ip.ttl'],
      { encoding: 'utf8' },
    );
    expect(t.status).toBe(0);
    // Status 1 is tshark's 'good' for a verified checksum. Output order follows the graph, not the input.
    expect(t.stdout.trim().split('\n').sort()).toEqual([
      'lan,192.0.2.1,192.0.2.10,0,0,,1,1,64', // echo reply
      'lan,192.0.2.1,192.0.2.10,11,0,,1,1,64', // time exceeded
      'lan,192.0.2.1,192.0.2.10,3,0,,1,1,64', // net unreachable (no route)
      'lan,192.0.2.1,192.0.2.10,3,0,,1,1,64', // net unreachable (unreachable route)
      'lan,192.0.2.1,192.0.2.10,3,13,,1,1,64', // administratively prohibited
      'lan,192.0.2.1,192.0.2.10,3,4,1400,1,1,64', // fragmentation needed, MTU 1400
      'wan,192.0.2.10,192.0.2.200,,,,1,,63', // forwarded
    ]);
  });

  it('needs --in-port for a classic pcap on a router with several ports, and names the ports', () => {
    const path = join(dir, 'in.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
    w.write(udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 5, 6), 1, 0);
    w.close();
    const bad = dataplane(['replay', path, '--config', config, '--out', join(dir, 'o.pcapng')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--in-port NAME/);
    const wrong = dataplane(['replay', path, '--config', config, '--out', join(dir, 'o.pcapng'), '--in-port', 'eth7']);
    expect(wrong.stderr).toMatch(/--in-port: "eth7" is not a port of the config \(ports: lan, wan, dmz\)/);
    const ok = dataplane(['replay', path, '--config', config, '--out', join(dir, 'o.pcapng'), '--in-port', 'lan']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/frames read: 1, frames out: 1/);
  });

  it('takes the frames of a jumbo port whole (MTU 9000): a 9000-byte datagram is fragmented for the 1400-byte wan, one worker or two alike', () => {
    const jumbo = join(dir, 'jumbo.yaml');
    writeFileSync(jumbo, BASE_CONFIG.replace('address: 192.0.2.1/25 }', 'address: 192.0.2.1/25, mtu: 9000 }'));
    const path = join(dir, 'jumbo.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
    w.write(udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 5, 6, 9000 - 28), 1, 0);
    w.close();
    for (const workers of ['1', '2']) {
      const r = dataplane(['replay', path, '--config', jumbo, '--out', join(dir, `jumbo-${workers}.pcapng`), '--in-port', 'lan', '--workers', workers, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { framesRead: number; framesOut: number; skipped: Record<string, number>; counters: Record<string, { packets: number }> };
      expect([summary.framesRead, summary.skipped, summary.counters['ip4-frag/fragments-made']?.packets, summary.framesOut], `--workers ${workers}`).toEqual([1, {}, 7, 7]);
    }
  });

  it('reports a bad config with the field and exits 2', () => {
    const badConfig = join(dir, 'bad.yaml');
    writeFileSync(badConfig, 'ports:\n  - { name: lan, address: 192.0.2.1 }\n');
    const r = dataplane(['replay', join(dir, 'whatever.pcap'), '--config', badConfig, '--out', join(dir, 'o.pcapng')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ports\[0\]\.address: must be an address with prefix length/);
  });
});

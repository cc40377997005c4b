// `dataplane lab up|status|down` as a user runs it: the command line, its
// output, and nothing left behind (namespaces, state, the dataplane process).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, stateDir } from '../../src/lab/lab.js';
import { listNetns, tryRun } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { dataplane } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, processesMentioning, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();

/** The nftables tables of the host's own namespace (the NAT lab must leave them as they were). */
function hostNftTables(): string {
  return tryRun('nft', ['list', 'tables']).stdout;
}
let PREFIX = 'dpe-cli';
let KPREFIX = 'dpe-clk';

describe('dataplane lab (CLI)', skipIf(skip), () => {
  beforeAll(async () => {
    PREFIX = await uniquePrefix('dpe-cli');
    KPREFIX = await uniquePrefix('dpe-clk');
  });
  afterAll(async () => {
    await labDown(PREFIX);
    await labDown(`${KPREFIX}`);
  });

  it('up prints the topology, status shows it alive, down removes everything', () => {
    const up = dataplane(['lab', 'up', '--prefix', PREFIX, '--ports', 'tap', '--workers', '1']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`lab "${PREFIX}": dataplane pid (\\d+), 1 worker, tap ports`));
    expect(up.stdout).toMatch(/192\.0\.2\.10\/24 --- lan 192\.0\.2\.1\/24/);
    const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
    const again = dataplane(['lab', 'up', '--prefix', PREFIX]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists already/);

    const st = dataplane(['lab', 'status', '--prefix', PREFIX]);
    expect(st.status, st.stdout + st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`router: pid ${pid} alive`));
    expect(st.stdout).toMatch(/eth0 UNKNOWN 192\.0\.2\.10\/24/);
    expect(st.stdout).toMatch(/eth0 UNKNOWN 198\.51\.100\.10\/24/);
    expect(nsExec(`${PREFIX}-client`, ['ping', '-c1', '-W2', '198.51.100.10']).status).toBe(0);

    const down = dataplane(['lab', 'down', '--prefix', PREFIX]);
    expect(down.status).toBe(0);
    expect(down.stdout).toContain(`stopped dataplane pid ${pid} (SIGTERM)`);
    expect(listNetns().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
    expect(existsSync(stateDir(PREFIX))).toBe(false);
    expect(processesMentioning(`${stateDir(PREFIX)}/router.yaml`)).toEqual([]);
    expect(dataplane(['lab', 'status', '--prefix', PREFIX]).stdout).toMatch(/no lab with prefix/);
  }, 40_000);

  it('the TAPs the dataplane created vanish when it stops on SIGTERM', async () => {
    const up = dataplane(['lab', 'up', '--prefix', PREFIX, '--ports', 'tap']);
    expect(up.status, up.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
    expect(nsExec(`${PREFIX}-client`, ['ip', 'link', 'show', 'eth0']).status).toBe(0);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && processesMentioning(`${stateDir(PREFIX)}/router.yaml`).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(processesMentioning(`${stateDir(PREFIX)}/router.yaml`)).toEqual([]);
    for (const [ns, dev] of [[`${PREFIX}-client`, 'eth0'], [`${PREFIX}-server`, 'eth0'], [`${PREFIX}-router`, 'lan'], [`${PREFIX}-router`, 'wan']]) {
      expect(nsExec(ns, ['ip', 'link', 'show', dev]).status, `${dev} in ${ns}`).not.toBe(0);
    }
    expect(readFileSync(`${stateDir(PREFIX)}/dataplane.log`, 'utf8')).toMatch(/stopped\. ports:/);
    const st = dataplane(['lab', 'status', '--prefix', PREFIX]);
    expect(st.stdout).toContain(`router: NOT running: the dataplane process (pid ${pid}) is gone: it stopped (SIGTERM or SIGINT) and printed its final counters to its log`);
    const down = dataplane(['lab', 'down', '--prefix', PREFIX]);
    expect(down.stdout).toMatch(/had already exited/);
    expect(listNetns().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
  }, 40_000);

  it('status after the dataplane was killed (kill -9) says its process is gone and how to clean up; down leaves nothing behind', async () => {
    for (const ports of ['tap', 'afpacket']) {
      const up = dataplane(['lab', 'up', '--prefix', PREFIX, '--ports', ports]);
      expect(up.status, up.stderr).toBe(0);
      const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
      process.kill(pid, 'SIGKILL');
      // Gone once it is reaped or a zombie (its threads and fds are released by then).
      const gone = () => !existsSync(`/proc/${pid}`) || /^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      for (let i = 0; i < 100 && !gone(); i++) await new Promise((r) => setTimeout(r, 20));

      const st = dataplane(['lab', 'status', '--prefix', PREFIX]);
      expect(st.status, st.stdout + st.stderr).toBe(1);
      expect(st.stdout).toContain(`router: NOT running: the dataplane process (pid ${pid}) is gone: its log does not end with its final counters, so it was killed (SIGKILL) or crashed`);
      expect(st.stdout).toContain(`clean up: dataplane lab down --prefix ${PREFIX}`);
      // Not "the dataplane owns its ports": there is no dataplane.
      expect(st.stdout).not.toMatch(/owns its ports/);

      const down = dataplane(['lab', 'down', '--prefix', PREFIX]);
      expect(down.status, down.stderr).toBe(0);
      expect(down.stdout).toContain(`dataplane pid ${pid} had already exited`);
      expect(listNetns().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
      expect(existsSync(stateDir(PREFIX))).toBe(false);
      expect(processesMentioning(`${stateDir(PREFIX)}/router.yaml`)).toEqual([]);
      expect(dataplane(['lab', 'status', '--prefix', PREFIX]).stdout).toMatch(/no lab with prefix/);
    }
  }, 60_000);

  it('runs the same topology with the kernel as the router (the reference)', () => {
    const up = dataplane(['lab', 'up', '--prefix', `${KPREFIX}`, '--ports', 'afpacket', '--engine', 'kernel']);
    expect(up.status, up.stderr).toBe(0);
    const r = nsExec(`${KPREFIX}-client`, ['ping', '-c1', '-W2', '198.51.100.10']);
    expect(r.out).toMatch(/ttl=63/);
    expect(dataplane(['lab', 'down', '--prefix', `${KPREFIX}`]).status).toBe(0);
    expect(listNetns().filter((n) => n.startsWith(`${KPREFIX}-`))).toEqual([]);
  }, 40_000);

  it('--nat: the kernel NATs with nftables in the router namespace only, the dataplane gets the nat config; the server gets a second address and no default route', { ...skipIf(missingToolsMessage(['nft'])), timeout: 60_000 }, () => {
    const hostTables = hostNftTables();
    for (const engine of ['kernel', 'dataplane']) {
      const prefix = engine === 'kernel' ? KPREFIX : PREFIX;
      const up = dataplane(['lab', 'up', '--prefix', prefix, '--ports', 'afpacket', '--engine', engine, '--nat', '--nat-filtering', 'address-dependent', '--conntrack-capacity', '2048']);
      expect(up.status, up.stderr).toBe(0);
      expect(up.stdout).toContain('masquerade to 198.51.100.1 on wan, address-dependent filtering');
      expect(up.stdout).toContain('198.51.100.1:8080/tcp -> 192.0.2.10:80, 198.51.100.1:5353/udp -> 192.0.2.10:53');
      expect(up.stdout).toContain('eth0 198.51.100.10/24 + 198.51.100.11/24');
      const server = `${prefix}-server`;
      expect(nsExec(server, ['ip', '-4', '-br', 'addr', 'show', 'dev', 'eth0']).out).toMatch(/198\.51\.100\.10\/24 198\.51\.100\.11\/24/);
      expect(nsExec(server, ['ip', '-4', 'route', 'show', 'default']).out.trim()).toBe('');
      const st = dataplane(['lab', 'status', '--prefix', prefix]);
      expect(st.status, st.stdout).toBe(0);
      expect(st.stdout).toContain('address-dependent filtering');
      if (engine === 'kernel') {
        expect(up.stdout).toContain('note: conntrack capacity not applied to the kernel: net.netfilter.nf_conntrack_max is one value for the whole host');
        const ruleset = nsExec(`${prefix}-router`, ['nft', 'list', 'table', 'ip', 'dataplane_lab_nat']).out;
        expect(ruleset).toMatch(/oifname "wan" masquerade/);
        expect(ruleset).toMatch(/udp dport \. ip saddr @adf_udp dnat ip to udp dport map @eim_udp/);
        expect(nsExec(`${prefix}-router`, ['sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout']).out.trim()).toBe('120');
      } else {
        const config = readFileSync(`${stateDir(prefix)}/router.yaml`, 'utf8');
        expect(config).toContain('  filtering: address-dependent\n  profile: rfc\nconntrack: { capacity: 2048 }');
        expect(config).toContain('    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }');
      }
      expect(dataplane(['lab', 'down', '--prefix', prefix]).status).toBe(0);
      expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    }
    // Nothing in the host's own namespace.
    expect(hostNftTables()).toEqual(hostTables);
  });

  it('rejects bad options with exit 2 (a usage error) and builds nothing', () => {
    expect(dataplane(['lab', 'up', '--prefix', 'Bad/Name']).stderr).toMatch(/--prefix must be/);
    for (const [args, message] of [
      [['--ports', 'pcap'], /--ports must be tap, afpacket or afxdp/],
      [['--engine', 'vpp'], /--engine must be dataplane, kernel or none/],
      [['--engine', 'kernel'], /--engine kernel needs --ports afpacket/],
      [['--engine', 'kernel', '--ports', 'afxdp'], /--engine kernel needs --ports afpacket/],
      [['--trace-filter', 'icmp'], /--trace-filter and --trace-count need --trace FILE/],
      [['--engine', 'none', '--ports', 'afpacket', '--trace', '/tmp/t.pcapng'], /--trace needs --engine dataplane/],
      [['--nat', '--nat-filtering', 'full-cone'], /--nat-filtering must be endpoint-independent, address-dependent or address-and-port-dependent, got 'full-cone'/],
      [['--nat-filtering', 'address-dependent'], /--nat-filtering and --conntrack-capacity need --nat/],
      [['--conntrack-capacity', '4096'], /--nat-filtering and --conntrack-capacity need --nat/],
      [['--nat', '--conntrack-capacity', '8'], /--conntrack-capacity must be a whole number from 16 to 16777216/],
      [['--nat', '--engine', 'none', '--ports', 'afpacket'], /--nat needs --engine dataplane or kernel/],
    ] as [string[], RegExp][]) {
      const r = dataplane(['lab', 'up', '--prefix', `${PREFIX}x`, ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(listNetns().filter((n) => n.startsWith(`${PREFIX}x-`))).toEqual([]);
  });
});

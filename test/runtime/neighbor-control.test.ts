// Static neighbors changed live (checked whole, named by item and field) and
// learned ones read from the workers' shared ring.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { NeighborSync } from '../../src/arp/neighbor-sync.js';
import { NeighborChangeError, NeighborControl } from '../../src/runtime/neighbor-control.js';
import { parseIpv4Address, parseMacAddress } from '../../src/wire/address.js';
import { BASE_CONFIG } from '../pipeline/harness.js';

function setup() {
  const config = parseConfig(BASE_CONFIG, 't', '.');
  const ring = new SharedArrayBuffer(NeighborSync.byteLength());
  let now = 1000;
  const nc = new NeighborControl(config.ports, config.neighbors, ring, config.arp.reachableMs, () => now);
  return { nc, ring, config, advance: (ms: number) => (now += ms) };
}

describe('NeighborControl', () => {
  it('lists learned neighbors a worker published, reachable then stale', () => {
    const { nc, ring, config, advance } = setup();
    new NeighborSync(0, ring).publish(1, parseIpv4Address('198.51.100.77'), parseMacAddress('02:00:00:00:00:77'), 0);
    expect(nc.entries().find((n) => n.address === '198.51.100.77')).toEqual({ address: '198.51.100.77', mac: '02:00:00:00:00:77', dev: 'wan', state: 'reachable', source: 'learned', ageMs: 0 });
    advance(config.arp.reachableMs + 1);
    expect(nc.entries().find((n) => n.address === '198.51.100.77')?.state).toBe('stale');
    expect(nc.entries().filter((n) => n.source === 'static')).toHaveLength(4);
  });

  it('plans adds and deletes, and refuses a bad change whole naming item and field', () => {
    const { nc } = setup();
    const plan = nc.plan({ add: [{ address: '198.51.100.30', mac: '02:00:00:00:00:30' }], delete: ['192.0.2.10'] });
    expect(plan).toMatchObject({ added: 1, deleted: 1 });
    expect(plan.updates.map((u) => [u.port, u.address, u.mac === undefined])).toEqual([[0, parseIpv4Address('192.0.2.10') >>> 0, true], [1, parseIpv4Address('198.51.100.30') >>> 0, false]]);
    let problems: readonly string[] = [];
    try {
      nc.plan({ add: [{ address: '198.51.100.31', mac: '02:00:00:00:00:31' }, { address: '10.1.1.1', mac: '02:00:00:00:00:32' }, { address: '198.51.100.33', mac: '01:00:5e:00:00:01' }, { address: '198.51.100.34', mac: 'zz' }, { address: '198.51.100.35', mac: '02:00:00:00:00:35', dev: 'nope' }], delete: ['198.51.100.99'] });
    } catch (e) {
      expect(e).toBeInstanceOf(NeighborChangeError);
      problems = (e as NeighborChangeError).problems;
    }
    expect(problems).toEqual([
      'delete[0]: 198.51.100.99 is not a configured neighbor',
      'add[1].address: 10.1.1.1 is not on a connected subnet; add "dev"',
      "add[2].mac: 01:00:5e:00:00:01 is a multicast address; a neighbor has a station's unicast MAC",
      expect.stringMatching(/^add\[3\]\.mac: must be six hex bytes/),
      'add[4].dev: "nope" is not a configured port',
    ]);
    // Planning changed nothing: the configured list is as loaded.
    expect(nc.configured).toHaveLength(4);
  });

  it('refuses what a neighbors: entry of the config may not be: a subnet edge, a special address, a port\'s own MAC', () => {
    const { nc } = setup();
    let problems: readonly string[] = [];
    try {
      nc.plan({ add: [
        { address: '198.51.100.255', mac: '02:00:00:00:00:40' },
        { address: '198.51.100.0', mac: '02:00:00:00:00:41' },
        { address: '224.0.0.5', mac: '02:00:00:00:00:42', dev: 'wan' },
        { address: '198.51.100.43', mac: '02:00:00:00:00:02' },
        { address: '198.51.100.44', mac: '00:00:00:00:00:00' },
      ] });
    } catch (e) {
      problems = (e as NeighborChangeError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^add\[0\]\.address: 198\.51\.100\.255 is the broadcast address of port "wan"'s subnet/),
      expect.stringMatching(/^add\[1\]\.address: 198\.51\.100\.0 is the network address of port "wan"'s subnet/),
      expect.stringMatching(/^add\[2\]\.address: 224\.0\.0\.5 is /),
      'add[3].mac: 02:00:00:00:00:02 is port "wan"\'s own MAC',
      "add[4].mac: 00:00:00:00:00:00 is all zero; a neighbor has a station's unicast MAC",
    ]);
    expect(nc.configured).toHaveLength(4);
  });
});

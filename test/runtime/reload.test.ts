// What a reload compares: ports field by field, a MAC left to the interface
// equal however port setup filled it in, and a real change named.
import { describe, expect, it } from 'vitest';
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { diffConfigs } from '../../src/runtime/reload.js';

const yaml = (wanMac = '', mtu = 1500) =>
  'ports:\n' +
  '  - { name: lan, address: 192.0.2.1/24, io: { type: afpacket, interface: veth-lan } }\n' +
  `  - { name: wan, address: 198.51.100.1/24, mtu: ${mtu}, io: { type: afxdp, interface: veth-wan }${wanMac === '' ? '' : `, mac: "${wanMac}"`} }\n` +
  'routes:\n  - 0.0.0.0/0 via 198.51.100.2\n';
const load = (text: string) => parseConfig(text, 'router.yaml', '.');

/** The running config as port setup leaves it: defaulted MACs replaced by the interfaces'. */
function started(c: RouterConfig): RouterConfig {
  return { ...c, ports: c.ports.map((p, i) => (p.macDefaulted ? { ...p, mac: Uint8Array.of(0x0a, 0xbb, 0xcc, 0, 0, i) } : p)) };
}

describe('diffConfigs', () => {
  it('takes the unchanged config again when ports left their MAC to the interface', () => {
    const diff = diffConfigs(started(load(yaml())), load(yaml()));
    expect(diff.needsRestart).toEqual([]);
    expect(diff.routes).toBe(false);
  });

  it('still refuses a real port change, naming the port and field', () => {
    expect(diffConfigs(started(load(yaml())), load(yaml('', 3000))).needsRestart).toEqual([
      'ports[1].mtu (port "wan"): changed from 1500 to 3000: the workers own their queues; restart',
    ]);
    expect(diffConfigs(started(load(yaml())), load(yaml('02:00:00:00:00:09'))).needsRestart).toEqual([
      `ports[1].mac (port "wan"): changed from the interface's (no mac:) to 02:00:00:00:00:09: the workers own their queues; restart`,
    ]);
    expect(diffConfigs(load(yaml('02:00:00:00:00:09')), load(yaml('02:00:00:00:00:0a'))).needsRestart[0]).toMatch(/^ports\[1\]\.mac \(port "wan"\): changed from 02:00:00:00:00:09 to 02:00:00:00:00:0a/);
    expect(diffConfigs(load(yaml()), load(yaml().replace('name: wan', 'name: up'))).needsRestart).toEqual([
      'ports: the ports changed from [lan, wan] to [lan, up]: the workers own their queues; restart',
    ]);
  });

  it('refuses moving the metrics endpoint or the control API, naming the field', () => {
    const base = load(yaml());
    expect(diffConfigs(base, load(yaml() + 'metrics: { listen: 127.0.0.1:9469 }\n')).needsRestart).toEqual([
      'metrics.listen: changed from none to 127.0.0.1:9469: the metrics endpoint is opened at start; restart',
    ]);
    expect(diffConfigs(load(yaml() + 'metrics: { listen: 127.0.0.1:9469 }\n'), load(yaml() + 'metrics: { listen: 127.0.0.1:9470 }\n')).needsRestart).toEqual([
      'metrics.listen: changed from 127.0.0.1:9469 to 127.0.0.1:9470: the metrics endpoint is opened at start; restart',
    ]);
    expect(diffConfigs(base, load(yaml() + 'control: { socket: /tmp/other.sock, listen: 127.0.0.1:9470 }\n')).needsRestart).toEqual([
      'control.socket: changed from /run/dataplane/dataplane.sock to /tmp/other.sock: the control API listens where it started; restart',
      'control.listen: changed from none to 127.0.0.1:9470: the control API listens where it started; restart',
    ]);
  });
});

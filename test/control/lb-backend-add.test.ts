// `ctl lb backend add` through the ControlPlane: a backend the config loader
// would refuse (the VIP's own address, a port's own address, not unicast,
// off every subnet for dsr-l2) is refused the same way, and nothing reaches
// the dataplane.
import { describe, expect, it, vi } from 'vitest';
import { ControlError, ControlPlane } from '../../src/control/control-plane.js';
import { parseConfig } from '../../src/config/load.js';
import type { Dataplane } from '../../src/runtime/dataplane.js';

const config = parseConfig(
  `ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
loadBalancer:
  vips:
    - { name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, backends: [{ address: 198.51.100.11 }] }
`,
  'router.yaml',
  '.',
);

function plane() {
  const reload = vi.fn(async () => ({ applied: ['web: backend added'], needsRestart: [] }));
  const dp = { config, lb: {}, reload } as unknown as Dataplane;
  return { plane: new ControlPlane(dp, { configFile: 'router.yaml', version: 'test' }), reload };
}

describe('lb backend add', () => {
  it.each([
    ['203.0.113.10', "web: backend 203.0.113.10 is the VIP's own address"],
    ['198.51.100.1', 'web: backend 198.51.100.1 is port "wan"\'s own address (the dataplane itself)'],
    ['192.0.2.1', 'web: backend 192.0.2.1 is port "lan"\'s own address (the dataplane itself)'],
    ['0.0.0.0', 'web: backend 0.0.0.0 is the unspecified address 0.0.0.0; a backend is one host'],
    ['255.255.255.255', 'web: backend 255.255.255.255 is the limited broadcast address 255.255.255.255; a backend is one host'],
    ['224.0.0.1', 'web: backend 224.0.0.1 is a multicast address (224.0.0.0/4); a backend is one host'],
    ['198.51.100.255', 'web: backend 198.51.100.255 is the broadcast address of port "wan"\'s subnet 198.51.100.0/24; a backend is one host'],
    ['203.0.113.20', "web: backend 203.0.113.20 is on no port's subnet"],
  ])('refuses %s as the config loader would, leaving the tables alone', async (address, message) => {
    const { plane: p, reload } = plane();
    const r = p.changeBackend('add', { vip: 'web', address, weight: 1 });
    await expect(r).rejects.toBeInstanceOf(ControlError);
    await expect(r).rejects.toThrow(message);
    expect(reload).not.toHaveBeenCalled();
  });

  it('adds a backend the config could hold', async () => {
    const { plane: p, reload } = plane();
    await expect(p.changeBackend('add', { vip: 'web', address: '198.51.100.12', weight: 1 })).resolves.toEqual(['web: backend added']);
    expect(reload).toHaveBeenCalledOnce();
  });
});

// `ctl route show PREFIX` (ControlPlane.listRoutes): the routes inside the
// prefix; a bare address is its /32, as route add and del take it.
import { describe, expect, it } from 'vitest';
import { ControlError, ControlPlane } from '../../src/control/control-plane.js';
import type { Dataplane } from '../../src/runtime/dataplane.js';

const table = ['192.0.2.0/24', '192.0.2.5/32', '198.51.100.0/24'].map((prefix) => ({ prefix, type: 'unicast', via: '', dev: 'lan', nexthops: [], source: 'api' }));
const plane = new ControlPlane({ routeTable: () => table } as unknown as Dataplane, { configFile: 'router.yaml', version: 'test' });

describe('ControlPlane.listRoutes', () => {
  it('takes a bare address as its /32 (was refused as not a prefix)', () => {
    expect(plane.listRoutes('192.0.2.5', 0).routes.map((r) => r.prefix)).toEqual(['192.0.2.5/32']);
    expect(plane.listRoutes('192.0.2.0/24', 0).routes.map((r) => r.prefix)).toEqual(['192.0.2.0/24', '192.0.2.5/32']);
    expect(() => plane.listRoutes('192.0.2', 0)).toThrow(new ControlError('invalid', 'prefix: "192.0.2" is not a prefix such as 198.18.0.0/15'));
  });
});

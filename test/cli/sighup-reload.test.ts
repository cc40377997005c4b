// SIGHUP in `dataplane run` reloads the whole config file as `ctl reload`
// does (src/cli/sighup-reload.ts): the file as it is when the signal comes,
// parsed and checked first (a file that does not load reaches nothing), the
// dataplane's refusal named without repeating "nothing applied", and
// signals that come during a reload coalesced into one more reload of the
// file as it then is.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SighupReload } from '../../src/cli/sighup-reload.js';
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { ControlPlane } from '../../src/control/control-plane.js';
import type { Dataplane } from '../../src/runtime/dataplane.js';

const dir = mkdtempSync(join(tmpdir(), 'sighup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'router.yaml');
const yaml = (weight: number, extra = '') => `ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
routes:
  - 198.18.0.0/24 via 198.51.100.2${extra}
loadBalancer:
  vips:
    - { name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, tableSize: 251, backends: [{ address: 198.51.100.11, weight: ${weight} }] }
`;

/** A Dataplane's reload as the control plane calls it: records each config it is given; `answer` says what it reports. */
function rig(answer: (next: RouterConfig) => { applied: string[]; needsRestart: string[] }, gate?: Promise<void>) {
  const given: RouterConfig[] = [];
  const dp = {
    config: parseConfig(yaml(1), file, dir),
    reload: async (next: RouterConfig) => {
      given.push(next);
      await gate;
      return answer(next);
    },
  } as unknown as Dataplane;
  const lines: { text: string; obj: Record<string, unknown> }[] = [];
  const plane = new ControlPlane(dp, { configFile: file, version: 'test' });
  const hup = new SighupReload(plane, file, (text, obj) => void lines.push({ text, obj }));
  return { given, lines, hup };
}

describe('SIGHUP reload', () => {
  it('applies the whole file as it is now, and says what changed', async () => {
    writeFileSync(file, yaml(0, '\n  - 198.18.1.0/24 blackhole'));
    const { given, lines, hup } = rig(() => ({ applied: ['loadBalancer: web: backend 198.51.100.11 weight 1 -> 0 (draining)', 'routes: 1 added, 0 deleted, 0 replaced'], needsRestart: [] }));
    await hup.onSignal();
    expect(given).toHaveLength(1);
    expect(given[0].routes).toHaveLength(2);
    expect(given[0].loadBalancer?.vips[0].backends[0].weight).toBe(0);
    expect(lines.map((l) => l.text)).toEqual([`SIGHUP: ${file} reloaded: loadBalancer: web: backend 198.51.100.11 weight 1 -> 0 (draining); routes: 1 added, 0 deleted, 0 replaced`]);
    expect(lines[0].obj).toMatchObject({ event: 'reloaded', file });
  });

  it('says "no change" for a file that changes nothing', async () => {
    writeFileSync(file, yaml(1));
    const { lines, hup } = rig(() => ({ applied: [], needsRestart: [] }));
    await hup.onSignal();
    expect(lines.map((l) => l.text)).toEqual([`SIGHUP: ${file} reloaded: no change`]);
  });

  it('names what needs a restart once, and applies nothing', async () => {
    writeFileSync(file, yaml(1));
    const { lines, hup } = rig(() => ({ applied: [], needsRestart: ['ports[1].mtu (port "wan"): changed from 1500 to 1400: needs a restart'] }));
    await hup.onSignal();
    expect(lines.map((l) => l.text)).toEqual([`SIGHUP: ${file} not reloaded (nothing changed): ports[1].mtu (port "wan"): changed from 1500 to 1400: needs a restart`]);
    expect(lines[0].obj).toMatchObject({ event: 'reload-failed', message: 'ports[1].mtu (port "wan"): changed from 1500 to 1400: needs a restart' });
  });

  it('refuses a file that does not load before the dataplane sees it, naming the field', async () => {
    writeFileSync(file, yaml(1).replace('198.18.0.0/24 via', '198.18.0.0/33 via'));
    const { given, lines, hup } = rig(() => ({ applied: ['never'], needsRestart: [] }));
    await hup.onSignal();
    expect(given).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0].text).toBe(`SIGHUP: ${file} not reloaded (nothing changed): ${file}: invalid config:\n  routes[0]: "198.18.0.0/33" has a bad prefix length (0-32)`);
  });

  it('says why when the file is gone, and goes on', async () => {
    const missing = join(dir, 'missing.yaml');
    const lines: string[] = [];
    const dp = { config: parseConfig(yaml(1), file, dir), reload: () => Promise.reject(new Error('not to be called')) } as unknown as Dataplane;
    const hup = new SighupReload(new ControlPlane(dp, { configFile: missing, version: 'test' }), missing, (text) => void lines.push(text));
    await hup.onSignal();
    expect(lines).toEqual([`SIGHUP: ${missing} not reloaded (nothing changed): cannot read ${missing}: no such file (ENOENT)`]);
  });

  it('coalesces signals that come during a reload into one more, of the file as it then is', async () => {
    writeFileSync(file, yaml(2));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { given, lines, hup } = rig((next) => ({ applied: [`weight ${next.loadBalancer?.vips[0].backends[0].weight}`], needsRestart: [] }), gate);
    const first = hup.onSignal();
    await new Promise((r) => setImmediate(r));
    writeFileSync(file, yaml(3));
    const second = hup.onSignal();
    const third = hup.onSignal();
    open();
    await Promise.all([first, second, third]);
    expect(given.map((c) => c.loadBalancer?.vips[0].backends[0].weight)).toEqual([2, 3]);
    expect(lines.map((l) => l.text)).toEqual([`SIGHUP: ${file} reloaded: weight 2`, `SIGHUP: ${file} reloaded: weight 3`]);
  });
});

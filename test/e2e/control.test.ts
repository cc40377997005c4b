// The control API of a running dataplane, end to end: a lab's `dataplane
// run` serves gRPC on its socket; the client (and `dataplane ctl`) change
// routes and neighbors, read counters, trace and explain while real hosts
// ping through it, and a refused change leaves the tables as they were.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { ControlCallError, ControlClient } from '../../src/control/client.js';
import { apiSchema } from '../../src/control/api-proto.js';
import { skipIf } from '../skip.js';
import { dataplane } from '../cli-run.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();
/** A network no lab route covers; the server answers for .1 once the dataplane routes it there. */
const EXTRA = { prefix: '198.18.5.0/24', host: '198.18.5.1' };

describe('control API (gRPC) and dataplane ctl', skipIf(skip), () => {
  let lab: LabState | undefined;
  let prefix = '';
  let client: ControlClient;
  const ctl = (...args: string[]) => dataplane(['ctl', '--socket', lab!.controlSocket!, ...args]);

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe2e-ctl');
    // NAT mode: the client's traffic is masqueraded, so there are flows and mappings to list.
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, readyTimeoutMs: 10_000, nat: {} });
    client = new ControlClient(lab.controlSocket!);
    // The server owns an address of the extra network (its default route points back at the dataplane).
    nsExec(lab.names.server, ['ip', 'addr', 'add', `${EXTRA.host}/32`, 'dev', 'lo']);
  }, 30_000);

  afterAll(async () => {
    client?.close();
    if (prefix !== '') await labDown(prefix);
  }, 30_000);

  it('answers status with the running config', async () => {
    const s = await client.call<{ pid: number; workers: number; ports: string[] }>('Control', 'Status');
    expect(s.pid).toBe(lab!.pid);
    expect(s.workers).toBe(2);
    expect(s.ports.join('\n')).toMatch(/lan/);
  });

  it('a route added live carries traffic at once; deleted, the router answers unreachable again', async () => {
    const before = nsExec(lab!.names.client, ['ping', '-n', '-c1', '-W1', EXTRA.host]);
    expect(before.status).not.toBe(0);
    const added = await client.call<{ added: number; generation: number }>('Routes', 'Change', { add: [{ line: `${EXTRA.prefix} via ${LAB.server.addr}` }] });
    expect(added.added).toBe(1);
    const ping = nsExec(lab!.names.client, ['ping', '-n', '-c2', '-i0.2', '-W2', EXTRA.host]);
    expect(ping.status, ping.out).toBe(0);
    const listed = await client.call<{ routes: { prefix: string; via: string; source: string }[] }>('Routes', 'List', { prefix: '198.18.0.0/15' });
    expect(listed.routes).toEqual([expect.objectContaining({ prefix: EXTRA.prefix, via: LAB.server.addr, source: 'api' })]);
    const deleted = await client.call<{ deleted: number; generation: number }>('Routes', 'Change', { delete: [EXTRA.prefix] });
    expect(deleted.deleted).toBe(1);
    expect(deleted.generation).toBeGreaterThan(added.generation);
    const after = nsExec(lab!.names.client, ['ping', '-n', '-c1', '-W1', EXTRA.host]);
    expect(after.out).toMatch(/Unreachable/i);
  });

  it('refuses a bad change whole, naming the item, and changes nothing', async () => {
    const before = await client.call<{ routes: unknown[]; total: number }>('Routes', 'List', {});
    const bad = client.call('Routes', 'Change', { add: [{ line: '198.18.6.0/24 via 198.51.100.10' }, { line: '198.18.7.0/24 via 10.9.9.9' }] });
    await expect(bad).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/add\[1\]/) });
    const after = await client.call<{ routes: unknown[]; total: number }>('Routes', 'List', {});
    expect(after).toEqual(before);
  });

  it('ctl: iproute2-like verbs, --json, and errors that say what to do', () => {
    const add = ctl('route', 'add', EXTRA.prefix, 'via', LAB.server.addr);
    expect(add.status, add.stderr).toBe(0);
    const show = ctl('route', 'show');
    expect(show.stdout).toContain(`${EXTRA.prefix} via ${LAB.server.addr} dev wan proto api`);
    const json = ctl('--json', 'route', 'show', '198.18.0.0/15');
    expect(JSON.parse(json.stdout)).toMatchObject({ routes: [{ prefix: EXTRA.prefix }], total: 1 });
    const again = ctl('route', 'add', EXTRA.prefix, 'via', LAB.server.addr);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/198\.18\.5\.0\/24/);
    expect(ctl('route', 'del', EXTRA.prefix).status).toBe(0);
    // Bare `ctl route` and `ctl neigh` show, as `ip route` and `ip neigh` do.
    const bare = ctl('route');
    expect(bare.status, bare.stderr).toBe(0);
    expect(bare.stdout).toContain('198.51.100.0/24 dev wan proto connected');
    const neigh = ctl('neigh');
    expect(neigh.status, neigh.stderr).toBe(0);
    const nobody = dataplane(['ctl', '--socket', `${lab!.stateDir}/nothing.sock`, 'route', 'show']);
    expect(nobody.status).toBe(1);
    expect(nobody.stderr).toMatch(/cannot reach a dataplane at .*nothing\.sock: there is no socket\. Start one with `dataplane run --config CFG`/);
  });

  it('neighbors: learned ones are listed; a static one is added and deleted', async () => {
    nsExec(lab!.names.client, ['ping', '-n', '-c1', '-W2', LAB.server.addr]);
    const r = await client.call<{ neighbors: { address: string; dev: string; mac: string; state: string }[] }>('Neighbors', 'List');
    expect(r.neighbors).toContainEqual(expect.objectContaining({ address: LAB.server.addr, dev: 'wan' }));
    await client.call('Neighbors', 'Change', { add: [{ address: '198.51.100.77', mac: '02:00:00:00:00:77', dev: 'wan' }] });
    const withStatic = await client.call<{ neighbors: { address: string; state: string; mac: string }[] }>('Neighbors', 'List');
    expect(withStatic.neighbors).toContainEqual(expect.objectContaining({ address: '198.51.100.77', mac: '02:00:00:00:00:77', state: 'permanent', source: 'static' }));
    await client.call('Neighbors', 'Change', { delete: ['198.51.100.77'] });
    const without = await client.call<{ neighbors: { address: string }[] }>('Neighbors', 'List');
    expect(without.neighbors.map((n) => n.address)).not.toContain('198.51.100.77');
  });

  it('flows and NAT mappings: listed with a filter, deleted', async () => {
    const ping = nsExec(lab!.names.client, ['ping', '-n', '-c2', '-i0.2', '-W2', LAB.server.addr]);
    expect(ping.status, ping.out).toBe(0);
    type Records = { flows?: { json: string; text: string }[]; mappings?: { json: string; text: string }[]; matched: number };
    const flows = await client.call<Records>('Flows', 'List', { filter: `icmp and dst ${LAB.server.addr}` });
    expect(flows.matched).toBeGreaterThanOrEqual(1);
    expect(flows.flows![0].text).toMatch(new RegExp(`^icmp .*${LAB.client.addr} > ${LAB.server.addr}.* snat`));
    expect(JSON.parse(flows.flows![0].json)).toMatchObject({ protocol: 'icmp', original: { src: LAB.client.addr, dst: LAB.server.addr }, snat: true });
    const mappings = await client.call<Records>('Flows', 'ListMappings', { filter: `internal ${LAB.client.addr} and icmp` });
    expect(mappings.matched).toBeGreaterThanOrEqual(1);
    expect(mappings.mappings![0].text).toContain(`${LAB.client.addr}:`);
    const text = ctl('flows', '--filter', `icmp and dst ${LAB.server.addr}`);
    expect(text.stdout).toContain(`${LAB.client.addr} > ${LAB.server.addr}`);
    // ctl refuses a typo before sending it (a usage error), and the dataplane refuses it too when a client sends it.
    const typo = ctl('flows', '--filter', 'dsst 1.2.3.4');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/dsst/);
    await expect(client.call('Flows', 'List', { filter: 'dsst 1.2.3.4' })).rejects.toThrow(/dsst/);
    const deleted = await client.call<{ deleted: number }>('Flows', 'Delete', { filter: `icmp and dst ${LAB.server.addr}` });
    expect(deleted.deleted).toBe(flows.matched);
    expect((await client.call<Records>('Flows', 'List', { filter: `icmp and dst ${LAB.server.addr}` })).matched).toBe(0);
  });

  it('counters move with traffic', async () => {
    const read = async () => (await client.call<{ counters: { name: string; packets: number }[] }>('Counters', 'Get', { prefix: 'ip4-lookup/' })).counters;
    const before = (await read()).find((c) => c.name === 'ip4-lookup/no-route')?.packets ?? 0;
    nsExec(lab!.names.client, ['ping', '-n', '-c3', '-i0.2', '-W1', LAB.unrouted]);
    const after = (await read()).find((c) => c.name === 'ip4-lookup/no-route')?.packets ?? 0;
    expect(after - before).toBeGreaterThanOrEqual(3);
  });

  it('a trace started live records node verdicts of matching packets', async () => {
    await client.call('Trace', 'Start', { filter: `icmp and dst host ${LAB.server.addr}`, count: 2 });
    nsExec(lab!.names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', LAB.server.addr]);
    const r = await client.call<{ packets: { in_port: string; lines: string[] }[] }>('Trace', 'Read', { max: 0 });
    expect(r.packets).toHaveLength(2);
    expect(r.packets[0].in_port).toBe('lan');
    expect(r.packets[0].lines.join('\n')).toMatch(/ip4-lookup/);
    await client.call('Trace', 'Stop');
  });

  it('explain: what the running dataplane would do, with no side effect on the counters', async () => {
    const counters = async () => (await client.call<{ counters: { name: string; packets: number }[] }>('Counters', 'Get', { all: true })).counters;
    const before = await counters();
    const r = await client.call<{ lines: string[] }>('Explain', 'Explain', { packet: `udp ${LAB.client.addr}:40000 > ${LAB.unrouted}:53 in lan` });
    expect(r.lines.join('\n')).toMatch(/no-route|unreachable/);
    expect(await counters()).toEqual(before);
    // A next hop the workers learned by ARP is known to live explain: the packet is forwarded, not shown waiting for ARP.
    nsExec(lab!.names.client, ['ping', '-n', '-c1', '-W2', LAB.server.addr]);
    const known = await client.call<{ lines: string[] }>('Explain', 'Explain', { packet: `tcp ${LAB.client.addr}:40000 > ${LAB.server.addr}:80 in lan` });
    expect(known.lines.join('\n')).toMatch(/^outcome: +forwarded by wan/m);
    expect(known.lines.join('\n')).not.toMatch(/no known MAC/);
    const bad = client.call('Explain', 'Explain', { packet: 'udp 192.0.2.10 > in lan' });
    await expect(bad).rejects.toBeInstanceOf(ControlCallError);
  });

  it('server reflection lists the services', async () => {
    const list = await reflectServices(lab!.controlSocket!);
    for (const s of Object.keys(apiSchema().services)) expect(list).toContain(`dataplane.v1.${s}`);
  });
});

/** The services a generic gRPC client sees through server reflection (grpc.reflection.v1). */
async function reflectServices(socket: string): Promise<string[]> {
  const protoLoader = await import('@grpc/proto-loader');
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const root = dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
  const def = protoLoader.loadSync(join(root, 'build/proto/grpc/reflection/v1/reflection.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  const c = new pkg.grpc.reflection.v1.ServerReflection(`unix:${socket}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const call = (c as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }> }).ServerReflectionInfo();
      call.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => {
        resolve(m.list_services_response?.service.map((s) => s.name) ?? []);
        call.end();
      });
      call.on('error', reject);
      call.write({ list_services: '' });
    });
  } finally {
    c.close();
  }
}

// The health checker's side of test/lb/health-checker.test.ts, run inside the
// test's network namespace (`ip netns exec NS node health-child.mjs SPEC`):
// the test process cannot reach the namespace's addresses, so servers and
// checker both live here. Runs the built code (dist/, built by the test
// global setup). SPEC (JSON): { vips: VipConfig[], servers: [{ id, kind:
// 'tcp' | 'http' | 'silent', address, port, status? }] }. 'silent' accepts
// connections and never answers; tcp and silent servers report each accept
// (the probe times the test reads). Commands on stdin, one JSON per line:
// start, stop-server, start-server, set-status, snapshot, quit. Events on
// stdout, one JSON per line, with t = this process's performance.now().
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { HealthChecker } from '../../dist/src/lb/health/health-checker.js';

const spec = JSON.parse(process.argv[2]);
const emit = (ev) => process.stdout.write(JSON.stringify({ ...ev, t: performance.now() }) + '\n');
const servers = new Map();
const statuses = new Map();
const sockets = new Set();

function listen(s) {
  let server;
  if (s.kind === 'http') {
    statuses.set(s.id, s.status ?? 200);
    server = http.createServer((req, res) => res.writeHead(statuses.get(s.id)).end('health\n'));
  } else {
    server = net.createServer((c) => {
      sockets.add(c);
      emit({ ev: 'accept', id: s.id });
      c.on('error', () => {});
      c.on('close', () => sockets.delete(c));
      if (s.kind === 'tcp') c.end();
    });
  }
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(s.port, s.address, () => res(server));
  });
}

const checker = new HealthChecker(spec.vips, {
  log: (line) => emit({ ev: 'log', line }),
  onChange: (vip, backend, up) => emit({ ev: 'change', vip, backend, up }),
});

for (const s of spec.servers) servers.set(s.id, await listen(s));
emit({ ev: 'ready' });

const byId = (id) => spec.servers.find((s) => s.id === id);
createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  if (c.cmd === 'start') checker.start();
  else if (c.cmd === 'stop-server') {
    servers.get(c.id).close();
    emit({ ev: 'stopped', id: c.id });
  } else if (c.cmd === 'start-server') {
    servers.set(c.id, await listen(byId(c.id)));
    emit({ ev: 'started', id: c.id });
  } else if (c.cmd === 'set-status') {
    statuses.set(c.id, c.status);
    emit({ ev: 'status-set', id: c.id });
  } else if (c.cmd === 'snapshot') emit({ ev: 'snapshot', data: checker.snapshot() });
  else if (c.cmd === 'quit') {
    checker.stop();
    for (const s of servers.values()) s.close();
    for (const c of sockets) c.destroy();
    process.exit(0);
  }
});

// What the Docker suite's files share besides the engine: containers with no
// network, their network namespace files, and waiting for a log line.
import { expect } from 'vitest';
import { docker, dockerOk } from './engine.js';

type E = { host: string; dir: string };

/** Starts a `--network none` container of `image` that only sleeps; returns its host pid (for /proc/PID/ns/net). */
export function startNoNetwork(e: E, image: string, name: string): number {
  dockerOk(e, ['run', '-d', '--rm', '--name', name, '--network', 'none', '--entrypoint', 'sleep', image, 'infinity']);
  return containerPid(e, name);
}

/** The host pid of a running container's first process. */
export function containerPid(e: E, name: string): number {
  const pid = Number(dockerOk(e, ['inspect', '--format', '{{.State.Pid}}', name]).trim());
  if (!(pid > 0)) throw new Error(`container ${name} has no pid`);
  return pid;
}

/** Removes containers by name (they may be gone already). */
export function removeContainers(e: E, names: string[]): void {
  if (names.length > 0) docker(e, ['rm', '-f', ...names], 60_000);
}

/** `docker exec NAME ARGV`: status and everything printed. */
export function dexec(e: E, name: string, argv: string[], timeoutMs = 60_000) {
  return docker(e, ['exec', name, ...argv], timeoutMs);
}

/** Waits until `read()` contains `needle` (or the time is up); returns the last read. */
export async function waitFor(read: () => string, needle: string | RegExp, ms = 30_000): Promise<string> {
  let text = read();
  for (const end = Date.now() + ms; Date.now() < end; text = read()) {
    if (typeof needle === 'string' ? text.includes(needle) : needle.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

/**
 * Container A (192.0.2.10) and B (198.51.100.10) reach each other through a
 * dataplane: ping both ways with TTL 63 (one router), traceroute shows the
 * router's address, and HTTP from A to a server in B.
 */
export function expectRoutedBetween(e: E, a: string, b: string): void {
  const ab = dexec(e, a, ['ping', '-c', '3', '-W', '2', '198.51.100.10']);
  expect(ab.output).toMatch(/3 packets transmitted, 3 received/);
  expect(ab.output.match(/ttl=\d+/g)).toEqual(['ttl=63', 'ttl=63', 'ttl=63']);
  const ba = dexec(e, b, ['ping', '-c', '2', '-W', '2', '192.0.2.10']);
  expect(ba.output).toMatch(/2 packets transmitted, 2 received/);
  expect(ba.output.match(/ttl=\d+/g)).toEqual(['ttl=63', 'ttl=63']);
  const tr = dexec(e, a, ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '5', '198.51.100.10']);
  const hops = tr.output
    .split('\n')
    .filter((l) => /^\s*\d+\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[1]);
  expect(hops, tr.output).toEqual(['192.0.2.1', '198.51.100.10']);
  const serve = "require('node:http').createServer((q, s) => s.end('from B ' + q.socket.remoteAddress + '\\n')).listen(8080, '198.51.100.10')";
  dockerOk(e, ['exec', '-d', b, 'node', '-e', serve]);
  const got = dexec(e, a, ['curl', '-sS', '--retry', '5', '--retry-connrefused', '--retry-delay', '1', 'http://198.51.100.10:8080/']);
  // B sees A's own address: routed, not translated.
  expect(got.stdout, got.output).toBe('from B 192.0.2.10\n');
}

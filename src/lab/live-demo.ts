// The live part of `dataplane demo` (root): a lab with a unique prefix, real
// traffic from the client namespace through `dataplane run` to the server
// namespace (ping, traceroute, net unreachable, an HTTP download, iperf3),
// then the dataplane's own counters. Always torn down, also on error/SIGINT.
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { nsSpawn, nsTry, sleep } from '../host/commands.js';
import { shellLine } from '../host/shell-line.js';
import { whenStdoutGone } from '../host/stdout-gone.js';
import { missingToolsMessage, type Tool } from '../host/tools.js';
import { labDown, labTools, labUp, type LabState } from './lab.js';
import { LabError } from './lab-error.js';
import { describeAddresses, LAB, type LabOptions } from './topology.js';

const say = (s: string): void => {
  process.stdout.write(s + '\n');
};

/** Runs argv in `ns` for a step of the demo: its status and everything it printed. */
function inNs(ns: string, argv: string[], timeoutMs = 15_000): { status: number; out: string } {
  const r = nsTry(ns, argv[0], argv.slice(1), { timeoutMs });
  return { status: r.status, out: r.output.trimEnd() };
}

function show(title: string, cmd: string[], r: { out: string }): void {
  say(`\n== ${title}\n$ ${shellLine(cmd)}`);
  say(r.out.replace(/^/gm, '  '));
}

async function waitTcp(ns: string, port: number): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    if (inNs(ns, ['ss', '-tlnH', `sport = :${port}`]).out !== '') return true;
    await sleep(50);
  }
  return false;
}

/** A step that needs a missing tool is skipped, and says what to install. */
function missing(...tools: Tool[]): boolean {
  const why = missingToolsMessage(tools);
  if (why === undefined) return false;
  say(`\n(skipping that step: ${why})`);
  return true;
}

/** Runs the live demo; returns the exit code. Throws only when the lab cannot be built. */
export async function runLiveDemo(): Promise<number> {
  const prefix = `dp-demo-${process.pid.toString(36)}`;
  const options: LabOptions = { prefix, ports: 'tap', engine: 'dataplane', workers: 1, wanMtu: 1500 };
  // The lab's tools, ping (the first steps) and ss (waits for the servers), before anything is built.
  const cannot = missingToolsMessage([...labTools(options), 'ping', 'ss']);
  if (cannot !== undefined) throw new LabError(cannot);
  const tmp = mkdtempSync(join(os.tmpdir(), 'dataplane-demo-'));
  const children: ChildProcess[] = [];
  let lab: LabState | undefined;
  let failures = 0;
  // Once, whoever asks first (the end of the run, a signal, stdout's reader gone), and the others wait for it.
  let cleaning: Promise<string> | undefined;
  const cleanup = (): Promise<string> => (cleaning ??= tearDown());
  const tearDown = async (): Promise<string> => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    let summary = '';
    // By prefix: a lab still being built (no LabState yet) goes too.
    await labDown(prefix, { keepState: true });
    if (lab !== undefined) {
      try {
        const log = readFileSync(lab.logPath, 'utf8');
        const at = log.lastIndexOf('stopped. ports:');
        summary = at >= 0 ? log.slice(at) : log.split('\n').slice(-20).join('\n');
      } catch {
        summary = '(no dataplane log)';
      }
    }
    rmSync(join('/run/dataplane-lab', prefix), { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
    return summary;
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`\n${sig}: tearing the lab down`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Its reader gone (`dataplane demo | head`): tear down as on SIGTERM (exiting on the spot left the lab behind).
  const offStdoutGone = whenStdoutGone(() => {
    process.stderr.write('dataplane demo: standard output closed: tearing the lab down\n');
    void cleanup().then(() => process.exit(141));
  });
  const t0 = Date.now();
  try {
    say('dataplane demo: live, in network namespaces on this host (root).');
    lab = await labUp(options);
    say(`\nLab up in ${((Date.now() - t0) / 1000).toFixed(1)} s: \`dataplane run\` (pid ${lab.pid}) in ${lab.names.router}, TAP ports moved into the client and server namespaces:`);
    say(`  client ${LAB.client.addr} --- lan 192.0.2.1 [dataplane] wan 198.51.100.1 --- server ${LAB.server.addr}`);
    say(describeAddresses(prefix));
    say(`\nRouter config (${lab.configPath}):\n${readFileSync(lab.configPath, 'utf8').replace(/^/gm, '  ')}`);
    const c = lab.names.client;
    const s = lab.names.server;
    const step = (title: string, ns: string, cmd: string[], ok: (r: { status: number; out: string }) => boolean, timeoutMs?: number): void => {
      const r = inNs(ns, cmd, timeoutMs);
      show(title, cmd, r);
      const good = ok(r);
      if (!good) failures++;
      say(good ? '  -> as expected' : '  -> NOT as expected');
    };

    step('ping the server through the dataplane (reply TTL 63: one hop decremented it)', c, ['ping', '-n', '-c3', '-i0.3', LAB.server.addr], (r) => /ttl=63/.test(r.out) && /3 received/.test(r.out));
    step('ping the router itself (it answers echo, TTL 64)', c, ['ping', '-n', '-c2', '-i0.3', LAB.lan.addr], (r) => /2 received/.test(r.out));
    if (!missing('traceroute')) {
      step('traceroute: the dataplane is hop 1 (it sends ICMP time exceeded)', c, ['traceroute', '-n', '-q1', '-w1', '-m5', LAB.server.addr], (r) => /^\s*1\s+192\.0\.2\.1\s/m.test(r.out));
    }
    step(`ping ${LAB.unrouted}: no route, the dataplane answers net unreachable`, c, ['ping', '-n', '-c1', '-W2', LAB.unrouted], (r) => /Destination Net Unreachable/.test(r.out));

    if (!missing('curl', 'python3')) {
      const dir = join(tmp, 'www');
      mkdirSync(dir, { recursive: true });
      const data = randomBytes(2 * 1024 * 1024);
      writeFileSync(join(dir, 'file.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      const http = nsSpawn(s, 'python3', ['-m', 'http.server', '8080', '--bind', LAB.server.addr, '--directory', dir], { stdio: 'ignore' });
      children.push(http);
      const got = join(tmp, 'got.bin');
      if (await waitTcp(s, 8080)) {
        const cmd = ['curl', '-sS', '--max-time', '20', '-o', got, '-w', '%{http_code} %{size_download} bytes in %{time_total} s (%{speed_download} B/s)\\n', `http://${LAB.server.addr}:8080/file.bin`];
        const r = inNs(c, cmd, 25_000);
        let sha = '';
        try {
          sha = createHash('sha256').update(readFileSync(got)).digest('hex');
        } catch {
          sha = '(no file)';
        }
        show('HTTP download of a 2 MB file from python3 -m http.server in the server namespace', cmd, r);
        const good = r.out.startsWith('200 2097152 ') && sha === want;
        if (!good) failures++;
        say(`  sha256 ${sha.slice(0, 16)}... ${sha === want ? 'matches' : 'DIFFERS from'} the served file's -> ${good ? 'as expected' : 'NOT as expected'}`);
      } else {
        failures++;
        say('\n(the HTTP server did not start)');
      }
      http.kill('SIGKILL');
    }

    if (!missing('iperf3')) {
      const srv = nsSpawn(s, 'iperf3', ['-s', '-1', '-B', LAB.server.addr], { stdio: 'ignore' });
      children.push(srv);
      if (await waitTcp(s, 5201)) {
        const cmd = ['iperf3', '-c', LAB.server.addr, '-t', '2', '-f', 'm'];
        const r = inNs(c, cmd, 20_000);
        const lines = r.out.split('\n').filter((l) => /sender|receiver|error/.test(l));
        show('iperf3: 2 s of TCP through the dataplane', cmd, { out: lines.join('\n') || r.out });
        if (!/receiver/.test(r.out)) failures++;
      }
      srv.kill('SIGKILL');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    offStdoutGone();
    const summary = await cleanup();
    if (lab !== undefined) {
      say(`\n== the dataplane's counters (SIGTERM, its final summary):`);
      say(summary.replace(/^/gm, '  '));
      say(`\nLab torn down (namespaces ${prefix}-*, TAPs and the dataplane are gone). ${((Date.now() - t0) / 1000).toFixed(1)} s in all.`);
      say(`Build your own: sudo dataplane lab up [--ports afpacket] [--workers 2], then sudo dataplane lab down.`);
    }
  }
  if (failures > 0) say(`\n${failures} step(s) did not go as expected.`);
  return failures > 0 ? 1 : 0;
}

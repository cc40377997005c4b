// The command line under misuse: usage errors exit 2 with a message, numeric
// options are range-checked, a reader that goes away is not a crash, and
// replay never destroys its input or leaves a half-written output.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { CLI, dataplane } from '../cli-run.js';
import { udpFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'router.yaml');
writeFileSync(config, 'ports:\n  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/24 }\n');
const oneport = join(dir, 'one.yaml');
writeFileSync(oneport, 'ports:\n  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }\n');

/** A classic pcap of frames from 192.0.2.10 to 198.51.100.10, to `dstMac`. */
function capture(name: string, dstMac: string, n = 3): string {
  const path = join(dir, name);
  const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
  for (let i = 0; i < n; i++) w.write(udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac, id: i }, 1000 + i, 53), 1_700_000_000, i);
  w.close();
  return path;
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);

describe('usage errors and numeric options', () => {
  it.each([
    [['bogus'], "unknown command 'bogus'"],
    [['route', 'lookup'], "required option '--config <file>' not specified"],
    // A misspelt required option is named with a suggestion (it was reported as the required one missing).
    [['route', 'lookup', '--confg', config], "error: unknown option '--confg'\n(Did you mean --config?)"],
    [['replay', 'x', '--config', config, '--output', 'y'], "error: unknown option '--output'\n(Did you mean --out?)"],
    [['ctl', '--socket', '/tmp/none.sock', 'flows', 'delete', '--filtr', 'x'], "error: unknown option '--filtr'\n(Did you mean --filter?)"],
    [['ctl', '--socket', '/tmp/none.sock', 'flows', 'delete'], "error: required option '--filter <expr>' not specified"],
    [['run', '--config', config, '--status-interval', '1e9'], '--status-interval must be a whole number from 1 to 3600'],
    [['run', '--config', config, '--workers', '0'], '--workers must be a whole number from 1 to 256'],
    [['lab', 'up', '--wan-mtu', '99999'], '--wan-mtu must be a whole number from 576 to 65535'],
    [['lab', 'up', '--nat', '--conntrack-capacity', '15'], '--conntrack-capacity must be a whole number from 16 to 16777216'],
    [['replay', 'x', '--config', config, '--out', 'y', '--trace', 'z', '--trace-count', '-5'], '--trace-count must be a whole number from 1 to 1000000'],
    [['decode', 'x', '--count', 'lots'], '--count must be a whole number'],
    // An empty file name was read as the file "" (replay left its temporary file ".<pid>.partial" behind).
    [['replay', 'x', '--config', config, '--out', ''], "option '-o, --out <file>' argument '' is invalid. --out must name a file, got an empty value"],
    // tcpdump's -w is "write": replay's is --workers, and a file given to it says where the output goes.
    [['replay', 'x', '--config', config, '-w', 'out.pcapng'], "--workers must be a whole number from 1 to 64, got 'out.pcapng' (-w is --workers here, as in `dataplane run`; the output capture is --out FILE, or -o FILE)"],
    [['replay', 'x', '--config', config, '--out', 'y', '--trace', ' '], '--trace must name a file, got only spaces'],
    [['replay', 'x', '--config', config, '--out', `${dir}/`], `--out must name a file, not a directory (${dir}/ ends with "/")`],
    [['replay', '', '--config', config, '--out', 'y'], 'IN must name a file, got an empty value'],
    [['route', 'lookup', '--config', '', '192.0.2.1'], '--config must name a file, got an empty value'],
    [['ctl', '--config', '', 'status'], '--config must name a file, got an empty value'],
  ])('%j exits 2 with: %s', (args, message) => {
    const r = dataplane(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    noStack(r.stderr);
  });

  it('a config file that does not exist is named with the reason in words, exit 2, for every command that reads one', () => {
    const missing = join(dir, 'no-such-router.yaml');
    for (const args of [['route', 'lookup', '--config', missing, '192.0.2.9'], ['firewall', '--config', missing], ['ctl', '--config', missing, 'counters'], ['ctl', '--socket', join(dir, 'none.sock'), 'reload', missing]]) {
      const r = dataplane(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`${missing}: no such file (ENOENT)`);
      noStack(r.stderr);
    }
  });

  it('--help and --version exit 0', () => {
    expect(dataplane(['--help']).status).toBe(0);
    expect(dataplane(['--version']).status).toBe(0);
  });

  it('run --help shows the io of every port type the config schema takes', () => {
    const r = dataplane(['run', '--help']);
    expect(r.status).toBe(0);
    for (const type of ['tap', 'afpacket', 'afxdp']) expect(r.stdout).toContain(`io: { type: ${type},`);
  });

  it('lab --help lists the NAT mode and its options', () => {
    const r = dataplane(['lab', '--help']);
    expect(r.status).toBe(0);
    for (const opt of ['--nat ', '--nat-filtering <kind>', '--conntrack-capacity <n>']) expect(r.stdout).toContain(opt);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('endpoint-independent (default), address-dependent or address-and-port-dependent');
  });
});

describe('a reader that goes away', () => {
  it('route lookup | head -1 ends quietly', () => {
    const addrs = Array.from({ length: 20000 }, (_, i) => `192.0.2.${i % 250}`).join('\n');
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" route lookup --config "${config}" | head -1; echo "status $\{PIPESTATUS:-}"`], { input: addrs, encoding: 'utf8' });
    expect(r.stdout.split('\n')[0]).toBe('192.0.2.0 192.0.2.0/24 dev lan');
    expect(r.stderr).toBe('');
  });

  it('route lookup typed at a terminal says what it waits for and answers each line before Ctrl-D', () => {
    // A pseudo-terminal (python3's pty): types one address, waits for its answer, then ends input.
    const driver = [
      'import os, pty, select, sys, time',
      'pid, fd = pty.fork()',
      'if pid == 0: os.execv(sys.argv[1], sys.argv[1:])',
      'out = b""',
      'def read_until(text, seconds):',
      '    global out',
      '    end = time.time() + seconds',
      '    while text not in out and time.time() < end:',
      '        if select.select([fd], [], [], 0.2)[0]:',
      '            try: out += os.read(fd, 4096)',
      '            except OSError: return',
      'read_until(b"Ctrl-D", 30)',
      'os.write(fd, b"198.51.100.7\\n")',
      'read_until(b"198.51.100.7 198.51.100.0/24", 30)',
      'print("ANSWERED-BEFORE-EOF" if b"198.51.100.7 198.51.100.0/24" in out else "NO-ANSWER-BEFORE-EOF")',
      'os.write(fd, b"\\x04")',
      'read_until(b"never", 5)',
      'sys.stdout.write(out.decode(errors="replace"))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', driver, process.execPath, CLI, 'route', 'lookup', '--config', config], { encoding: 'utf8', timeout: 90_000 });
    expect(r.stdout).toContain('reading addresses from standard input');
    expect(r.stdout).toContain('ANSWERED-BEFORE-EOF');
    expect(r.stdout).toContain('198.51.100.7 198.51.100.0/24 dev wan');
  });
});

describe('replay outputs', () => {
  it('refuses to overwrite its input (--out or --trace), and leaves it intact', () => {
    const input = capture('in.pcap', '02:00:00:00:00:01');
    const before = readFileSync(input);
    let r = dataplane(['replay', input, '--config', oneport, '--out', input]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--out ${input} is the input capture: refusing to overwrite it`);
    r = dataplane(['replay', input, '--config', oneport, '--out', join(dir, 'o.pcapng'), '--trace', join(dir, '.', 'in.pcap')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is the input capture');
    expect(readFileSync(input)).toEqual(before);
  });

  it('a full disk is a message naming the file and the reason, exit 1, not a stack trace (it said only "ENOSPC: no space left on device, write")', () => {
    const input = capture('in2.pcap', '02:00:00:00:00:01');
    for (const workers of ['1', '2']) {
      const r = dataplane(['replay', input, '--config', oneport, '--out', '/dev/full', '--workers', workers]);
      expect([r.status, r.stderr], `--workers ${workers}`).toEqual([1, 'dataplane replay: cannot write /dev/full: no space left on the device (ENOSPC)\n']);
    }
    const t = dataplane(['replay', input, '--config', oneport, '--out', join(dir, 'o-full.pcapng'), '--trace', '/dev/full']);
    expect([t.status, t.stderr]).toEqual([1, 'dataplane replay: cannot write /dev/full: no space left on the device (ENOSPC)\n']);
    expect(existsSync(join(dir, 'o-full.pcapng'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('an input or output it cannot open is named with the reason in words, exit 1, not an errno message', () => {
    const out = join(dir, 'o.pcapng');
    const good = capture('in3.pcap', '02:00:00:00:00:01');
    for (const [args, message] of [
      [['replay', join(dir, 'no-such.pcap'), '--config', oneport, '--out', out], `dataplane replay: ${join(dir, 'no-such.pcap')}: no such file (ENOENT)`],
      [['replay', dir, '--config', oneport, '--out', out], `dataplane replay: ${dir}: it is a directory (EISDIR)`],
      [['replay', good, '--config', oneport, '--out', join(dir, 'no-dir', 'o.pcapng')], `dataplane replay: cannot write ${join(dir, 'no-dir', 'o.pcapng')}: no directory ${join(dir, 'no-dir')} (ENOENT)`],
      [['replay', good, '--config', oneport, '--out', out, '--trace', join(dir, 'no-dir', 't.pcapng')], `dataplane replay: cannot write ${join(dir, 'no-dir', 't.pcapng')}: no directory ${join(dir, 'no-dir')} (ENOENT)`],
      [['replay', good, '--config', oneport, '--out', dir], `dataplane replay: cannot write ${dir}: it is a directory (EISDIR)`],
      // A directory that exists but takes no new files: not "no such file", as if OUT had to exist.
      [['replay', good, '--config', oneport, '--out', '/proc/dp-out.pcapng'], 'dataplane replay: cannot write /proc/dp-out.pcapng: /proc takes no new files (ENOENT)'],
    ] as const) {
      const r = dataplane([...args]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim(), args.join(' ')).toBe(message);
    }
    // A --trace that cannot be made fails after OUT's temporary file was opened: it is removed too.
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('SIGTERM ends a replay whose input is a FIFO nobody writes yet (it blocks in open(), where a signal listener never runs)', async () => {
    const fifo = join(dir, 'never.fifo');
    spawnSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [CLI, 'replay', fifo, '--config', oneport, '--out', join(dir, 'fifo-out.pcapng')], { stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    await new Promise((res) => setTimeout(res, 1500));
    child.kill('SIGTERM');
    const signal = await Promise.race([ended, new Promise<'still running'>((res) => setTimeout(() => res('still running'), 10_000))]);
    if (signal === 'still running') child.kill('SIGKILL');
    expect(signal).toBe('SIGTERM');
  }, 20_000);

  it('a failed replay leaves an existing output as it was, and no temporary file', () => {
    const out = join(dir, 'keep.pcapng');
    writeFileSync(out, 'previous result');
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.concat([readFileSync(capture('good.pcap', '02:00:00:00:00:01')), Buffer.from('garbage after the last record')]));
    const r = dataplane(['replay', bad, '--config', oneport, '--out', out]);
    expect(r.status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('previous result');
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('replays a classic pcap on a one-port router without --in-port (the output named with -o)', () => {
    const r = dataplane(['replay', capture('one.pcap', '02:00:00:00:00:01'), '--config', oneport, '-o', join(dir, 'one.pcapng'), '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).ports.lan.rxFrames).toBe(3);
  });

  it('says so when every frame was for another MAC, and --promisc takes them', () => {
    const input = capture('foreign.pcap', '02:42:ac:11:00:02');
    let r = dataplane(['replay', input, '--config', oneport, '--out', join(dir, 'f.pcapng'), '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).counters['ethernet-input/not-for-us'].packets).toBe(3);
    expect(r.stderr).toContain('every frame was for another MAC');
    expect(r.stderr).toContain('--promisc');
    r = dataplane(['replay', input, '--config', oneport, '--out', join(dir, 'f.pcapng'), '--json', '--promisc']);
    expect(r.status).toBe(0);
    const counters = JSON.parse(r.stdout).counters;
    expect(counters['ethernet-input/not-for-us']).toBeUndefined();
    expect(counters['ip4-lookup/no-route'].packets).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toBe('');
    expect(existsSync(join(dir, 'f.pcapng'))).toBe(true);
  });

  it('says how many when most frames, not all, were for another MAC', () => {
    // Two frames for another host's MAC, one broadcast (the router takes it): docs/CLI.md's "N of M frames".
    const path = join(dir, 'mostly-foreign.pcap');
    const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
    ['02:42:ac:11:00:02', '02:42:ac:11:00:02', 'ff:ff:ff:ff:ff:ff'].forEach((dstMac, i) => w.write(udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac, id: i }, 1000 + i, 53), 1_700_000_000, i));
    w.close();
    const r = dataplane(['replay', path, '--config', oneport, '--out', join(dir, 'mf.pcapng')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('dataplane replay: 2 of 3 frames were for another MAC (ethernet-input/not-for-us)');
  });
});

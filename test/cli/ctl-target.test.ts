// Where `dataplane ctl` calls: --socket, else --config's control section
// (read with the YAML parser, which ctl loads only then), else the default.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CtlUsageError, ctlTarget, notASocket, resolveCtlTarget } from '../../src/cli/ctl-command.js';
import { DEFAULT_CONTROL_SOCKET } from '../../src/config/schema.js';
import { dataplane } from '../cli-run.js';

describe('ctlTarget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dp-ctl-target-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('takes --socket first, else the default socket (the one the config schema defaults to)', async () => {
    expect(await ctlTarget({ socket: '/tmp/x.sock', config: '/nonexistent.yaml' })).toBe('/tmp/x.sock');
    expect(await ctlTarget({})).toBe(DEFAULT_CONTROL_SOCKET);
    expect(DEFAULT_CONTROL_SOCKET).toBe('/run/dataplane/dataplane.sock');
  });

  it("reads the socket, or the listen address when the socket is off, from --config's control section", async () => {
    expect(await ctlTarget({ config: config('a.yaml', 'ports: []\ncontrol: { socket: /run/dp-a.sock }\n') })).toBe('/run/dp-a.sock');
    expect(await ctlTarget({ config: config('b.yaml', 'control: { socket: "", listen: "127.0.0.1:9470" }\n') })).toBe('127.0.0.1:9470');
    expect(await ctlTarget({ config: config('c.yaml', 'ports: []\n') })).toBe(DEFAULT_CONTROL_SOCKET);
  });

  it('refuses a config whose API is off, or that cannot be read, naming the file', async () => {
    const off = config('d.yaml', 'control: { socket: "" }\n');
    await expect(ctlTarget({ config: off })).rejects.toThrow(new CtlUsageError(`--config ${off}: its control API is off (control.socket is "")`));
    await expect(ctlTarget({ config: join(dir, 'missing.yaml') })).rejects.toThrow(/--config .*missing\.yaml: no such file \(ENOENT\)/);
    await expect(ctlTarget({ config: config('e.yaml', 'control: [unclosed\n') })).rejects.toBeInstanceOf(CtlUsageError);
  });

  it("refuses a control section the config loader would refuse, in the loader's words, rather than calling the default socket", async () => {
    for (const [name, text, problem] of [
      ['cc1.yaml', 'control: { socket: 5 }\n', 'control.socket: expected a string, got a number'],
      ['cc2.yaml', 'control: 7\n', 'control: expected a mapping, got a number'],
      ['cc3.yaml', 'control: { socket: relative.sock }\n', 'control.socket: must be an absolute path such as /run/dataplane/dataplane.sock, or "" to turn the API off'],
      ['cc5.yaml', 'control: { sokcet: /tmp/x.sock }\n', 'control: unknown field "sokcet"'],
      ['cc6.yaml', 'control: { socket: "", listen: "127.0.0.1:70000" }\n', 'control.listen: port 70000 is not 1-65535'],
      ['top.yaml', '- control\n', 'not a config: its top level must be a mapping of sections (ports:, control:, ...)'],
    ]) {
      const file = config(name, text);
      await expect(ctlTarget({ config: file }), name).rejects.toThrow(new CtlUsageError(`--config ${file}: ${problem}`));
    }
    const garbage = join(dir, 'garbage.bin');
    writeFileSync(garbage, Uint8Array.of(0x9e, 0xd2, 0xb9, 0x94, 0, 1, 2));
    await expect(ctlTarget({ config: garbage })).rejects.toThrow(new CtlUsageError(`--config ${garbage}: not a text file of YAML (binary data at byte 0)`));
    const r = dataplane(['ctl', '--config', config('cc1.yaml', 'control: { socket: 5 }\n'), 'status']);
    expect([r.status, r.stderr.trim()]).toEqual([2, `dataplane ctl: --config ${join(dir, 'cc1.yaml')}: control.socket: expected a string, got a number`]);
  });

  it('--socket empty, a bare name or a path longer than a socket can have: exit 2 saying what it takes, no stack (was a TypeError from URL parsing, or a DNS lookup of the name)', () => {
    const long = `/tmp/${'a'.repeat(110)}.sock`;
    for (const [socket, message] of [
      ['', 'dataplane ctl: --socket is empty: give the path of a running dataplane'],
      ['dp.sock', 'dataplane ctl: --socket dp.sock: neither a path (a socket in this directory is ./dp.sock) nor HOST:PORT'],
      [long, `dataplane ctl: --socket ${long}: 120 bytes, longer than any Unix socket path (at most 107)`],
      // Port 70000 was a TypeError with a stack (the client's URL); nothing listens on port 0.
      ['127.0.0.1:70000', 'dataplane ctl: --socket 127.0.0.1:70000: port 70000 is not 1-65535'],
      ['localhost:0', 'dataplane ctl: --socket localhost:0: port 0 is not 1-65535'],
    ]) {
      const r = dataplane(['ctl', '--socket', socket, 'counters']);
      expect(r.status, socket).toBe(2);
      expect(r.stderr, socket).toContain(message);
      expect(r.stderr, socket).not.toMatch(/\n\s+at /);
    }
    // A path or HOST:PORT with nothing there is still "cannot reach" (exit 1).
    const r = dataplane(['ctl', '--socket', join(dir, 'none.sock'), 'counters']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('there is no socket');
  });

  it('--socket (or the config\'s control.socket) naming a regular file or a directory: says what the path is, not "nothing accepts connections"; exit 1 as any unreachable dataplane', () => {
    const file = config('plain-file', 'not a socket\n');
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    for (const [path, kind] of [[file, 'a regular file'], [folder, 'a directory']]) {
      const r = dataplane(['ctl', '--socket', path, 'counters']);
      expect(r.status, path).toBe(1);
      expect(r.stderr, path).toBe(`dataplane ctl: --socket ${path}: is ${kind}, not a socket: give the socket a running dataplane listens on (its control.socket, which \`dataplane run\` creates)\n`);
    }
    const cfg = config('file-socket.yaml', `control: { socket: ${file} }\n`);
    const r = dataplane(['ctl', '--config', cfg, 'counters']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^dataplane ctl: --config ${cfg}: control\\.socket ${file}: is a regular file, not a socket: `));
  });

  it('names the default socket as the default when neither --socket nor a control.socket gave it', async () => {
    expect(await resolveCtlTarget({})).toEqual({ where: DEFAULT_CONTROL_SOCKET, named: `the default socket ${DEFAULT_CONTROL_SOCKET}` });
    const cfg = config('no-control.yaml', 'ports: []\n');
    const target = await resolveCtlTarget({ config: cfg });
    expect(target.named).toBe(`--config ${cfg} gives no control.socket, and the default socket ${DEFAULT_CONTROL_SOCKET}`);
    // What a wrong default path would then say (the real default cannot be made a directory here).
    expect(notASocket({ where: dir, named: target.named })).toBe(`${target.named}: is a directory, not a socket: give the socket a running dataplane listens on (its control.socket, which \`dataplane run\` creates)`);
    expect(notASocket({ where: join(dir, 'missing.sock'), named: 'x' })).toBeUndefined();
    expect(notASocket({ where: '127.0.0.1:9470', named: 'x' })).toBeUndefined();
  });
});

// Where `dataplane ctl` calls: --socket, else --config's control section
// (read with the YAML parser, which ctl loads only then), else the default.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CtlUsageError, ctlTarget } from '../../src/cli/ctl-command.js';
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

  it('--socket empty, a bare name or a path longer than a socket can have: exit 2 saying what it takes, no stack (was a TypeError from URL parsing, or a DNS lookup of the name)', () => {
    const long = `/tmp/${'a'.repeat(110)}.sock`;
    for (const [socket, message] of [
      ['', 'dataplane ctl: --socket is empty: give the path of a running dataplane'],
      ['dp.sock', 'dataplane ctl: --socket dp.sock: neither a path (a socket in this directory is ./dp.sock) nor HOST:PORT'],
      [long, `dataplane ctl: --socket ${long}: 120 bytes, longer than any Unix socket path (at most 107)`],
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
});

// TCP through `dataplane run` with offload TAPs (io.offload), from a client
// namespace to a server namespace across the dataplane: without offload, with
// it, and with it on the client side only (software segmentation towards the
// server). Checks that the bytes arrive (64 MiB, sha256 on both ends), that
// with offload the dataplane really received super-packets (average frame far
// above 1514 B) and without it only MTU-sized frames, and logs an iperf3
// figure. Root only; each case < 20 s.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/io/native.js';
import { skipIf } from '../skip.js';
import { Lab, nativeSkipReason, rootSkipReason } from './netns.js';
import { averageRxFrame, dataplaneTransfer, type TransferOutcome } from './transfer.js';

// Every transfer ends with a short iperf3 run (transfer.ts).
const skip = rootSkipReason(true, ['iperf3']);
const BYTES = 64 * 1024 * 1024;

describe('offload metadata in the native bursts (no root)', skipIf(nativeSkipReason()), () => {
  it('rxBurst and txBurst take meta only with the 10-byte header and 6 words per slot', () => {
    const io = loadNative();
    const arena = new Uint8Array(4096);
    const offsets = new Uint32Array(2);
    const lengths = new Uint32Array(2);
    // Argument checks come before any read or write, so fd -1 is never touched.
    expect(() => io.rxBurst(-1, arena, offsets, lengths, 2048, 2, 0, 0, undefined, new Uint16Array(12))).toThrow(/meta needs a 10-byte virtio header/);
    expect(() => io.rxBurst(-1, arena, offsets, lengths, 2048, 2, 0, 10, undefined, new Uint16Array(11))).toThrow(RangeError);
    expect(() => io.txBurst(-1, arena, offsets, lengths, 1, null, 0, undefined, new Uint16Array(12))).toThrow(/meta needs a 10-byte virtio header/);
    // Well-formed: the checks pass and the write itself fails on the bad fd.
    let code: unknown;
    try {
      io.txBurst(-1, arena, offsets, lengths, 1, null, 10, undefined, new Uint16Array(6));
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe('EBADF');
  });
});

describe('TCP through offload TAPs', skipIf(skip), () => {
  let lab: Lab;
  let dir: string;
  let nsR: string;
  let nsC: string;
  let nsS: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    lab = new Lab();
    nsR = lab.netns('ofr');
    nsC = lab.netns('ofc');
    nsS = lab.netns('ofs');
    dir = mkdtempSync(join(tmpdir(), 'dp-offload-'));
    for (const [name, lan, wan] of [['off', false, false], ['on', true, true], ['mixed', true, false]] as const) {
      writeFileSync(
        join(dir, `${name}.yaml`),
        `ports:
  - name: lan
    address: 192.0.2.1/24
    io: { type: tap, netns: ${nsC}, peerAddress: 192.0.2.10/24, peerName: eth0, offload: ${lan} }
  - name: wan
    address: 198.51.100.1/24
    io: { type: tap, netns: ${nsS}, peerAddress: 198.51.100.10/24, peerName: eth0, offload: ${wan} }
`,
      );
    }
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function transfer(offload: 'off' | 'on' | 'mixed'): Promise<TransferOutcome & { lan: TransferOutcome['ports'][number] }> {
    const r = await dataplaneTransfer({ router: nsR, client: nsC, server: nsS, serverAddr: '198.51.100.10', config: join(dir, `${offload}.yaml`), bytes: BYTES, children });
    const lan = r.ports[0];
    console.log(`offload ${offload}: iperf3 ${(r.iperfBitsPerSecond / 1e9).toFixed(2)} Gbit/s, lan rx ${lan.rxPackets} frames, ${Math.round(averageRxFrame(lan))} B average`);
    return { ...r, lan };
  }

  it('without offload: the bytes arrive in MTU-sized frames', async () => {
    const r = await transfer('off');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeLessThanOrEqual(1514);
  }, 20_000);

  it('with offload: the bytes arrive, carried in TCP super-packets (average frame > 2000 B)', async () => {
    const r = await transfer('on');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeGreaterThan(2000);
    expect(r.counters['ip4-output/gso-to-non-offload-port']).toBeUndefined();
    expect(r.counters['ethernet-input/too-big']).toBeUndefined();
  }, 20_000);

  it('offload on the client side only: super-packets are segmented in software towards the server', async () => {
    const r = await transfer('mixed');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeGreaterThan(2000);
    expect(r.counters['ip4-gso/segments-made']?.packets ?? 0).toBeGreaterThan(BYTES / 1500);
    expect(r.counters['ip4-output/gso-to-non-offload-port']).toBeUndefined();
  }, 20_000);
});

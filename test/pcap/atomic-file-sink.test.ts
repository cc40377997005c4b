// An output that appears only when complete: whatever fails (a write, the
// rename into place), no temporary file stays behind, and the error names
// the file the user gave, not the temporary one.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFileSink } from '../../src/pcap/atomic-file-sink.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const partials = () => readdirSync(dir).filter((f) => f.endsWith('.partial'));

describe('AtomicFileSink', () => {
  it('writes beside the target and renames on close', () => {
    const target = join(dir, 'ok.bin');
    const sink = new AtomicFileSink(target);
    sink.write(Uint8Array.of(1, 2, 3));
    expect(partials()).toHaveLength(1);
    sink.close();
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(partials()).toEqual([]);
  });

  it('a rename that fails (the target became a directory meanwhile) removes the temporary file and names the target', () => {
    const target = join(dir, 'became-dir');
    const sink = new AtomicFileSink(target);
    sink.write(Uint8Array.of(1));
    mkdirSync(target);
    writeFileSync(join(target, 'x'), 'keeps it non-empty');
    let err: NodeJS.ErrnoException | undefined;
    try {
      sink.close();
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).toBe('EISDIR');
    expect(err?.path).toBe(target);
    expect(partials()).toEqual([]);
    // The caller's abort() afterwards (replay's fail()) is harmless.
    sink.abort();
    sink.close();
    expect(readdirSync(target)).toEqual(['x']);
  });

  it('a failed write names the target (write(2) errors carry no path); abort() then leaves no temporary file', () => {
    const full = new AtomicFileSink('/dev/full');
    let err: NodeJS.ErrnoException | undefined;
    try {
      full.write(new Uint8Array(10));
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect([err?.code, err?.path]).toEqual(['ENOSPC', '/dev/full']);
    full.abort();
    full.close();
    const target = join(dir, 'aborted.bin');
    writeFileSync(target, 'before');
    const sink = new AtomicFileSink(target);
    sink.write(Uint8Array.of(9));
    sink.abort();
    sink.close();
    expect(readFileSync(target, 'utf8')).toBe('before');
    expect(partials()).toEqual([]);
  });
});

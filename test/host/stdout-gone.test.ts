// src/host/stdout-gone.ts: EPIPE on stdout ends a plain command quietly with
// its exit status, and hands a command that registered a handler (run, demo)
// its teardown instead, once; later write errors of the dead stream are not
// crashes; any other stdout error still is.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { installStdoutGone, whenStdoutGone } from '../../src/host/stdout-gone.js';

const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
const destroyed = () => Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' });

function fakeStdout() {
  const stream = new EventEmitter() as unknown as NodeJS.WriteStream;
  const exits: number[] = [];
  installStdoutGone(stream, (code) => void exits.push(code));
  return { emit: (e: Error) => (stream as unknown as EventEmitter).emit('error', e), exits };
}

describe('stdout gone', () => {
  const offs: (() => void)[] = [];
  afterEach(() => {
    offs.splice(0).forEach((off) => off());
    process.exitCode = undefined;
  });

  it('exits with the exit status so far when no command holds anything', () => {
    const s = fakeStdout();
    process.exitCode = 3;
    s.emit(epipe());
    expect(s.exits).toEqual([3]);
  });

  it('calls the registered teardown once instead of exiting, and ignores the dead stream afterwards', () => {
    const s = fakeStdout();
    let calls = 0;
    offs.push(whenStdoutGone(() => calls++));
    s.emit(epipe());
    s.emit(epipe());
    s.emit(destroyed());
    expect(calls).toBe(1);
    expect(s.exits).toEqual([]);
  });

  it('does not call a handler that was unregistered', () => {
    const s = fakeStdout();
    let calls = 0;
    const off = whenStdoutGone(() => calls++);
    off();
    s.emit(epipe());
    expect(calls).toBe(0);
    expect(s.exits).toEqual([0]);
  });

  it('still throws any other error of stdout', () => {
    const s = fakeStdout();
    expect(() => s.emit(Object.assign(new Error('write EIO'), { code: 'EIO' }))).toThrow('write EIO');
    expect(() => s.emit(destroyed())).toThrow('Cannot call write');
  });
});

// threadSetRealtime (native/src/sched.cc, `run --realtime N`): the calling
// thread, and only it, becomes SCHED_FIFO at the priority asked, and goes
// back to normal with 0; priorities out of range are refused by name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/io/native.js';
import { skipIf } from '../skip.js';
import { nativeSkipReason, rootSkipReason } from './netns.js';

/** policy (0 normal, 1 FIFO) and rt_priority of a thread, from its /proc stat (fields 41 and 40). */
function schedOf(path: string): { policy: number; rtPriority: number } {
  const f = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  // Fields from 3 (state) on: field n is f[n - 3].
  return { policy: Number(f[41 - 3]), rtPriority: Number(f[40 - 3]) };
}

describe('threadSetRealtime', skipIf(nativeSkipReason()), () => {
  it('refuses a priority out of 0..99', () => {
    const io = loadNative();
    expect(() => io.threadSetRealtime(100)).toThrow(/priority must be 0 \(normal\) or 1..99/);
    expect(() => io.threadSetRealtime(-1)).toThrow(/priority must be 0 \(normal\) or 1..99/);
  });

  it('makes the calling thread SCHED_FIFO at that priority, not the process, and 0 puts it back', skipIf(rootSkipReason(false)), () => {
    const io = loadNative();
    const process0 = schedOf(`/proc/${process.pid}/task/${process.pid}/stat`);
    try {
      io.threadSetRealtime(7);
      expect(schedOf('/proc/thread-self/stat')).toEqual({ policy: 1, rtPriority: 7 });
      // Another thread of the process (the main one, unless this is it) keeps its own.
      if (readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0] !== String(process.pid)) {
        expect(schedOf(`/proc/${process.pid}/task/${process.pid}/stat`)).toEqual(process0);
      }
    } finally {
      io.threadSetRealtime(0);
    }
    expect(schedOf('/proc/thread-self/stat')).toEqual({ policy: 0, rtPriority: 0 });
  });
});

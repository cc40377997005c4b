// Sleeping until a worker's ports have frames: one poll() over the ports'
// fds (and an optional wake fd another thread can signal), blocking only the
// calling worker's thread.
import { loadNative, type NativeIo } from './native.js';
import type { PacketPort } from './port.js';

export class PortWaiter {
  private readonly io: NativeIo;
  private readonly fds: Int32Array;
  private readonly count: number;
  private readonly wakeIndex: number;

  /**
   * `ports` are waited on in order (bit i of wait()'s mask is ports[i]);
   * ports without an fd (memory ports) never wake the waiter. `wakeFd`, from
   * loadNative().wakeFdOpen(), is drained whenever it fires.
   */
  constructor(ports: readonly PacketPort[], wakeFd = -1) {
    const n = ports.length + (wakeFd >= 0 ? 1 : 0);
    if (n > 32) throw new RangeError(`a PortWaiter waits on at most 32 fds (got ${n})`);
    this.io = loadNative();
    this.fds = new Int32Array(n);
    ports.forEach((p, i) => (this.fds[i] = p.fd));
    this.wakeIndex = wakeFd >= 0 ? ports.length : -1;
    if (wakeFd >= 0) this.fds[this.wakeIndex] = wakeFd;
    this.count = n;
  }

  /** Refreshes the fd of port i (after it was reopened, or -1 once it is gone). */
  setFd(i: number, fd: number): void {
    this.fds[i] = fd;
  }

  /**
   * Blocks for at most timeoutMs; returns a mask of the ports with frames or
   * errors (bit i = ports[i]), 0 on timeout or wake-up. Throws only on a
   * programming error (bad fd set).
   */
  wait(timeoutMs: number): number {
    let mask = this.io.waitReadable(this.fds, this.count, timeoutMs);
    if (this.wakeIndex >= 0 && (mask >>> this.wakeIndex) & 1) {
      this.io.wakeFdDrain(this.fds[this.wakeIndex]);
      mask &= ~(1 << this.wakeIndex);
    }
    return mask >>> 0;
  }
}

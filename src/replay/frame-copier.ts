// Copies of whole frames, gathered and done a burst at a time. Replay copies
// every frame twice: from the capture into a batch slot, and from the slot
// into the output's pcapng block. One TypedArray.set per frame needs a view
// of the source (an allocation per frame) and pays set()'s checks; in a
// one-worker replay's profile the output copy alone (ChunkWriter.addFrame)
// was a quarter of the thread, with the garbage collector behind it. Here
// the copies of a batch are queued (three words each) and done in one call
// of the addon's copyFrames (native/src/frame-copy.cc: every range checked,
// then a memcpy per frame). Without the addon (an older build), each queued
// copy is one set() of a view, as before.
//
// A queued copy reads its source and writes its destination when flushed,
// not when queued: the caller flushes before either buffer moves or is
// handed on (a window read again, a buffer grown or posted).
import { loadNative, type NativeIo } from '../io/native.js';

type CopyFrames = NonNullable<NativeIo['copyFrames']>;

function nativeCopy(): CopyFrames | null {
  try {
    return loadNative().copyFrames ?? null;
  } catch {
    return null;
  }
}

const INITIAL = 256;

export class FrameCopier {
  private src: Uint8Array | undefined;
  private dst: Uint8Array | undefined;
  private srcAt = new Uint32Array(INITIAL);
  private dstAt = new Uint32Array(INITIAL);
  private lengths = new Uint32Array(INITIAL);
  private count = 0;

  /** `copy`: the addon's copyFrames (the default, when the addon has it), or null for a set() per copy. */
  constructor(private readonly copy: CopyFrames | null = nativeCopy()) {}

  /** True when copies go through the addon (one call per flush). */
  get native(): boolean {
    return this.copy !== null;
  }

  /** Queues src[srcOff, + len) -> dst[dstOff...); a different buffer pair flushes what is queued first. */
  add(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
    if (this.copy === null) {
      dst.set(src.subarray(srcOff, srcOff + len), dstOff);
      return;
    }
    if (src !== this.src || dst !== this.dst) {
      this.flush();
      this.src = src;
      this.dst = dst;
    }
    const n = this.count;
    if (n === this.lengths.length) this.grow();
    this.srcAt[n] = srcOff;
    this.dstAt[n] = dstOff;
    this.lengths[n] = len;
    this.count = n + 1;
  }

  /** Does the queued copies. */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    this.copy!(this.dst!, this.dstAt, 0, this.src!, this.srcAt, this.lengths, n);
  }

  private grow(): void {
    const size = this.lengths.length * 2;
    const grown = (a: Uint32Array) => {
      const b = new Uint32Array(size);
      b.set(a);
      return b;
    };
    this.srcAt = grown(this.srcAt);
    this.dstAt = grown(this.dstAt);
    this.lengths = grown(this.lengths);
  }
}

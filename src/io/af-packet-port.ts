// An AF_PACKET socket on an existing interface (a veth end, say) as a
// PacketPort: TPACKET_V3 RX ring, sendmmsg TX. Workers share an interface by
// opening one port each with the same fanoutGroup (flows are hashed to
// sockets, so a flow stays on one worker). A port belongs to the thread that
// opened it.
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import { loadNative, type NativeIo, type PacketHandle, type PacketOpenOptions, type PacketStats } from './native.js';
import { newPortCounters, PortClosedError, resetRxStarts, rxRoom, withPortName, type PacketPort } from './port.js';

export interface AfPacketPortOptions extends PacketOpenOptions {
  /** The router's port index (batch.rxPort); default 0. */
  index?: number;
}

export class AfPacketPort implements PacketPort {
  readonly name: string;
  readonly index: number;
  readonly counters = newPortCounters();
  private readonly io: NativeIo;
  private handle: PacketHandle | 0;
  private fdValue: number;
  private readonly totals: PacketStats = { packets: 0, drops: 0, freezes: 0 };

  static open(ifname: string, opts: AfPacketPortOptions = {}): AfPacketPort {
    const io = loadNative();
    const { index, ...native } = opts;
    const handle = io.packetOpen(ifname, native);
    return new AfPacketPort(io, handle, ifname, index ?? 0);
  }

  private constructor(io: NativeIo, handle: PacketHandle, name: string, index: number) {
    this.io = io;
    this.handle = handle;
    this.name = name;
    this.index = index;
    this.fdValue = io.packetFd(handle);
  }

  get fd(): number {
    return this.fdValue;
  }

  rx(batch: Batch, max: number = MAX_BATCH): number {
    const count = rxRoom(batch, max);
    if (count <= 0) return 0;
    const h = this.handle;
    if (h === 0) throw new PortClosedError(this.name);
    const first = batch.rxCount;
    resetRxStarts(batch, first, count);
    let n: number;
    try {
      n = this.io.packetRxBurst(h, batch.arena, batch.start, batch.length, batch.maxFrame, count, first, this.counters, batch.tsSec, batch.tsNsec);
    } catch (e) {
      throw withPortName(e, this.name);
    }
    const end = first + n;
    for (let i = first; i < end; i++) batch.initSlot(i, batch.length[i], this.index, batch.tsSec[i], batch.tsNsec[i]);
    batch.rxCount = end;
    return n;
  }

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    if (count <= 0) return 0;
    const h = this.handle;
    if (h === 0) throw new PortClosedError(this.name);
    try {
      return this.io.packetTxBurst(h, batch.arena, batch.start, batch.length, count, slots, this.counters);
    } catch (e) {
      throw withPortName(e, this.name);
    }
  }

  /** Kernel socket statistics since the port opened: frames seen, frames dropped for want of ring space. */
  stats(): PacketStats {
    if (this.handle !== 0) {
      const s = this.io.packetStats(this.handle);
      this.totals.packets += s.packets;
      this.totals.drops += s.drops;
      this.totals.freezes += s.freezes;
    }
    return { ...this.totals };
  }

  close(): void {
    if (this.handle === 0) return;
    const h = this.handle;
    this.handle = 0;
    this.fdValue = -1;
    this.io.packetClose(h);
  }
}

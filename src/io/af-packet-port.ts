// An AF_PACKET socket on an existing interface (a veth end, say) as a
// PacketPort: a TPACKET_V2 (or V3) RX ring, sendmmsg TX. Workers share an interface by
// opening one port each with the same fanoutGroup (flows are hashed to
// sockets, so a flow stays on one worker). A port belongs to the thread that
// opened it.
//
// With `offload` the socket takes the interface's offloads as they come
// (PACKET_VNET_HDR): TCP super-frames of up to 64 KiB and partial checksums
// arrive described in batch.offload, as from an offload TAP, and leave the
// same way. What the dataplane cannot route (UDP GSO, TCP/IPv6 GSO, GSO over
// a tunnel) is dropped and counted in IoCounter.RX_OFFLOAD_UNSUPPORTED.
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import { IoCounter, loadNative, type NativeIo, type PacketHandle, type PacketOpenOptions, type PacketStats } from './native.js';
import { newPortCounters, PortClosedError, resetRxStarts, rxRoom, takeRxBurst, withPortName, type PacketPort } from './port.js';

export interface AfPacketPortOptions extends PacketOpenOptions {
  /** The router's port index (batch.rxPort); default 0. */
  index?: number;
  /** Count here (IoCounter.COUNT doubles, e.g. a view of shared memory) instead of a private array. */
  counters?: Float64Array;
}

/** Largest frame an offload port may be handed: a 64 KiB IPv4 super-packet, its Ethernet header and a VLAN tag. */
export const OFFLOAD_MAX_FRAME = 65535 + 14 + 4;

export class AfPacketPort implements PacketPort {
  readonly name: string;
  readonly index: number;
  readonly counters: Float64Array;
  /** Offloads are on: rx fills and tx reads batch.offload (the batch needs large slots: BatchOptions.largeSlots). */
  readonly offload: boolean;
  private readonly io: NativeIo;
  private handle: PacketHandle | 0;
  private fdValue: number;
  private readonly totals: PacketStats = { packets: 0, drops: 0, freezes: 0 };

  static open(ifname: string, opts: AfPacketPortOptions = {}): AfPacketPort {
    const io = loadNative();
    const { index, counters, ...native } = opts;
    if (counters !== undefined && counters.length < IoCounter.COUNT) throw new RangeError(`counters must hold ${IoCounter.COUNT} values`);
    const handle = io.packetOpen(ifname, native);
    return new AfPacketPort(io, handle, ifname, index ?? 0, native.offload === true, counters ?? newPortCounters());
  }

  private constructor(io: NativeIo, handle: PacketHandle, name: string, index: number, offload: boolean, counters: Float64Array) {
    this.io = io;
    this.handle = handle;
    this.name = name;
    this.index = index;
    this.offload = offload;
    this.counters = counters;
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
    if (this.offload && batch.maxFrame < OFFLOAD_MAX_FRAME) throw new RangeError(`${this.name}: an offload port needs a batch with 64 KiB slots (largeSlots)`);
    const first = batch.rxCount;
    resetRxStarts(batch, first, count);
    let n: number;
    try {
      n = this.io.packetRxBurst(h, batch.arena, batch.start, batch.length, batch.maxFrame, count, first, this.counters, batch.tsSec, batch.tsNsec,
        this.offload ? batch.offload : null);
    } catch (e) {
      throw withPortName(e, this.name);
    }
    takeRxBurst(batch, first, n, this.index, true, this.offload);
    return n;
  }

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    if (count <= 0) return 0;
    const h = this.handle;
    if (h === 0) throw new PortClosedError(this.name);
    try {
      return this.io.packetTxBurst(h, batch.arena, batch.start, batch.length, count, slots, this.counters, this.offload ? batch.offload : null);
    } catch (e) {
      throw withPortName(e, this.name);
    }
  }

  /** Kernel socket statistics since the port opened: frames seen, frames dropped for want of ring space. */
  stats(): PacketStats {
    if (this.handle !== 0) {
      const s = this.io.packetStats(this.handle, this.counters);
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

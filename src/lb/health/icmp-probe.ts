// ICMP echo probe through the `raw-socket` package (an optional dependency,
// see DESIGN.md's design card): one raw ICMP socket per IcmpPinger, shared by
// every ICMP-checked backend. The kernel hands a raw ICMP socket every ICMP
// packet the host receives, so replies are matched by our identifier (random
// per pinger: two checkers, or a ping(8), do not take each other's replies),
// the sequence number and the source address.
//
// Main thread only: raw-socket's addon registers with the main libuv loop and
// does not load in a worker_thread. A raw socket needs root (CAP_NET_RAW):
// IcmpPinger.open() returns the reason instead of throwing, so the checker can
// report it and go on.
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { Clock } from '../../pipeline/clock.js';
import { ipv4ToString, tryParseIpv4Address } from '../../wire/address.js';
import { internetChecksum } from '../../wire/checksum.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, icmpEchoId, icmpEchoSeq, icmpType, setIcmpChecksum, setIcmpEchoId, setIcmpEchoSeq, setIcmpType } from '../../wire/icmp.js';
import { errorReason, probeFailed, probeOk, type Probe, type ProbeResult } from './probe.js';

/** The part of raw-socket's API used here. */
interface RawSocket {
  on(ev: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes: number) => void): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(opts: { protocol: number }): RawSocket;
  Protocol: { ICMP: number };
}

const ECHO_LEN = 16; // 8-byte header + 8 bytes of payload (the send time, for a person reading a capture)

interface Pending {
  address: number;
  start: number;
  timer: NodeJS.Timeout;
  resolve: (r: ProbeResult) => void;
}

function loadRawSocket(): RawSocketModule | string {
  if (!isMainThread) return 'raw-socket works on the main thread only';
  try {
    return createRequire(import.meta.url)('raw-socket') as RawSocketModule;
  } catch (e) {
    return `the optional package raw-socket is not installed or not built (npm install builds it with node-gyp): ${(e as Error).message.split('\n')[0]}`;
  }
}

export class IcmpPinger {
  private readonly id = (Math.random() * 0x10000) & 0xffff;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Set when the socket failed after opening; every later probe fails with it. */
  private broken = '';

  private constructor(
    private readonly socket: RawSocket,
    private readonly clock: Clock,
  ) {
    socket.on('message', (buf, source) => this.receive(buf, source));
    // raw-socket closes the socket on an error: fail what waits, and say why from now on.
    socket.on('error', (e) => {
      this.broken = errorReason('icmp socket', e);
      for (const seq of [...this.pending.keys()]) this.settle(seq, probeFailed(this.clock.nowMs() - this.pending.get(seq)!.start, this.broken));
    });
  }

  /** A pinger, or why none can be had (no root, no raw-socket, a worker thread). */
  static open(clock: Clock): IcmpPinger | string {
    const raw = loadRawSocket();
    if (typeof raw === 'string') return raw;
    try {
      return new IcmpPinger(raw.createSocket({ protocol: raw.Protocol.ICMP }), clock);
    } catch (e) {
      const msg = (e as Error).message;
      return `cannot open a raw ICMP socket: ${msg}${/not permitted/i.test(msg) ? ' (needs root or CAP_NET_RAW)' : ''}`;
    }
  }

  probe(timeoutMs: number): Probe {
    return (address) => this.ping(address, timeoutMs);
  }

  ping(address: number, timeoutMs: number): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const start = this.clock.nowMs();
      if (this.broken !== '') return resolve(probeFailed(0, this.broken));
      // 65536 sequence numbers in flight at once would need 65536 backends probed within one timeout.
      const seq = (this.seq = (this.seq + 1) & 0xffff);
      const timer = setTimeout(() => this.settle(seq, probeFailed(timeoutMs, `icmp timeout after ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(seq, { address, start, timer, resolve });
      const b = Buffer.alloc(ECHO_LEN);
      setIcmpType(b, 0, ICMP_ECHO_REQUEST);
      setIcmpEchoId(b, 0, this.id);
      setIcmpEchoSeq(b, 0, seq);
      b.writeDoubleBE(Date.now(), 8);
      setIcmpChecksum(b, 0, internetChecksum(b, 0, ECHO_LEN));
      this.socket.send(b, 0, ECHO_LEN, ipv4ToString(address), (err) => {
        if (err) this.settle(seq, probeFailed(this.clock.nowMs() - start, errorReason('icmp send', err)));
      });
    });
  }

  close(): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, probeFailed(0, 'icmp pinger closed'));
    this.socket.close();
  }

  /** An IPv4 packet (raw IPv4 sockets deliver the IP header too); anything but our echo replies is ignored. */
  private receive(buf: Buffer, source: string): void {
    if (buf.length < 20) return;
    const ihl = (buf[0] & 0x0f) * 4;
    if (buf.length < ihl + 8 || icmpType(buf, ihl) !== ICMP_ECHO_REPLY || icmpEchoId(buf, ihl) !== this.id) return;
    const seq = icmpEchoSeq(buf, ihl);
    const p = this.pending.get(seq);
    if (p === undefined || tryParseIpv4Address(source) !== p.address) return;
    this.settle(seq, probeOk(this.clock.nowMs() - p.start));
  }

  private settle(seq: number, r: ProbeResult): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    p.resolve(r);
  }
}

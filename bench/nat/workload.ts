// The NAT benchmark's traffic: 1M masqueraded UDP flows between clients in
// 198.18.0.0/15 (behind the router's lan port) and servers in 203.0.113.0/24
// (behind a gateway on the wan side), and the frames that carry them, packed
// 64 bytes apart in one arena so the run loop's input copies each with 16
// word moves and allocates nothing.
//
// Flow f (0 <= f < FLOWS) belongs to endpoint e = f >> 5 (client host
// e >> 5, client port PORT_BASE + (e & 31)) and goes to server
// 203.0.113.(10 + (f & 31)). With endpoint-independent mapping the 32 flows
// of an endpoint share one binding (one external port): 32768 bindings for
// the 1M flows, well inside masquerade's 64512 UDP ports of one address.
import { finishChecksum, internetChecksum, pseudoHeaderSumFromIpv4, sumWords } from '../../src/wire/checksum.js';
import type { RxSource, TxSink } from '../../src/io/port.js';
import type { Batch } from '../../src/pipeline/batch.js';

export const HOSTS = 1024;
export const PORTS_PER_HOST = 32;
export const SERVERS_PER_ENDPOINT = 32;
export const ENDPOINTS = HOSTS * PORTS_PER_HOST;
export const FLOWS = ENDPOINTS * SERVERS_PER_ENDPOINT;
const PORT_BASE = 40000;
/** Endpoints of the churn phase: the same hosts, 8 more ports each (new bindings) and other servers. */
export const CHURN_PORTS_PER_HOST = 8;
const CHURN_PORT_BASE = 41000;
const CHURN_SERVER_BASE = 100;

export const LAN = 0;
export const WAN = 1;
const LAN_MAC = [0x02, 0, 0, 0, 0, 0x01];
const WAN_MAC = [0x02, 0, 0, 0, 0, 0x02];
/** The masquerade address (the wan port's). */
export const WAN_ADDRESS = 0xc6336401 | 0; // 198.51.100.1
const SERVER_PORTS = [443, 53, 123, 3478];

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) | 0;
}

/** Client host h: 198.18.4.0 + h (198.18.4.0-198.18.7.255), on the lan subnet 198.18.0.0/15. */
export function clientAddress(h: number): number {
  return ip(198, 18, 4 + (h >> 8), h & 0xff);
}

function macOfHost(h: number): string {
  return `02:aa:00:00:${((h >> 8) & 0xff).toString(16).padStart(2, '0')}:${(h & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The router: lan 198.18.0.1/15 with every client host a static neighbor,
 * wan 198.51.100.1/24 with the servers' network behind 198.51.100.254.
 * `nat` adds masquerade on wan and a flow table of `capacity`.
 */
export function routerConfig(nat: { capacity: number } | undefined): string {
  const lines = [
    'ports:',
    '  - { name: lan, mac: "02:00:00:00:00:01", address: 198.18.0.1/15 }',
    '  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }',
    'routes:',
    '  - 203.0.113.0/24 via 198.51.100.254',
    // The neighbor table holds max(1024, 4 x pendingNeighbors) entries; the 1025 static ones need more.
    'arp: { pendingNeighbors: 1024 }',
    'neighbors:',
    '  - { address: 198.51.100.254, mac: "02:bb:00:00:00:01" }',
  ];
  for (let h = 0; h < HOSTS; h++) {
    const a = clientAddress(h);
    lines.push(`  - { address: ${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}, mac: "${macOfHost(h)}" }`);
  }
  if (nat !== undefined) {
    lines.push('nat:', '  masquerade:', '    - { outPort: wan }', '  filtering: endpoint-independent', '  profile: rfc', `conntrack: { capacity: ${nat.capacity} }`);
  }
  return lines.join('\n') + '\n';
}

/** A flow's original direction, as its client sends it. */
export interface FlowTuple {
  client: number;
  clientPort: number;
  server: number;
  serverPort: number;
}

/** Flow f of the fill (0 <= f < FLOWS). */
export function fillFlow(f: number, out: FlowTuple): FlowTuple {
  const e = f >>> 5;
  const k = f & 31;
  out.client = clientAddress(e >>> 5);
  out.clientPort = PORT_BASE + (e & 31);
  out.server = ip(203, 0, 113, 10 + k);
  out.serverPort = SERVER_PORTS[(e + k) & 3];
  return out;
}

/** Flow f of the churn phase (0 <= f < HOSTS * CHURN_PORTS_PER_HOST * 32): new endpoints (new bindings) to other servers. */
export function churnFlow(f: number, out: FlowTuple): FlowTuple {
  const e = f >>> 5;
  const k = f & 31;
  out.client = clientAddress(e >>> 3);
  out.clientPort = CHURN_PORT_BASE + (e & 7);
  out.server = ip(203, 0, 113, CHURN_SERVER_BASE + k);
  out.serverPort = SERVER_PORTS[(e + k) & 3];
  return out;
}

export const FRAME_BYTES = 60;
const STRIDE = 64;

/** Frames 64 bytes apart, each with the port it arrives on. */
export class FramePool {
  readonly arena: Uint8Array;
  readonly words: Int32Array;
  readonly rxPort: Uint8Array;

  constructor(readonly count: number) {
    this.arena = new Uint8Array(count * STRIDE);
    this.words = new Int32Array(this.arena.buffer);
    this.rxPort = new Uint8Array(count);
  }

  /** Writes frame i: Ethernet to the rx port's MAC, IPv4, UDP src:sport -> dst:dport, valid checksums. */
  set(i: number, rxPort: number, src: number, dst: number, sport: number, dport: number): void {
    const b = this.arena;
    const o = i * STRIDE;
    b.set(rxPort === LAN ? LAN_MAC : WAN_MAC, o);
    b.set(rxPort === LAN ? [0x02, 0xaa, 0, 0, 0, 0x01] : [0x02, 0xbb, 0, 0, 0, 0x01], o + 6);
    b[o + 12] = 0x08;
    b[o + 13] = 0x00;
    const l3 = o + 14;
    const total = FRAME_BYTES - 14;
    b.fill(0, l3, o + STRIDE);
    b[l3] = 0x45;
    b[l3 + 2] = total >> 8;
    b[l3 + 3] = total & 0xff;
    b[l3 + 4] = (i >> 8) & 0xff;
    b[l3 + 5] = i & 0xff;
    b[l3 + 8] = 64;
    b[l3 + 9] = 17;
    for (let k = 0; k < 4; k++) {
      b[l3 + 12 + k] = (src >>> (24 - 8 * k)) & 0xff;
      b[l3 + 16 + k] = (dst >>> (24 - 8 * k)) & 0xff;
    }
    const c = internetChecksum(b, l3, 20);
    b[l3 + 10] = c >> 8;
    b[l3 + 11] = c & 0xff;
    const u = l3 + 20;
    const udpLen = total - 20;
    b[u] = sport >> 8;
    b[u + 1] = sport & 0xff;
    b[u + 2] = dport >> 8;
    b[u + 3] = dport & 0xff;
    b[u + 4] = udpLen >> 8;
    b[u + 5] = udpLen & 0xff;
    for (let k = u + 8; k < o + FRAME_BYTES; k++) b[k] = k & 0xff;
    let uc = finishChecksum(sumWords(b, u, udpLen, pseudoHeaderSumFromIpv4(b, l3, 17, udpLen)));
    if (uc === 0) uc = 0xffff;
    b[u + 6] = uc >> 8;
    b[u + 7] = uc & 0xff;
    this.rxPort[i] = rxPort;
  }
}

/**
 * The run loop's input: the pool's frames in order, a batch at a time,
 * wrapping round. Each frame is copied as 16 Int32 words into its slot
 * (slot starts are 4-byte aligned), so nothing is allocated per frame.
 */
export class PoolInput implements RxSource {
  readonly index = -1;
  private pool = new FramePool(1);
  private pos = 0;
  private batchWords: Int32Array | undefined;

  /** Feeds `pool` from its first frame on. */
  use(pool: FramePool): void {
    this.pool = pool;
    this.pos = 0;
  }

  rx(batch: Batch): number {
    let dst = this.batchWords;
    if (dst === undefined || dst.buffer !== batch.arena.buffer) {
      dst = this.batchWords = new Int32Array(batch.arena.buffer, batch.arena.byteOffset, batch.arena.byteLength >> 2);
    }
    const pool = this.pool;
    const src = pool.words;
    const rxPort = pool.rxPort;
    const count = pool.count;
    const n = Math.min(batch.rxCapacity - batch.rxCount, count);
    let p = this.pos;
    for (let k = 0; k < n; k++) {
      const i = batch.rxCount++;
      batch.initSlot(i, FRAME_BYTES, rxPort[p], 0, 0);
      const d = batch.start[i] >> 2;
      const s = p << 4;
      for (let w = 0; w < 16; w++) dst[d + w] = src[s + w];
      if (++p === count) p = 0;
    }
    this.pos = p;
    return n;
  }
}

function isClient(a: number): boolean {
  return (a & 0xfffffc00) === (0xc6120400 | 0);
}

function isServer(a: number): boolean {
  return (a & 0xffffff00) === (0xcb007100 | 0);
}

/**
 * Counts what leaves each port; with `check` on, also checks every frame's
 * addresses: leaving by wan, the source is the masquerade address (or, for
 * the plain router, a client) and the destination a server; leaving by lan,
 * the destination is a client (counted in `bad` otherwise).
 */
export class CheckingOutput implements TxSink {
  frames = 0;
  bad = 0;
  check = false;

  constructor(
    private readonly port: number,
    private readonly nat: boolean,
  ) {}

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    this.frames += count;
    if (!this.check) return count;
    const b = batch.arena;
    for (let k = 0; k < count; k++) {
      const o = batch.start[slots[k]] + 14;
      const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
      const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
      const ok = this.port === WAN ? isServer(dst) && (this.nat ? src === WAN_ADDRESS : isClient(src)) : isClient(dst) && isServer(src);
      if (!ok) this.bad++;
    }
    return count;
  }
}

/**
 * Frames of the established loop: `count` frames of flows chosen by a
 * xorshift from `seed`, half each direction. NAT frames answer to the
 * masquerade address at the flow's NAT port (`natPortOf(f)`); plain L3
 * frames carry the same conversations addressed to the client (without NAT
 * a packet to the router's own address would be delivered, not forwarded).
 * `keys` (NAT only, when given) gets the key ct-input looks up for each.
 */
export function establishedPool(count: number, seed: number, natPortOf: ((f: number) => number) | undefined, keys?: Int32Array): FramePool {
  const pool = new FramePool(count);
  const t: FlowTuple = { client: 0, clientPort: 0, server: 0, serverPort: 0 };
  let x = seed;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const f = (x >>> 12) & (FLOWS - 1);
    fillFlow(f, t);
    if ((x & 1) === 0) {
      pool.set(i, LAN, t.client, t.server, t.clientPort, t.serverPort);
      keys?.set([t.client, t.server, (t.clientPort << 16) | t.serverPort, 17], i * 4);
    } else if (natPortOf !== undefined) {
      const np = natPortOf(f);
      pool.set(i, WAN, t.server, WAN_ADDRESS, t.serverPort, np);
      keys?.set([t.server, WAN_ADDRESS, (t.serverPort << 16) | np, 17], i * 4);
    } else {
      pool.set(i, WAN, t.server, t.client, t.serverPort, t.clientPort);
    }
  }
  return pool;
}

// Flow keys: four Int32 words per direction of a flow, as the flow table and
// its index store and compare them, plus the hash the index places them by.
//
//   word 0  source address (IPv4, as the 32 bits read big-endian off the wire)
//   word 1  destination address
//   word 2  (source port << 16) | destination port
//   word 3  protocol | (zone << 8)
//
// ICMP query messages (echo, timestamp, information, address mask) have no
// ports: their identifier goes in BOTH halves of word 2, (id << 16) | id.
// Swapping the halves then leaves it unchanged, so the reply key of any flow is
// always "swap the addresses, swap the port halves" (reverseKey* below), and an
// echo request and its reply, which carry the same id, build keys that are each
// other's reverse. NAT rewrites the id like a port and keeps the rule. The ICMP
// type is not part of the key: an echo request from B to A with the id of an
// A -> B echo flow matches that flow as its reply (Linux keys the type and
// would not); ICMP errors are matched by the flow of the datagram they quote.
//
// The zone (24 bits) is reserved for separate address spaces (VRFs, ports that
// must not share state) and is 0 until those exist.
//
// Hash: each word multiplied by its own odd constant (Math.imul, independent, so
// the four run in parallel), summed with the seed, then murmur3's fmix32
// finaliser for avalanche: the multiplies do not wait on each other as four
// murmur3 rounds do (bench/flow/flow.ts, `flow/hash` rows: ~20% fewer ns per
// key, on a loaded machine; the hash is a small part of a lookup either
// way). Its spread is checked in test/flow/flow-key.test.ts. It is not collision
// resistant: someone who controls two fields of many flows can make them share
// a hash. In the two-choice bucketed index that only fills the two buckets
// those keys may use (7 entries each), so such an attacker can fail their own
// flows, not lengthen anyone's lookups. The seed (random per table) makes
// the placement of the same keys differ between tables and runs.

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Word 2 for TCP/UDP (and any protocol with 16-bit ports). */
export function portsWord(sport: number, dport: number): number {
  return ((sport & 0xffff) << 16) | (dport & 0xffff);
}

/** Word 2 for an ICMP query message: the identifier in both halves. */
export function icmpQueryWord(id: number): number {
  return ((id & 0xffff) << 16) | (id & 0xffff);
}

/** Word 3: protocol and zone (0 until zones exist). */
export function protoWord(proto: number, zone = 0): number {
  return (proto & 0xff) | ((zone & 0xffffff) << 8);
}

/** Word 2 of the reverse direction: the port halves swapped. */
export function reversePortsWord(ports: number): number {
  return (ports >>> 16) | (ports << 16);
}

const M0 = 0x9e3779b1 | 0;
const M1 = 0x85ebca77 | 0;
const M2 = 0xc2b2ae3d | 0;
const M3 = 0x27d4eb2f | 0;

/**
 * The index's 32-bit hash of a key (see the header for the choice). The seed
 * is taken `| 0`: read from an object's field (a random int32 outside V8's
 * 31-bit Smi range is kept as a double there), it made the sum a double add
 * with two conversions in every hash; callers in a loop hoist `seed | 0`.
 */
export function hashKey(k0: number, k1: number, k2: number, k3: number, seed: number): number {
  let h = (Math.imul(k0, M0) + Math.imul(k1, M1) + Math.imul(k2, M2) + Math.imul(k3, M3) + (seed | 0)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// ---- Text form, for tests, flow dumps and error messages (allocates; not for the packet path).

const PROTO_NAMES: Record<number, string> = { [PROTO_ICMP]: 'icmp', [PROTO_TCP]: 'tcp', [PROTO_UDP]: 'udp' };

function formatAddr(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

function parseAddr(s: string, text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null || m.slice(1).some((o) => Number(o) > 255)) throw new Error(`flow key '${text}': '${s}' is not an IPv4 address`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) | 0;
}

/**
 * "198.51.100.7:40000 -> 203.0.113.5:53 udp", "192.0.2.10 -> 203.0.113.5 icmp id 7",
 * with " zone N" appended when the zone is not 0.
 */
export function formatKey(k0: number, k1: number, k2: number, k3: number): string {
  const proto = k3 & 0xff;
  const zone = k3 >>> 8;
  const name = PROTO_NAMES[proto] ?? `proto ${proto}`;
  const tail = zone === 0 ? '' : ` zone ${zone}`;
  if (proto === PROTO_ICMP) return `${formatAddr(k0)} -> ${formatAddr(k1)} icmp id ${k2 >>> 16}${(k2 & 0xffff) === k2 >>> 16 ? '' : `/${k2 & 0xffff}`}${tail}`;
  return `${formatAddr(k0)}:${k2 >>> 16} -> ${formatAddr(k1)}:${k2 & 0xffff} ${name}${tail}`;
}

/** The inverse of formatKey, returning the four words. */
export function parseKey(text: string): [number, number, number, number] {
  const icmp = /^(\S+) -> (\S+) icmp id (\d+)(?: zone (\d+))?$/.exec(text);
  if (icmp !== null) {
    const id = Number(icmp[3]);
    if (id > 0xffff) throw new Error(`flow key '${text}': id ${id} is over 65535`);
    return [parseAddr(icmp[1], text), parseAddr(icmp[2], text), icmpQueryWord(id), protoWord(PROTO_ICMP, Number(icmp[4] ?? 0))];
  }
  const m = /^(\S+):(\d+) -> (\S+):(\d+) (tcp|udp|proto (\d+))(?: zone (\d+))?$/.exec(text);
  if (m === null) throw new Error(`flow key '${text}': expected 'A:port -> B:port tcp|udp' or 'A -> B icmp id N'`);
  const sport = Number(m[2]);
  const dport = Number(m[4]);
  if (sport > 0xffff || dport > 0xffff) throw new Error(`flow key '${text}': port over 65535`);
  const proto = m[5] === 'tcp' ? PROTO_TCP : m[5] === 'udp' ? PROTO_UDP : Number(m[6]);
  return [parseAddr(m[1], text), parseAddr(m[3], text), portsWord(sport, dport), protoWord(proto, Number(m[7] ?? 0))];
}

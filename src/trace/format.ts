// Turns a traced packet's verdict records into lines, one per node verdict:
//
//   ip4-input -> ip4-lookup: 192.0.2.10 > 198.51.100.10 udp 40000 > 53 ttl 64
//   ip4-lookup -> ip4-rewrite: route 198.51.100.0/24 dev wan
//   ip4-rewrite -> ip4-output: ttl 64 -> 63
//   ip4-output -> out wan
//
// A drop names the counter it went to ("ip4-rewrite/ttl-expired"); a drop
// kept for an ICMP error says which error follows. Fields a node rewrote
// (TTL, addresses, ports) are shown as "old -> new"; what a node decided on
// comes from its describeVerdict().
import { OUTPUT, type PipelineNode } from '../pipeline/node.js';
import { TraceField, TraceRecordView, Verdict, type TraceDescribeContext } from '../pipeline/trace-recorder.js';
import { ipv4ToString } from '../wire/address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

const UNREACHABLE_CODES = [
  'net unreachable',
  'host unreachable',
  'protocol unreachable',
  'port unreachable',
  'fragmentation needed',
  'source route failed',
  'net unknown',
  'host unknown',
  'source host isolated',
  'net prohibited',
  'host prohibited',
  'net unreachable for TOS',
  'host unreachable for TOS',
  'communication administratively prohibited',
  'host precedence violation',
  'precedence cutoff',
];

/** An ICMP error request (Batch.icmpError: type << 24 | code << 16 | parameter) in words. */
export function describeIcmpError(req: number): string {
  const type = req >>> 24;
  const code = (req >>> 16) & 0xff;
  const param = req & 0xffff;
  if (type === 3) return code === 4 ? `ICMP fragmentation needed, mtu ${param}` : `ICMP ${UNREACHABLE_CODES[code] ?? `unreachable code ${code}`}`;
  if (type === 11) return code === 0 ? 'ICMP time exceeded in transit' : 'ICMP fragment reassembly time exceeded';
  if (type === 12) return `ICMP parameter problem, pointer ${param}`;
  return `ICMP type ${type} code ${code}`;
}

function protoName(p: number): string {
  return p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_ICMP ? 'icmp' : `proto ${p}`;
}

/** "192.0.2.10 > 198.51.100.10 udp 40000 > 53 ttl 64" */
function describePacket(r: TraceRecordView): string {
  const p = r.protocol;
  let l4 = protoName(p);
  if (r.fragmentOffset !== 0) l4 += ` fragment at ${r.fragmentOffset}${r.moreFragments ? '' : ' (last)'}`;
  else {
    if (p === IPPROTO_TCP || p === IPPROTO_UDP) l4 += ` ${r.l4 >>> 16} > ${r.l4 & 0xffff}`;
    else if (p === IPPROTO_ICMP) l4 += ` type ${r.l4 >>> 24} code ${(r.l4 >>> 16) & 0xff} id ${r.l4 & 0xffff}`;
    if (r.moreFragments) l4 += ' first fragment';
  }
  return `${ipv4ToString(r.src)} > ${ipv4ToString(r.dst)} ${l4} ttl ${r.ttl}`;
}

/** The fields that changed between two records of one packet: "ttl 64 -> 63", "src a -> b". */
function describeRewrites(prev: TraceRecordView, r: TraceRecordView): string[] {
  // A new packet in the same slot (the ICMP error it became), or a piece of the datagram (a fragment): show it whole.
  if (prev.protocol !== r.protocol || prev.fragmentOffset !== r.fragmentOffset || prev.moreFragments !== r.moreFragments) return [`now ${describePacket(r)}`];
  const out: string[] = [];
  if (prev.src !== r.src) out.push(`src ${ipv4ToString(prev.src)} -> ${ipv4ToString(r.src)}`);
  if (prev.dst !== r.dst) out.push(`dst ${ipv4ToString(prev.dst)} -> ${ipv4ToString(r.dst)}`);
  if (prev.l4 !== r.l4 && (r.protocol === IPPROTO_TCP || r.protocol === IPPROTO_UDP)) {
    if (prev.l4 >>> 16 !== r.l4 >>> 16) out.push(`sport ${prev.l4 >>> 16} -> ${r.l4 >>> 16}`);
    if ((prev.l4 & 0xffff) !== (r.l4 & 0xffff)) out.push(`dport ${prev.l4 & 0xffff} -> ${r.l4 & 0xffff}`);
  }
  if (prev.ttl !== r.ttl) out.push(`ttl ${prev.ttl} -> ${r.ttl}`);
  return out;
}

export class TraceFormatter {
  constructor(
    private readonly nodes: readonly PipelineNode[],
    private readonly ctx: TraceDescribeContext,
  ) {}

  /** One line per verdict, in order. */
  lines(records: Int32Array): string[] {
    const W = TraceField.WORDS;
    const n = records.length / W;
    const out: string[] = [];
    // What each piece (slot) looked like at its last verdict; a new piece is compared with the last record of any.
    const lastBySlot = new Map<number, TraceRecordView>();
    let lastIp: TraceRecordView | undefined;
    for (let i = 0; i < n; i++) {
      const r = new TraceRecordView(records, i * W);
      const node = this.nodes[r.node];
      if (node === undefined) {
        out.push(`node #${r.node}: verdict ${r.verdict}`);
        continue;
      }
      const details: string[] = [];
      if (r.hasIp) {
        const prev = lastBySlot.get(r.slot) ?? lastIp;
        if (prev === undefined) details.push(describePacket(r));
        else details.push(...describeRewrites(prev, r));
        lastBySlot.set(r.slot, r);
        lastIp = r;
      }
      const own = node.describeVerdict(r, this.ctx);
      if (own !== undefined) details.push(own);
      let line: string;
      switch (r.verdict) {
        case Verdict.NEXT: {
          const target = node.nextNames[r.index] ?? `next #${r.index}`;
          line = target === OUTPUT ? `${node.name} -> out ${this.ctx.portName(r.txPort)}` : `${node.name} -> ${target}`;
          break;
        }
        case Verdict.DROP:
          line = `${node.name}/${node.drops[r.index]?.name ?? `reason #${r.index}`}: dropped`;
          break;
        case Verdict.COUNT_DROP: {
          // The node asks for the ICMP error right after counting the drop: say which, on this line.
          const reason = node.drops[r.index]?.name ?? `reason #${r.index}`;
          const next = i + 1 < n ? new TraceRecordView(records, (i + 1) * W) : undefined;
          if (next !== undefined && next.node === r.node && next.verdict === Verdict.NEXT) {
            line = `${node.name}/${reason} -> ${node.nextNames[next.index]}`;
            details.push(describeIcmpError(next.icmpError));
            i++;
            if (next.hasIp) {
              lastBySlot.set(next.slot, next);
              lastIp = next;
            }
          } else line = `${node.name}/${reason}: dropped`;
          break;
        }
        case Verdict.CONSUMED:
          line = `${node.name}: consumed`;
          break;
        default:
          line = `${node.name}: verdict ${r.verdict}`;
      }
      out.push(details.length > 0 ? `${line}: ${details.join(', ')}` : line);
    }
    return out;
  }
}

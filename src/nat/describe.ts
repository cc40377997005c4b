// How NAT verdicts read in a packet trace: the packet's tuple as the node
// left it (the record is taken after the rewrite), so a trace shows the
// binding each packet got.
import type { TraceRecordView } from '../pipeline/trace-recorder.js';
import { ipv4ToString } from '../wire/address.js';

/** "198.51.100.1:40123 -> 203.0.113.5:53 udp" from a trace record, or undefined without an IPv4 header. */
export function describeTuple(r: TraceRecordView): string | undefined {
  if (!r.hasIp) return undefined;
  const proto = r.protocol === 6 ? 'tcp' : r.protocol === 17 ? 'udp' : r.protocol === 1 ? 'icmp' : `proto ${r.protocol}`;
  if (r.protocol === 6 || r.protocol === 17) return `${ipv4ToString(r.src)}:${r.l4 >>> 16} -> ${ipv4ToString(r.dst)}:${r.l4 & 0xffff} ${proto}`;
  return `${ipv4ToString(r.src)} -> ${ipv4ToString(r.dst)} ${proto}`;
}

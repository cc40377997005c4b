// Writes traced packets to a pcapng file, one interface per port plus one
// named "dropped": each packet as it came in (on its input port), then as it
// left (on each output port: the forwarded packet, the ICMP error it became,
// its fragments) or as it was when a node dropped it (on "dropped"). The
// node verdicts go on the last frames as packet comments, so
//
//   tshark -r TRACE.pcapng -T fields -e frame.number -e frame.comment
//
// shows each packet's path. A packet that neither left nor was dropped (an
// echo request answered, a datagram held for ARP) carries them on its input
// frame.
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { PcapngWriter, type ByteSink } from '../pcap/writer.js';
import type { TraceFormatter } from './format.js';
import type { TracedPacket } from './traced-packet.js';

export const DROPPED_INTERFACE = 'dropped';

export class TraceWriter {
  private readonly writer: PcapngWriter;
  private readonly dropped: number;
  /** Traced packets written. */
  written = 0;

  constructor(
    output: string | ByteSink,
    private readonly portNames: readonly string[],
    private readonly formatter: TraceFormatter,
    private readonly now: () => number = Date.now,
  ) {
    const interfaces = [...portNames, DROPPED_INTERFACE].map((name) => ({ name, linkType: LINKTYPE_ETHERNET }));
    this.writer = new PcapngWriter(output, { interfaces, nanosecond: true });
    this.dropped = portNames.length;
  }

  write(p: TracedPacket): void {
    const lines = this.formatter.lines(p.records);
    let sec = p.tsSec;
    let nsec = p.tsNsec;
    if (sec === 0 && nsec === 0) {
      // Live ports do not stamp frames: use the time the trace was written.
      const ms = this.now();
      sec = Math.floor(ms / 1000);
      nsec = Math.round((ms - sec * 1000) * 1e6);
    }
    const tag = `trace ${p.id}`;
    const finals = p.outs.length + p.drops.length;
    const inComments = [`${tag}: in ${this.portNames[p.inPort] ?? p.inPort}${p.worker >= 0 ? ` (worker ${p.worker})` : ''}`];
    this.writer.write(p.inPort, p.inBytes, sec, nsec, p.inBytes.length, finals === 0 ? [...inComments, ...lines] : inComments);
    // The path goes on the first frame that left (or was dropped); the others (more fragments, segments) say whose they are.
    let path: string[] = lines;
    const more = (n: number) => (finals > 1 ? ` (${n} of ${finals})` : '');
    let n = 0;
    for (const o of p.outs) {
      this.writer.write(o.port, o.bytes, sec, nsec, o.bytes.length, [`${tag}: out ${this.portNames[o.port] ?? o.port}${more(++n)}`, ...path]);
      path = [];
    }
    for (const d of p.drops) {
      this.writer.write(this.dropped, d.bytes, sec, nsec, d.bytes.length, [`${tag}: dropped${more(++n)}`, ...path]);
      path = [];
    }
    this.written++;
  }

  /** Hands what is buffered to the output (a write error shows here, before any output is closed). */
  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

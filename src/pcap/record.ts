// What the capture reader hands out: one reused record object, and the list
// of interfaces (link type, snaplen, timestamp resolution) seen so far.

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureInterface {
  /** Normalized link type (see normalizeLinkType). */
  linkType: number;
  /** Maximum captured length; 0 means "no limit" (pcapng). */
  snaplen: number;
  /** if_name (pcapng), when present. */
  name?: string;
  /** Nanoseconds per timestamp tick: 1000 for microseconds, 1 for nanoseconds, 0.1 for 10^-10, ... */
  tsResolutionNs: number;
  /** pcapng section (0 for the first SHB, and for classic pcap) the interface belongs to. */
  section: number;
  /** Interface id within its section, as the file's packet blocks (and tshark 4.0's frame.interface_id) count. */
  localId: number;
  /** FCS bytes at the end of each frame, when the file says (pcap link type bits, pcapng if_fcslen). */
  fcsLen?: number;
}

export interface CaptureRecord {
  /**
   * The captured bytes. For the reader's reused record this is a getter that
   * creates a subarray view (one small allocation) valid only until the next
   * call to next(); hot loops read (buffer, dataOffset, caplen) instead.
   */
  data: Uint8Array;
  /** The buffer holding the captured bytes at [dataOffset, dataOffset + caplen). Same validity as data. */
  buffer: Uint8Array;
  dataOffset: number;
  /** Captured and original (on the wire) length. caplen may exceed len in a corrupt file. */
  caplen: number;
  len: number;
  /**
   * Timestamp: seconds since the epoch and nanoseconds. Classic pcap
   * fractions are passed through unnormalized, like libpcap does, so a
   * corrupt file can give tsNsec >= 1e9; pcapng timestamps are always split
   * exactly (tsNsec < 1e9).
   */
  tsSec: number;
  tsNsec: number;
  /** Normalized link type of the record's interface. */
  linkType: number;
  /**
   * Index into CaptureReader.interfaces, counted across pcapng sections (so
   * a second section's interface 0 is not the first's); 0 for classic pcap.
   * interfaces[interfaceId].localId is the id as written in the section.
   */
  interfaceId: number;
  /** Byte offset in the file of the record header (pcap) or block (pcapng). */
  offset: number;
}

const EMPTY = new Uint8Array(0);

/** The reader's reused record. */
export class ReusedRecord implements CaptureRecord {
  buffer: Uint8Array = EMPTY;
  dataOffset = 0;
  caplen = 0;
  len = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  interfaceId = 0;
  offset = 0;

  get data(): Uint8Array {
    return this.buffer.subarray(this.dataOffset, this.dataOffset + this.caplen);
  }
}

/** An independent copy of a record (its own bytes), safe to keep. */
export function copyRecord(r: CaptureRecord): CaptureRecord {
  const data = r.buffer.slice(r.dataOffset, r.dataOffset + r.caplen);
  return {
    data,
    buffer: data,
    dataOffset: 0,
    caplen: r.caplen,
    len: r.len,
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    linkType: r.linkType,
    interfaceId: r.interfaceId,
    offset: r.offset,
  };
}

/** A format parser fills the record with the next packet; false at a clean end of file. */
export interface FormatParser {
  next(record: ReusedRecord): boolean;
}

// The router's ports as the data plane sees them: MAC, address, prefix and
// MTU per port index, in typed arrays.

/** What the port table reads of a configured port (config/load.ts's PortConfig has it; declared here so the pipeline does not import the config). */
export interface PortSpec {
  name: string;
  /** Six bytes. */
  mac: Uint8Array;
  address: number;
  prefixLen: number;
  mtu: number;
  io?: { offload?: boolean };
}

/** Most ports a router has (port indexes fit the batch's Uint16 rx/tx port arrays with room to spare). */
export const MAX_PORTS = 4096;

export class PortTable {
  readonly count: number;
  readonly names: readonly string[];
  /** 6 bytes per port. */
  readonly mac: Uint8Array;
  readonly address: Uint32Array;
  readonly prefixLen: Uint8Array;
  /** Network mask per port (0 for /0). */
  readonly mask: Uint32Array;
  /** The subnet's broadcast address per port; 0 (never a valid source) for /31 and /32, which have none. */
  readonly broadcast: Uint32Array;
  readonly mtu: Uint32Array;
  /** 1 for an offload TAP or AF_PACKET port (takes TCP super-packets and partial checksums), else 0. */
  readonly offload: Uint8Array;
  /** 1 where the port takes unicast frames for any MAC (replay --promisc: captures made elsewhere), else 0. */
  readonly promiscuous: Uint8Array;

  constructor(ports: readonly PortSpec[], opts: { promiscuous?: boolean } = {}) {
    this.count = ports.length;
    this.names = ports.map((p) => p.name);
    this.mac = new Uint8Array(this.count * 6);
    this.address = new Uint32Array(this.count);
    this.prefixLen = new Uint8Array(this.count);
    this.mask = new Uint32Array(this.count);
    this.broadcast = new Uint32Array(this.count);
    this.mtu = new Uint32Array(this.count);
    this.offload = new Uint8Array(this.count);
    this.promiscuous = new Uint8Array(this.count).fill(opts.promiscuous === true ? 1 : 0);
    ports.forEach((p, i) => {
      this.mac.set(p.mac, i * 6);
      this.address[i] = p.address >>> 0;
      this.prefixLen[i] = p.prefixLen;
      this.mask[i] = p.prefixLen === 0 ? 0 : (0xffffffff << (32 - p.prefixLen)) >>> 0;
      this.broadcast[i] = p.prefixLen < 31 ? (p.address | ~this.mask[i]) >>> 0 : 0;
      this.mtu[i] = p.mtu;
      this.offload[i] = p.io?.offload === true ? 1 : 0;
    });
  }

  /**
   * Addresses besides its own that a port answers ARP for (SNAT pool
   * addresses on their egress port: the upstream must deliver their replies
   * to the router). Few, set once at build.
   */
  private readonly alsoAnswers: number[][] = [];

  /** Makes port `port` answer ARP for `addr` too. */
  answerArpFor(port: number, addr: number): void {
    (this.alsoAnswers[port] ??= []).push(addr >>> 0);
  }

  /** True when `addr` is port `port`'s address or one it answers ARP for. */
  answersArp(port: number, addr: number): boolean {
    if (addr === this.address[port]) return true;
    const extra = this.alsoAnswers[port];
    return extra !== undefined && extra.includes(addr >>> 0);
  }

  indexOf(name: string): number {
    return this.names.indexOf(name);
  }

  /** True when frame bytes b[o, o+6) equal port `port`'s MAC. */
  macEquals(port: number, b: Uint8Array, o: number): boolean {
    const m = this.mac;
    const p = port * 6;
    return b[o] === m[p] && b[o + 1] === m[p + 1] && b[o + 2] === m[p + 2] && b[o + 3] === m[p + 3] && b[o + 4] === m[p + 4] && b[o + 5] === m[p + 5];
  }

  /** True when frame bytes b[o, o+6) are the MAC of any of the router's ports. */
  isOwnMac(b: Uint8Array, o: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.macEquals(i, b, o)) return true;
    return false;
  }

  writeMac(port: number, b: Uint8Array, o: number): void {
    const m = this.mac;
    const p = port * 6;
    b[o] = m[p];
    b[o + 1] = m[p + 1];
    b[o + 2] = m[p + 2];
    b[o + 3] = m[p + 3];
    b[o + 4] = m[p + 4];
    b[o + 5] = m[p + 5];
  }

  /** The port whose connected subnet holds `addr`, or -1. */
  portForAddress(addr: number): number {
    for (let i = 0; i < this.count; i++) if (((addr & this.mask[i]) >>> 0) === ((this.address[i] & this.mask[i]) >>> 0)) return i;
    return -1;
  }
}

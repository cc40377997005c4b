// TCP options (RFC 9293 section 3.2, RFC 7323 window scale and timestamps,
// RFC 2018 SACK).
//
//   kind 0  End of Option List    +--------+
//   kind 1  No-Operation          |  kind  |
//                                 +--------+
//   others                        +--------+--------+------//------+
//                                 |  kind  | length | data (len-2) |
//                                 +--------+--------+------//------+
//   MSS (2, len 4):          16-bit maximum segment size
//   Window scale (3, len 3): shift count
//   SACK permitted (4, len 2)
//   SACK (5, len 2 + 8n):    n blocks of (left edge, right edge), 32 bits each
//   Timestamps (8, len 10):  TSval, TSecr, 32 bits each
//
// EOL ends the list; the bytes after it are padding. A known kind with the
// wrong length is kept as an unknown option (as Linux ignores it), so that
// parse/emit stays byte-exact and the check does not judge option semantics.

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW_SCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMPS = 8;

export interface TcpSackBlock {
  left: number;
  right: number;
}

export type TcpOption =
  | { type: 'nop' }
  | { type: 'mss'; mss: number }
  | { type: 'window-scale'; shift: number }
  | { type: 'sack-permitted' }
  | { type: 'sack'; blocks: TcpSackBlock[] }
  | { type: 'timestamps'; tsVal: number; tsEcr: number }
  /** Any other kind (>= 2), or a known kind with the wrong length: kept raw. */
  | { type: 'unknown'; kind: number; data: Uint8Array };

/**
 * Validates the options in b[start, end): every option other than EOL and NOP
 * has a length byte, length >= 2, and fits. Returns true when well formed.
 */
export function tcpOptionsWellFormed(b: Uint8Array, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    const kind = b[p];
    if (kind === TCPOPT_EOL) return true;
    if (kind === TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return false;
    const len = b[p + 1];
    if (len < 2 || p + len > end) return false;
    p += len;
  }
  return true;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** Decodes b[start, end) up to EOL; never reads past `end` (a malformed option ends the list). */
export function parseTcpOptions(b: Uint8Array, start: number, end: number): TcpOption[] {
  const out: TcpOption[] = [];
  let p = start;
  while (p < end) {
    const kind = b[p];
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      out.push({ type: 'nop' });
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (len < 2 || p + len > end) break;
    if (kind === TCPOPT_MSS && len === 4) {
      out.push({ type: 'mss', mss: (b[p + 2] << 8) | b[p + 3] });
    } else if (kind === TCPOPT_WINDOW_SCALE && len === 3) {
      out.push({ type: 'window-scale', shift: b[p + 2] });
    } else if (kind === TCPOPT_SACK_PERMITTED && len === 2) {
      out.push({ type: 'sack-permitted' });
    } else if (kind === TCPOPT_SACK && len > 2 && (len - 2) % 8 === 0) {
      const blocks: TcpSackBlock[] = [];
      for (let q = p + 2; q < p + len; q += 8) blocks.push({ left: u32(b, q), right: u32(b, q + 4) });
      out.push({ type: 'sack', blocks });
    } else if (kind === TCPOPT_TIMESTAMPS && len === 10) {
      out.push({ type: 'timestamps', tsVal: u32(b, p + 2), tsEcr: u32(b, p + 6) });
    } else {
      out.push({ type: 'unknown', kind, data: b.slice(p + 2, p + len) });
    }
    p += len;
  }
  return out;
}

/** Bytes one option takes on the wire. */
function tcpOptionLength(opt: TcpOption): number {
  switch (opt.type) {
    case 'nop': return 1;
    case 'mss': return 4;
    case 'window-scale': return 3;
    case 'sack-permitted': return 2;
    case 'sack': return 2 + 8 * opt.blocks.length;
    case 'timestamps': return 10;
    case 'unknown': return 2 + opt.data.length;
  }
}

/** Bytes the options take on the wire, before EOL and padding. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const opt of options) n += tcpOptionLength(opt);
  return n;
}

/**
 * Writes `options` into b[start, end) and zero-fills the rest (EOL, then
 * padding). Throws RangeError when they do not fit.
 */
export function writeTcpOptions(options: readonly TcpOption[], b: Uint8Array, start: number, end: number): void {
  const need = tcpOptionsLength(options);
  if (start + need > end) throw new RangeError(`TCP options take ${need} bytes, the header has room for ${end - start}`);
  let p = start;
  for (const opt of options) {
    switch (opt.type) {
      case 'nop':
        b[p] = TCPOPT_NOP;
        break;
      case 'mss':
        b[p] = TCPOPT_MSS;
        b[p + 1] = 4;
        b[p + 2] = opt.mss >>> 8;
        b[p + 3] = opt.mss;
        break;
      case 'window-scale':
        b[p] = TCPOPT_WINDOW_SCALE;
        b[p + 1] = 3;
        b[p + 2] = opt.shift;
        break;
      case 'sack-permitted':
        b[p] = TCPOPT_SACK_PERMITTED;
        b[p + 1] = 2;
        break;
      case 'sack':
        b[p] = TCPOPT_SACK;
        b[p + 1] = 2 + 8 * opt.blocks.length;
        for (let i = 0; i < opt.blocks.length; i++) {
          putU32(b, p + 2 + 8 * i, opt.blocks[i].left);
          putU32(b, p + 6 + 8 * i, opt.blocks[i].right);
        }
        break;
      case 'timestamps':
        b[p] = TCPOPT_TIMESTAMPS;
        b[p + 1] = 10;
        putU32(b, p + 2, opt.tsVal);
        putU32(b, p + 6, opt.tsEcr);
        break;
      case 'unknown':
        b[p] = opt.kind;
        b[p + 1] = 2 + opt.data.length;
        b.set(opt.data, p + 2);
        break;
    }
    p += tcpOptionLength(opt);
  }
  b.fill(0, p, end);
}

/**
 * Offset of the MSS option's 16-bit value among the options at b[start, end),
 * or -1 when there is none. For MSS clamping on SYNs: walks without allocating.
 */
export function tcpFindMssOffset(b: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const kind = b[p];
    if (kind === TCPOPT_EOL) return -1;
    if (kind === TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return -1;
    const len = b[p + 1];
    if (len < 2 || p + len > end) return -1;
    if (kind === TCPOPT_MSS && len === 4) return p + 2;
    p += len;
  }
  return -1;
}

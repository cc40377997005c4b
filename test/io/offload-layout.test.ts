// The offload metadata layout is defined twice: native/src/vnet.h (what the
// bursts read and write) and OffloadMeta / VNET_HDR_* in pipeline/batch.ts
// (what the nodes read and write). The addon exports its side; they must be
// equal, word for word and flag for flag. No root needed.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/io/native.js';
import { OffloadMeta, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_ECN, VNET_HDR_GSO_NONE, VNET_HDR_GSO_TCPV4 } from '../../src/pipeline/batch.js';
import { skipIf } from '../skip.js';
import { nativeSkipReason } from './netns.js';

describe('offload metadata layout: addon (vnet.h) = TypeScript (batch.ts)', skipIf(nativeSkipReason()), () => {
  it('has the same words per slot and the same word for each virtio_net_hdr field', () => {
    const l = loadNative().offloadLayout;
    expect({
      words: l.words,
      flags: l.flags,
      gsoType: l.gsoType,
      hdrLen: l.hdrLenWord,
      gsoSize: l.gsoSize,
      csumStart: l.csumStart,
      csumOffset: l.csumOffset,
    }).toEqual({
      words: OffloadMeta.WORDS,
      flags: OffloadMeta.FLAGS,
      gsoType: OffloadMeta.GSO_TYPE,
      hdrLen: OffloadMeta.HDR_LEN,
      gsoSize: OffloadMeta.GSO_SIZE,
      csumStart: OffloadMeta.CSUM_START,
      csumOffset: OffloadMeta.CSUM_OFFSET,
    });
  });

  it('has the same flag and GSO type values', () => {
    const l = loadNative().offloadLayout;
    expect([l.fNeedsCsum, l.gsoNone, l.gsoTcpV4, l.gsoEcn]).toEqual([VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_NONE, VNET_HDR_GSO_TCPV4, VNET_HDR_GSO_ECN]);
  });

  it('keeps the words in the field order of the 10-byte struct virtio_net_hdr (linux/virtio_net.h)', () => {
    const l = loadNative().offloadLayout;
    expect(l.hdrLen).toBe(10);
    // u8 flags, u8 gso_type, then __virtio16 hdr_len, gso_size, csum_start, csum_offset.
    expect([l.hdrFlagsAt, l.hdrGsoTypeAt, l.hdrHdrLenAt, l.hdrGsoSizeAt, l.hdrCsumStartAt, l.hdrCsumOffsetAt]).toEqual([0, 1, 2, 4, 6, 8]);
    const byOffset = [l.flags, l.gsoType, l.hdrLenWord, l.gsoSize, l.csumStart, l.csumOffset];
    expect(byOffset).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

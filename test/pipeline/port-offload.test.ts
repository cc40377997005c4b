// Which ports the pipeline hands TCP super-packets and partial checksums to
// whole (PortTable.offload): an AF_PACKET port unless told `offload: false`
// (it takes the interface's offloads as they come), a TAP only with
// `offload: true`. Every other port gets them segmented and completed.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { PortTable } from '../../src/pipeline/ports.js';

describe('PortTable.offload', () => {
  it('is on for afpacket ports by default and off with offload: false; on for TAPs only with offload: true', () => {
    const c = parseConfig(
      `ports:
  - { name: a, address: 192.0.2.1/24, io: { type: afpacket, interface: veth0 } }
  - { name: b, address: 198.51.100.1/24, io: { type: afpacket, interface: veth1, offload: false } }
  - { name: c, address: 203.0.113.1/24, io: { type: tap, offload: true } }
  - { name: d, address: 198.18.0.1/24, io: { type: tap } }
  - { name: e, address: 198.18.1.1/24 }
`,
      't',
      '.',
    );
    expect(c.ports.map((p) => p.io.offload)).toEqual([true, false, true, false, false]);
    expect(Array.from(new PortTable(c.ports).offload)).toEqual([1, 0, 1, 0, 0]);
  });

  it('names the field when offload is not a boolean', () => {
    expect(() => parseConfig('ports:\n  - { name: a, address: 192.0.2.1/24, io: { type: afpacket, interface: veth0, offload: yes please } }\n', 't', '.')).toThrow(/ports\[0\]\.io\.offload/);
  });
});

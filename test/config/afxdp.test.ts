// The afxdp port type in the config: its defaults, and each mistake named by
// field and reason (the proto check and zod together, as load.ts reports them).
import { describe, expect, it } from 'vitest';
import { AFXDP_MAX_MTU } from '../../src/config/schema.js';
import { XSK_FRAME_BYTES } from '../../src/io/af-xdp-port.js';
import { configProblems } from './config-problems.js';
import { loadPortIo as load, portIoProblems as problems } from './port-io.js';
import { parseConfig } from '../../src/config/load.js';

describe('io: { type: afxdp }', () => {
  it('takes an interface and fills in mode auto, xdpMode auto, 16384 frames, no offload', () => {
    expect(load('{ type: afxdp, interface: veth0 }').ports[0].io).toEqual({ type: 'afxdp', interface: 'veth0', mode: 'auto', xdpMode: 'auto', frames: 16384, offload: false });
  });

  it('keeps the modes and frame count it is given', () => {
    expect(load('{ type: afxdp, interface: veth0, mode: copy, xdpMode: generic, frames: 1024 }').ports[0].io).toMatchObject({ mode: 'copy', xdpMode: 'generic', frames: 1024 });
  });

  it('needs an interface', () => {
    expect(problems('{ type: afxdp }')).toEqual([expect.stringMatching(/^ports\[0\]\.io\.interface: /)]);
  });

  it('names the modes it knows', () => {
    expect(problems('{ type: afxdp, interface: veth0, mode: fast }')).toEqual([expect.stringMatching(/^ports\[0\]\.io\.mode: .*"auto".*"copy".*"zerocopy"/)]);
    expect(problems('{ type: afxdp, interface: veth0, xdpMode: offload }')).toEqual([expect.stringMatching(/^ports\[0\]\.io\.xdpMode: .*"auto".*"native".*"generic"/)]);
  });

  it('wants a power of two from 64 to 65536 frames', () => {
    expect(problems('{ type: afxdp, interface: veth0, frames: 1000 }')).toEqual(['ports[0].io.frames: must be a power of two']);
    expect(problems('{ type: afxdp, interface: veth0, frames: 32 }')).toEqual(['ports[0].io.frames: must be at least 64']);
    expect(problems('{ type: afxdp, interface: veth0, frames: 131072 }')).toEqual(['ports[0].io.frames: must be at most 65536']);
  });

  it('refuses offload: AF_XDP carries no offload metadata', () => {
    expect(problems('{ type: afxdp, interface: veth0, offload: true }')).toEqual(['ports[0].io.offload: must be false: AF_XDP carries no offload metadata']);
  });

  it('refuses an MTU whose frames do not fit a UMEM chunk (4 KiB less the 256 bytes of XDP headroom): the socket could carry none of them', () => {
    expect(AFXDP_MAX_MTU).toBe(XSK_FRAME_BYTES - 256 - 14);
    const port = (mtu: number) => `ports:\n  - { name: lan, address: 192.0.2.1/24, mtu: ${mtu}, io: { type: afxdp, interface: veth0 } }\n`;
    expect(configProblems(port(3827))).toEqual([
      "ports[0].mtu: must be at most 3826 on an afxdp port (a frame must fit one 4 KiB UMEM chunk after the kernel's 256 bytes of XDP headroom)",
    ]);
    expect(parseConfig(port(3826), 'c.yaml', '.').ports[0].mtu).toBe(3826);
    // Out of every port's range: that message alone.
    expect(configProblems(port(9217))).toEqual([expect.stringMatching(/^ports\[0\]\.mtu: must be 68-9216 /)]);
  });

  it('refuses a field of another io type', () => {
    expect(problems('{ type: afxdp, interface: veth0, netns: x }')).toEqual([expect.stringMatching(/^ports\[0\]\.io.*netns/)]);
  });
});

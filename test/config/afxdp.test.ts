// The afxdp port type in the config: its defaults, and each mistake named by
// field and reason (the proto check and zod together, as load.ts reports them).
import { describe, expect, it } from 'vitest';
import { loadPortIo as load, portIoProblems as problems } from './port-io.js';

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

  it('refuses a field of another io type', () => {
    expect(problems('{ type: afxdp, interface: veth0, netns: x }')).toEqual([expect.stringMatching(/^ports\[0\]\.io.*netns/)]);
  });
});

// The afpacket port type's receive ring in the config (io.ring, frames,
// blockTimeoutMs): its defaults, and each mistake named by field and reason.
import { describe, expect, it } from 'vitest';
import { afPacketRingVersion } from '../../src/runtime/port-setup.js';
import { loadPortIo as load, portIoProblems as problems } from './port-io.js';

type AfPacketIo = Parameters<typeof afPacketRingVersion>[0];

describe('io: { type: afpacket } receive ring', () => {
  it('leaves the layout to the port: no ring with offload (unless frames asks for slots), TPACKET_V2 without', () => {
    expect(load('{ type: afpacket, interface: veth0 }').ports[0].io).toEqual({ type: 'afpacket', interface: 'veth0', offload: true });
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0 }').ports[0].io as AfPacketIo)).toBe(0);
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0, frames: 256 }').ports[0].io as AfPacketIo)).toBe(2);
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0, offload: false }').ports[0].io as AfPacketIo)).toBe(2);
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0, ring: v2 }').ports[0].io as AfPacketIo)).toBe(2);
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0, offload: false, ring: none }').ports[0].io as AfPacketIo)).toBe(0);
    expect(afPacketRingVersion(load('{ type: afpacket, interface: veth0, ring: v3 }').ports[0].io as AfPacketIo)).toBe(3);
  });

  it('keeps a v2 slot count and a v3 block timeout', () => {
    expect(load('{ type: afpacket, interface: veth0, offload: false, frames: 4096 }').ports[0].io).toMatchObject({ frames: 4096 });
    expect(load('{ type: afpacket, interface: veth0, ring: v3, blockTimeoutMs: 4 }').ports[0].io).toMatchObject({ ring: 'v3', blockTimeoutMs: 4 });
  });

  it('names the layouts it knows', () => {
    expect(problems('{ type: afpacket, interface: veth0, ring: v1 }')).toEqual([expect.stringMatching(/^ports\[0\]\.io\.ring: .*"v2".*"v3".*"none"/)]);
  });

  it('wants a power of two from 64 to 65536 slots, at most 1024 of 68 KiB with offload', () => {
    expect(problems('{ type: afpacket, interface: veth0, offload: false, frames: 1000 }')).toEqual(['ports[0].io.frames: must be a power of two']);
    expect(problems('{ type: afpacket, interface: veth0, offload: false, frames: 32 }')).toEqual(['ports[0].io.frames: must be at least 64']);
    expect(problems('{ type: afpacket, interface: veth0, frames: 4096 }')).toEqual([expect.stringMatching(/^ports\[0\]\.io\.frames: must be at most 1024 with offload/)]);
  });

  it('refuses an option of the other layout', () => {
    expect(problems('{ type: afpacket, interface: veth0, ring: v3, frames: 256 }')).toEqual(['ports[0].io.frames: applies to ring v2 only (v3 packs frames into blocks)']);
    expect(problems('{ type: afpacket, interface: veth0, ring: none, frames: 256 }')).toEqual(['ports[0].io.frames: applies to ring v2 only (none has no ring)']);
    expect(problems('{ type: afpacket, interface: veth0, ring: none, blockTimeoutMs: 2 }')).toEqual(['ports[0].io.blockTimeoutMs: applies to ring v3 only (v2 hands each frame over at once)']);
    expect(problems('{ type: afpacket, interface: veth0, blockTimeoutMs: 2 }')).toEqual(['ports[0].io.blockTimeoutMs: applies to ring v3 only (v2 hands each frame over at once)']);
  });

  it('wants a block timeout of 1 to 1000 ms', () => {
    expect(problems('{ type: afpacket, interface: veth0, ring: v3, blockTimeoutMs: 0 }')).toEqual(['ports[0].io.blockTimeoutMs: must be at least 1']);
  });
});

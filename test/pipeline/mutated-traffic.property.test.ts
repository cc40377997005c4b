// Hostile traffic at a router with every stateful feature on: masquerade and
// port forwards (NAT, address-dependent filtering, the cloud-nat profile's
// per-host port limit), VPC firewall rules and a NetworkPolicy, load-balanced
// VIPs in nat, dsr-l2 and dsr-ipip mode (with ClientIP affinity), IPv4
// reassembly, static neighbors for every host, and a flow table small enough
// to fill, evict and run out of ports (hostile-traffic.ts has the config).
//
// fast-check writes a script of batches: frames built from valid templates
// (TCP with any flags both ways, UDP, ICMP queries and errors quoting what
// the router sent, fragments in any order and across batches, IPv4 options,
// traffic to the VIPs, the port forwards and the router itself, replies to
// the NAT ports the router actually handed out, learnt from what it sent),
// some of them mutated (bytes flipped in the Ethernet, IPv4 and L4 headers,
// cut short, padded, wrong lengths, checksums, IHL, version, fragment fields,
// addresses; the IPv4 checksum mended afterwards half the time so the damage
// gets past ip4-input), and garbage; in batches of any size, now and then on
// the wrong port, the clock moved on by anything from nothing to 25 minutes
// between batches (timeouts, the sweep, reassembly and affinity expiry), with
// the fused fast path on or off. The run (runScript) checks after every
// batch: nothing threw, every frame sent is sound (frameProblems), every
// received frame has one fate (accountingProblems); every few batches and at
// the end, the flow table, its index, the NAT holds and ports and the load
// balancer's counts agree (flowStateProblems). Valid traffic alone must also
// come out with every checksum right (checksumProblems).
//
// A failure reports fast-check's seed and path: `{ seed, path }` in the
// assert's options replays it, and runScript's onBatch option shows each
// batch's frames in and out. The search, and the shrinking of a failure,
// stop after TIME_LIMIT_MS (a run takes ~50 ms), so a failure is reported
// before the test's timeout, and a slow machine runs fewer scripts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScript, scriptOf, type RunResult } from './hostile-traffic.js';

const TIME_LIMIT_MS = 30_000;

function runAll(hostile: boolean, numRuns: number): RunResult {
  const totals = { batches: 0, frames: 0, sent: 0 };
  fc.assert(
    fc.property(scriptOf(hostile), fc.boolean(), (script, fastPath) => {
      const r = runScript(script, fastPath, { checksums: !hostile });
      totals.batches += r.batches;
      totals.frames += r.frames;
      totals.sent += r.sent;
    }),
    { numRuns, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
  );
  return totals;
}

describe('mutated and hostile traffic through a router with every stateful feature on', () => {
  it('never throws, sends only sound frames, gives every received frame one fate and keeps its state consistent', () => {
    const totals = runAll(true, 30);
    // The traffic reached the router's state, not only its door.
    expect(totals.sent).toBeGreaterThan(totals.frames / 10);
  });

  it('valid traffic alone: the same, and every checksum of every frame sent verifies', () => {
    const totals = runAll(false, 12);
    expect(totals.sent).toBeGreaterThan(totals.frames / 5);
  });
});

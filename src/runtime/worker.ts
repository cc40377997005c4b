// The packet worker thread: builds its own Router over the published tables,
// opens (or adopts) its port queues, and runs the loop until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { AfPacketPort } from '../io/af-packet-port.js';
import { AfXdpPort } from '../io/af-xdp-port.js';
import { IoCounter, loadNative } from '../io/native.js';
import type { PacketPort } from '../io/port.js';
import { TapPort } from '../io/tap-port.js';
import { PortWaiter } from '../io/wait.js';
import { Batch, HEADROOM, slotBytesForMtu } from '../pipeline/batch.js';
import { Router } from '../pipeline/router.js';
import { NexthopTable } from '../route/nexthops.js';
import type { WorkerInit, WorkerMessage } from './worker-init.js';
import { RunLoop } from './run-loop.js';
import { RING_BOUNDED_COALESCE_US, RING_BOUNDED_TARGET_FRAMES } from './rx-coalesce.js';
import { NeighborSync } from '../arp/neighbor-sync.js';
import { parseTraceFilter } from '../trace/filter.js';
import { PacketTracer, TraceBudget } from '../trace/tracer.js';
import { ControlReceiver } from './control-channel.js';
import { MirrorViews } from './fib-mirror.js';
import { applyUpdate, type LiveTraceRequest, type TableUpdate, type UpdateTarget } from './table-update.js';

const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
/** The longest nap of an idle worker under DATAPLANE_XSK_WAIT=nap (see there), microseconds. */
const XSK_NAP_WAIT_US = 200;

function openPorts(batch: Batch): (PacketPort | undefined)[] {
  let xdpArea = 0;
  return init.ports.map((plan, index) => {
    const counters = new Float64Array(init.ioCounters, index * IoCounter.COUNT * 8, IoCounter.COUNT);
    if (plan.type === 'tap') return TapPort.adopt(plan.fd, plan.ifname, plan.vnetHdrLen, index, plan.offload, counters);
    if (plan.type === 'afxdp') {
      const areaOffset = xdpArea;
      if (plan.queue >= 0) xdpArea += AfXdpPort.areaBytes(plan.frames);
      try {
        return AfXdpPort.open(plan.ifname, { index, queue: plan.queue, mapFd: plan.mapFd, batch, areaOffset, frames: plan.frames, bind: plan.bind, counters });
      } catch (e) {
        if (e instanceof Error) e.message = `port ${plan.port}: ${e.message}`;
        throw e;
      }
    }
    const ring = plan.ring;
    return AfPacketPort.open(plan.ifname, {
      index, fanoutGroup: plan.fanoutGroup, fanoutMode: 'hash', offload: plan.offload, counters,
      ringVersion: ring.version === 0 ? 2 : ring.version, rxRing: ring.version !== 0, frameCount: ring.frames, retireTimeoutMs: ring.blockTimeoutMs,
    });
  });
}

/** Bytes of the batch's port area: the UMEMs of this worker's AF_XDP sockets. */
function xdpAreaBytes(): number {
  let bytes = 0;
  for (const p of init.ports) if (p.type === 'afxdp' && p.queue >= 0) bytes += AfXdpPort.areaBytes(p.frames);
  return bytes;
}

/** The frame target of a ring-bounded nap; DATAPLANE_XSK_NAP_FRAMES=N sets another, for A/B runs (bench/live/afxdp-probe.ts --env). */
function ringNapTargetFrames(): number {
  const text = process.env.DATAPLANE_XSK_NAP_FRAMES;
  if (text === undefined || text === '') return RING_BOUNDED_TARGET_FRAMES;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 2 || n > 65_536) throw new RangeError(`DATAPLANE_XSK_NAP_FRAMES must be an integer 2..65536 (got '${text}')`);
  return n;
}

/** The addon's nap for receive coalescing (rx-coalesce.ts), bound once: no closure per call. */
function napOf(): ((us: number) => void) | undefined {
  const io = loadNative();
  return io.napUs === undefined ? undefined : io.napUs.bind(io);
}

let ports: (PacketPort | undefined)[] = [];
try {
  // Pinned first (worker-cpus.ts), so the memory it sets up next is touched from its own CPU.
  if (init.cpu !== undefined) loadNative().threadSetAffinity([init.cpu]);
  else loadNative();
  // An offload port hands over 64 KiB super-packets: every slot must hold one.
  // Otherwise a slot holds a frame of the largest port MTU, as in replay: with
  // 2048-byte slots a jumbo port's frames (MTU 9000) were read cut short and
  // dropped as ip4-input/bad-total-length. A port's MTU cannot change by a
  // reload (reload.ts), so the size chosen here holds for the worker's life.
  // AF_XDP sockets receive into their UMEM, which lives in the batch arena.
  const largeSlots = init.ports.some((p) => p.offload);
  const mtuSlotBytes = slotBytesForMtu(Math.max(0, ...init.config.ports.map((p) => p.mtu)));
  const batch = new Batch({ shared: false, largeSlots, slotBytes: largeSlots ? undefined : mtuSlotBytes, portAreaBytes: xdpAreaBytes() });
  ports = openPorts(batch);
  const fibs = new MirrorViews();
  const router = new Router(init.config, fibs.take(init.fib), NexthopTable.fromPlain(init.nexthops), {
    batchCapacity: batch.capacity,
    // The ARP queue keeps datagrams up to the largest MTU (2048 entries of 64 KiB would be 128 MB); super-packets are not queued.
    maxFrame: Math.min(batch.maxFrame, mtuSlotBytes - HEADROOM),
    counterBuffer: () => init.counters,
    neighborSync: new NeighborSync(init.index, init.neighborSync),
    icmpLimit: init.icmpLimit,
    nat: init.nat && { buffers: init.nat, worker: init.index },
    firewallHits: init.firewallHits,
    lb: init.lb && { buffers: init.lb, worker: init.index },
  });
  const portNames = init.config.ports.map((p) => p.name);
  const makeTracer = (t: { filter: string; count: number; budget: SharedArrayBuffer }, session: number) =>
    new PacketTracer(router.graph, parseTraceFilter(t.filter, portNames), new TraceBudget(t.count, t.budget), (packet) => post({ type: 'trace', index: init.index, packet, session }), init.index);
  const tracer = init.trace && makeTracer(init.trace, 0);
  const receiver = new ControlReceiver<TableUpdate>(init.updates.port, init.updates.words);
  const target: UpdateTarget = {
    index: init.index,
    router,
    fibs,
    makeTracer: (req: LiveTraceRequest) => makeTracer(req, req.session),
    setTracer: (t) => loop.setTracer(t),
  };
  // Inputs that are all AF_XDP sockets nap bounded by their fill rings, so they can nap longer (rx-coalesce.ts).
  // DATAPLANE_XSK_NAP=plain: the plain nap and its cap instead, for A/B runs (bench/live/afxdp-probe.ts --env).
  const inputs = ports.filter((p): p is PacketPort => p !== undefined);
  const xsks = inputs.filter((p): p is AfXdpPort => p instanceof AfXdpPort);
  const ringNap = xsks.length === inputs.length && process.env.DATAPLANE_XSK_NAP !== 'plain' ? AfXdpPort.ringBoundedNap(xsks) : undefined;
  // DATAPLANE_XSK_WAIT=nap (an experiment switch, issue 13's collapse at 100% of trafgen): an idle worker whose
  // inputs are all XSKs naps XSK_NAP_WAIT_US at a time (nanosleep, its own CPU's timer) instead of sleeping in
  // poll() on the sockets. poll()'s wake-up comes from the generator's softirq (the veth NAPI that copies the
  // frame into the XSK) as a sync wake-up, and the scheduler then places the worker on the generator's CPU
  // (trafgen --cpus 1 pins itself to CPU 0): sampled every 10 ms under trafgen unlimited (load 4-6), the
  // worker was on trafgen's CPU in 161 and 32 of 200 samples (poll), 20 and 1 (this nap), 0 and 0
  // (--busy-poll). Live quick bench (DP_LIVE_ONLY='afxdp 1w', 3 alternating rounds, load 1.6-3, generator max
  // 1.26-1.44 Mpps): 100% row 0.64, 0.42, 0.61 Mpps (poll) against 0.78, 0.79, 0.57 (nap); loss at 80% 0.1,
  // 3.5, 7.1% (poll) against 0.0, 0.0, 0.0% (nap). No 10x collapse in either on this shared machine that day.
  // Not the default: idle, it wakes ~5000 times a second (unmeasured CPU), and the control channel's wake fd
  // no longer ends its sleep (a change waits up to XSK_NAP_WAIT_US). `run --cpus` (worker-cpus.ts) keeps the
  // worker off the generator's CPU without either cost; the live bench pins it (bench/live/live.ts dataplaneCpus).
  const xskNapWait = ringNap !== undefined && process.env.DATAPLANE_XSK_WAIT === 'nap';
  const waiter = new PortWaiter(ports.filter((p): p is PacketPort => p !== undefined), init.wakeFd ?? -1);
  const loop = new RunLoop({
    router,
    batch,
    inputs,
    outputs: ports,
    portStats: new Float64Array(init.portStats),
    control: new Int32Array(init.control),
    busyTime: new Float64Array(init.busyTime),
    // Marked idle while it sleeps: a change then does not wait for this worker (control-channel.ts).
    wait: xskNapWait ? (ms) => receiver.idleWait(() => ringNap(Math.min(ms * 1000, XSK_NAP_WAIT_US)), undefined) : (ms) => receiver.idleWait(() => waiter.wait(ms), 0),
    busyPoll: init.busyPoll,
    spinMaxUs: init.spinMaxUs,
    nap: ringNap ?? napOf(),
    coalesceMaxUs: init.coalesceMaxUs ?? (ringNap !== undefined ? RING_BOUNDED_COALESCE_US : undefined),
    coalesceTargetFrames: ringNap !== undefined ? ringNapTargetFrames() : undefined,
    tracer,
    updates: {
      pending: () => receiver.pending(),
      apply: () => receiver.drain((m) => applyUpdate(m, target)),
    },
    onPortGone: (port, e) => post({ type: 'port-gone', index: init.index, port, message: e instanceof Error ? e.message : String(e) }),
  });
  // Set up at normal priority; forward at SCHED_FIFO when asked (sched.cc says why).
  if (init.realtimePriority !== undefined) loadNative().threadSetRealtime(init.realtimePriority);
  const xskBinds = ports.flatMap((p, port) => (p instanceof AfXdpPort && p.queue >= 0 ? [{ port, queue: p.queue, mode: p.bindMode }] : []));
  post({ type: 'ready', index: init.index, xskBinds });
  loop.run();
} catch (e) {
  post({ type: 'error', index: init.index, message: e instanceof Error ? e.message : String(e) });
} finally {
  // TAP fds belong to the main thread, which closes them; AF_PACKET rings and AF_XDP sockets are ours.
  for (const p of ports) if (p instanceof AfPacketPort || p instanceof AfXdpPort) p.close();
  post({ type: 'stopped', index: init.index });
}

// Main-thread port setup for `dataplane run`: creates each TAP (one queue per
// worker, opened before the TAP moves to another namespace, since a queue is
// attached by name in the namespace it lives in), moves it and configures
// its kernel side like a CNI plugin would, and checks AF_PACKET interfaces.
// Everything made here is undone by teardown(): closing the last queue of a
// non-persistent TAP deletes it, wherever it lives. First of all it takes
// the lock of every port (port-lock.ts), so a second dataplane on the same
// ports refuses before it touches anything; TAPs are created with
// IFF_TUN_EXCL, so one that exists already is never joined either.
//
// AF_PACKET ports adapt to the interface's offloads rather than changing
// them: the super-frames come from the veth's peer (a container's eth0 does
// TSO/GSO by default), which lives in a namespace the dataplane does not own
// and a Docker user cannot easily change; turning our end's features off
// would not stop them and would outlive the process. So the port takes them
// (io.offload, the default) and says at start what it cannot take.
import type { PortConfig, RouterConfig } from '../config/load.js';
import { nsRun, nsTry, run } from '../host/commands.js';
import { CommandError } from '../host/commands.js';
import { isIoError, loadNative, type XdpAttachment } from '../io/native.js';
import { TapPort } from '../io/tap-port.js';
import { ipv4ToString, macToString } from '../wire/address.js';
import { lockDir, lockPorts, NetnsNotFoundError, PortBusyError, tapHolders, type PortLocks } from './port-lock.js';
import type { PortPlan, XskBind } from './worker-init.js';

export interface PortSetup {
  /** plans[worker][port] */
  plans: PortPlan[][];
  /** Config with MACs filled in from AF_PACKET interfaces where the config gave none. */
  config: RouterConfig;
  /** Closes the TAP queues (deleting the TAPs). Idempotent. */
  teardown(): void;
  /** One line per port for the startup log (an afxdp port's says the bind mode asked for: the sockets open in the workers). */
  describe: string[];
  /** `describe` with each afxdp port's bind mode as the kernel gave it to the workers' sockets. */
  describeBound(binds: readonly XskBind[]): string[];
}

/** The modes of one port's sockets in words: one mode, or each queue's when they differ. */
function bindText(binds: readonly XskBind[]): string {
  const modes = new Set(binds.map((b) => b.mode));
  if (modes.size <= 1) return [...modes][0] ?? 'no socket';
  return [...binds].sort((a, b) => a.queue - b.queue).map((b) => `${b.mode} on queue ${b.queue}`).join(', ');
}

/** `netns` as `ip link set ... netns` takes it: a name, or the PID of /proc/PID/ns/net (nsRun takes a name or any path). */
function netnsArg(netns: string): string {
  const m = /^\/proc\/(\d+)\/ns\/net$/.exec(netns);
  return m ? m[1] : netns;
}

function setupTap(p: PortConfig, workers: number, opened: TapPort[][]): { plans: PortPlan[]; line: string } {
  if (p.io.type !== 'tap') throw new Error('not a tap port');
  const io = loadNative();
  const ifname = p.io.ifname ?? p.name;
  let queues: TapPort[];
  try {
    queues = TapPort.openQueues(ifname, workers, { vnetHdr: p.io.vnetHdr, offload: p.io.offload, index: p.index, exclusive: true });
  } catch (e) {
    if (!isIoError(e) || e.code !== 'EBUSY') throw e;
    // Not another dataplane's lock (that was checked first): a TAP of a process not under /run/dataplane, or a persistent one.
    const holders = tapHolders(ifname);
    throw new PortBusyError(
      `port ${p.name}: interface ${ifname} already exists in the dataplane's network namespace` +
        (holders.length > 0 ? `; a TAP of that name is held open by ${holders.join(', ')}` : ' (a persistent TAP or another device: see `ip -d link show ' + ifname + '`)') +
        '; the dataplane creates its TAPs and never joins one',
    );
  }
  opened.push(queues);
  const name = queues[0].name;
  io.ifSetMtu(name, p.mtu);
  const netns = p.io.netns;
  let line = `${p.name}: tap ${name} (${workers} queue${workers > 1 ? 's' : ''}), ${ipv4ToString(p.address)}/${p.prefixLen} mtu ${p.mtu}`;
  if (p.io.offload) line += ', offload (csum, tso4)';
  if (netns === undefined) {
    io.ifSetUp(name, true);
  } else {
    run('ip', ['link', 'set', 'dev', name, 'netns', netnsArg(netns)]);
    let inner = name;
    if (p.io.peerName !== undefined && p.io.peerName !== name) {
      nsRun(netns, 'ip', ['link', 'set', 'dev', name, 'name', p.io.peerName]);
      inner = p.io.peerName;
    }
    // The kernel side speaks IPv4 only: no router solicitations or DAD noise on the port.
    // Best effort: a missing key (IPv6 disabled in the kernel) is not an error.
    // Slashes, not dots, between the key's parts: sysctl reads every dot as one, so "wan.1" would be wan/1.
    nsTry(netns, 'sysctl', ['-qw', `net/ipv6/conf/${inner}/disable_ipv6=1`]);
    nsRun(netns, 'ip', ['link', 'set', 'dev', inner, 'up']);
    if (p.io.peerAddress !== undefined) {
      nsRun(netns, 'ip', ['addr', 'add', p.io.peerAddress, 'dev', inner]);
      nsRun(netns, 'ip', ['route', 'replace', 'default', 'via', ipv4ToString(p.address), 'dev', inner]);
      line += `; kernel side ${inner} in ${netns} with ${p.io.peerAddress}, default via ${ipv4ToString(p.address)}`;
    } else {
      line += `; kernel side ${inner} in ${netns}`;
    }
  }
  return { plans: queues.map((q) => ({ type: 'tap', ifname: name, fd: q.fd, vnetHdrLen: q.vnetHdrLen, offload: q.offload })), line };
}

/** An AF_PACKET port's receive ring, for its start-up line. */
/**
 * The receive ring an afpacket port gets (`io.ring`): without one (0) by
 * default with offload, where frames are mostly 64 KiB super-frames that a
 * ring would make the worker copy twice; TPACKET_V2 by default without, or
 * when `frames` asks for ring slots.
 */
export function afPacketRingVersion(io: { offload: boolean; ring?: 'v2' | 'v3' | 'none'; frames?: number }): 0 | 2 | 3 {
  const ring = io.ring ?? (io.offload && io.frames === undefined ? 'none' : 'v2');
  return ring === 'none' ? 0 : ring === 'v3' ? 3 : 2;
}

function afPacketRingNote(ring: { version: 0 | 2 | 3; frames?: number; blockTimeoutMs?: number }): string {
  if (ring.version === 0) return 'none: frames received straight into their slots';
  if (ring.version === 3) return `v3, blocks handed over after ${ring.blockTimeoutMs ?? 1} ms at the latest`;
  return ring.frames === undefined ? 'v2' : `v2, ${ring.frames} slots`;
}

/** What an AF_PACKET port does with the interface's offloads, for its start-up line. */
function afPacketOffloadNote(port: string, ifname: string, offload: boolean): string {
  if (!offload) {
    return `offload off: expects TSO/GSO/GRO and checksum offload off on ${ifname} and its peer ` +
      `(a super-frame would be dropped, counted as io/${port}/rx-oversize)`;
  }
  return `offload on (TCP/IPv4 super-frames from TSO/GSO/GRO and partial checksums taken as they come, routed whole); ` +
    `unsupported on ${ifname}: UDP GSO (USO), TCP/IPv6 GSO and GSO over tunnels, dropped and counted as io/${port}/rx-offload-unsupported`;
}

/**
 * Attaches the XSK redirect program to an afxdp port's interface and plans
 * one socket per receive queue: queue w for worker w. A worker beyond the
 * queues only sends on the port; a queue beyond the workers would have
 * nobody to read it, so that is an error saying what to change.
 */
function setupAfXdp(p: PortConfig, workers: number, attached: XdpAttachment[]): { plans: PortPlan[]; line: (bound: string | undefined) => string } {
  if (p.io.type !== 'afxdp') throw new Error('not an afxdp port');
  const io = loadNative();
  const ifname = p.io.interface;
  let a: XdpAttachment;
  try {
    a = io.xdpAttach(ifname, { mode: p.io.xdpMode });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CommandError(`port ${p.name}: cannot attach XDP to ${ifname}: ${why}`, { cause: e });
  }
  attached.push(a);
  if (a.queues > workers) {
    throw new CommandError(
      `port ${p.name}: ${ifname} has ${a.queues} receive queues and the dataplane runs ${workers} worker${workers > 1 ? 's' : ''}; ` +
        `AF_XDP serves each queue by one worker: run with --workers ${a.queues}, or lower the queues (ethtool -L ${ifname} rx ${workers} or combined ${workers})`,
    );
  }
  if (p.macDefaulted) p.mac = Uint8Array.from(io.ifHwAddr(ifname));
  io.ifSetUp(ifname, true);
  const { mode: bind, frames } = p.io;
  const plans: PortPlan[] = Array.from({ length: workers }, (_, w) => ({ type: 'afxdp', port: p.name, ifname, queue: w < a.queues ? w : -1, mapFd: a.mapFd, bind, frames, offload: false }));
  // The kernel picks copy or zero-copy for `auto` when a worker binds its socket: the line says what it gave once the workers are up.
  const line = (bound: string | undefined) =>
    `${p.name}: afxdp ${ifname} (${a.queues} queue${a.queues > 1 ? 's' : ''}, XDP ${a.mode}${a.note === '' ? '' : `: ${a.note}`}, ` +
    `bind ${bound === undefined ? `${bind} (asked)` : `${bound} (mode ${bind})`}, ${frames} frames per socket), ` +
    `${ipv4ToString(p.address)}/${p.prefixLen} mac ${macToString(p.mac, 0)} mtu ${p.mtu}` +
    (workers > a.queues ? `; workers ${a.queues}-${workers - 1} only send on it (one queue per worker)` : '');
  return { plans, line };
}

export function setupPorts(config: RouterConfig, workers: number): PortSetup {
  const io = loadNative();
  let locks: PortLocks;
  try {
    locks = lockPorts(config.ports);
  } catch (e) {
    if (e instanceof NetnsNotFoundError) throw new CommandError(e.message, { cause: e });
    const syscall = (e as NodeJS.ErrnoException).syscall;
    if (syscall === 'mkdir' || syscall === 'open') {
      throw new CommandError(`cannot take the port locks in ${lockDir()}: ${(e as Error).message} (run as root, or set DATAPLANE_LOCK_DIR)`, { cause: e });
    }
    throw e;
  }
  const opened: TapPort[][] = [];
  const attached: XdpAttachment[] = [];
  const teardown = () => {
    for (const qs of opened.splice(0)) for (const q of qs) q.close();
    for (const a of attached.splice(0)) io.xdpDetach(a.linkFd, a.progFd, a.mapFd);
    // After the TAPs are gone: a successor that starts now finds none of ours.
    locks.release();
  };
  const perPort: PortPlan[][] = [];
  const describe: string[] = [];
  /** describe's index of each afxdp port's line -> the port index and its line given the bind mode. */
  const afxdpLines = new Map<number, { port: number; line: (bound: string | undefined) => string }>();
  const ports = config.ports.map((p) => ({ ...p }));
  try {
    for (const p of ports) {
      if (p.io.type === 'tap') {
        const { plans, line } = setupTap(p, workers, opened);
        perPort.push(plans);
        describe.push(line);
      } else if (p.io.type === 'afxdp') {
        const { plans, line } = setupAfXdp(p, workers, attached);
        perPort.push(plans);
        afxdpLines.set(describe.length, { port: p.index, line });
        describe.push(line(undefined));
      } else {
        const ifname = p.io.interface;
        io.ifIndex(ifname); // throws "interface NAME not found"
        if (p.macDefaulted) p.mac = Uint8Array.from(io.ifHwAddr(ifname));
        io.ifSetUp(ifname, true);
        const group = (process.pid * 7 + p.index) & 0xffff;
        const offload = p.io.offload;
        const ring = { version: afPacketRingVersion(p.io), frames: p.io.frames, blockTimeoutMs: p.io.blockTimeoutMs } as const;
        perPort.push(Array.from({ length: workers }, () => ({ type: 'afpacket', ifname, fanoutGroup: group, offload, ring })));
        describe.push(`${p.name}: afpacket ${ifname} (fanout group ${group}, ring ${afPacketRingNote(ring)}), ${ipv4ToString(p.address)}/${p.prefixLen} mac ${macToString(p.mac, 0)} mtu ${p.mtu}, ${afPacketOffloadNote(p.name, ifname, offload)}`);
      }
    }
  } catch (e) {
    teardown();
    throw e;
  }
  const offload = ports.filter((p) => p.io.offload).map((p) => p.name);
  const plain = ports.filter((p) => !p.io.offload).map((p) => p.name);
  if (offload.length > 0 && plain.length > 0) {
    describe.push(
      `note: TCP super-packets from offload ports (${offload.join(', ')}) routed to ${plain.join(', ')} ` +
        '(no offload there) are segmented in software (ip4-gso/segments-made), which costs more than passing them on whole',
    );
  }
  const plans = Array.from({ length: workers }, (_, w) => perPort.map((pp) => pp[w]));
  const describeBound = (binds: readonly XskBind[]) =>
    describe.map((text, i) => {
      const x = afxdpLines.get(i);
      return x === undefined ? text : x.line(bindText(binds.filter((b) => b.port === x.port)));
    });
  return { plans, config: { ...config, ports }, teardown, describe, describeBound };
}

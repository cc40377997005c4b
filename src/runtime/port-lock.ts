// One dataplane per port. Two `dataplane run` on the same interface both
// start and both forward: on AF_PACKET each gets every frame (each in its own
// fanout group), so every packet goes out twice; a TAP in the dataplane's
// own namespace gains the second one's queues and the kernel splits flows
// between two routers. So before touching a port, `run` takes an exclusive
// flock on /run/dataplane/<netns>-<interface>.lock and writes its pid and
// command line into it; a second one finds the lock held and refuses,
// naming the first.
//
// The interface is named where it lives while the dataplane runs: a TAP
// moved into a namespace by its kernel-side name there (peerName), anything
// else in the dataplane's own namespace. Namespaces are told apart by the
// inode of their nsfs file, which is what `ip netns identify` compares.
//
// flock belongs to the open file, so the kernel releases it when the process
// exits, however it exits (SIGKILL, a crash): a lock file left behind by a
// dead process never blocks. A clean stop deletes its lock files, while
// still holding them; a process that opened the file just before that and
// gets the lock after it sees that the path now names another file (or
// none), and starts over with the path's current file.
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PortConfig } from '../config/load.js';
import { loadNative } from '../io/native.js';

/** Where the lock files live; DATAPLANE_LOCK_DIR overrides (tests). */
export function lockDir(): string {
  return process.env.DATAPLANE_LOCK_DIR ?? '/run/dataplane';
}

/** Another process already serves the port: `dataplane run` exits 2 with this message. */
export class PortBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortBusyError';
  }
}

/** A network namespace the port config names does not exist. */
export class NetnsNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetnsNotFoundError';
  }
}

/** Where a port's interface lives while the dataplane runs. */
export interface PortPlace {
  ifname: string;
  /** For messages: "this network namespace" or the configured netns. */
  netnsText: string;
  /** Inode of the namespace's nsfs file. */
  netnsId: number;
}

function netnsInode(port: string, netns: string | undefined): number {
  const path = netns === undefined ? '/proc/self/ns/net' : netns.includes('/') ? netns : `/run/netns/${netns}`;
  try {
    return statSync(path).ino;
  } catch (e) {
    throw new NetnsNotFoundError(`port ${port}: network namespace "${netns}" not found (${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

export function portPlace(p: PortConfig): PortPlace {
  if (p.io.type === 'tap') {
    const ifname = p.io.ifname ?? p.name;
    if (p.io.netns !== undefined) return { ifname: p.io.peerName ?? ifname, netnsText: `network namespace ${p.io.netns}`, netnsId: netnsInode(p.name, p.io.netns) };
    return { ifname, netnsText: "the dataplane's network namespace", netnsId: netnsInode(p.name, undefined) };
  }
  return { ifname: p.io.interface, netnsText: "the dataplane's network namespace", netnsId: netnsInode(p.name, undefined) };
}

/** A process, as a message names it: `pid 1234 (node dist/src/cli/main.js run --config r.yaml)`. */
function describePid(pid: number, fallbackCmdline = ''): string {
  let cmdline = fallbackCmdline;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    // gone, or another pid namespace: keep what the lock file says
  }
  return cmdline === '' ? `pid ${pid}` : `pid ${pid} (${cmdline})`;
}

function pidAlive(pid: number): boolean {
  try {
    statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The pid holding a flock on the file with this inode, from /proc/locks (ignores waiters). */
function flockHolderFromProc(ino: number): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 12345 00:1a:4567 0 EOF"
    const m = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === ino) return Number(m[1]);
  }
  return undefined;
}

/** Who holds the lock: what it wrote in the file if that process lives, else what /proc/locks says. */
function describeHolder(fd: number, file: string): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // unreadable: fall through to /proc/locks
    }
    const [pidText, ...rest] = text.split('\n');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return describePid(pid, rest.join(' ').trim());
    const holder = flockHolderFromProc(fstatSync(fd).ino);
    if (holder !== undefined && holder > 0) return describePid(holder);
    // The holder may be between taking the lock and writing its pid: look again shortly.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return 'another process';
}

/** Processes (in this pid namespace) with a TAP named `ifname` open: /proc/PID/fdinfo of a tun fd says "iff:\tNAME". */
export function tapHolders(ifname: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${d}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${d}/fd/${fd}`) !== '/dev/net/tun') continue;
        if (new RegExp(`^iff:\\s+${ifname.replace(/[.]/g, '\\.')}$`, 'm').test(readFileSync(`/proc/${d}/fdinfo/${fd}`, 'utf8'))) {
          out.push(describePid(Number(d)));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

export interface PortLocks {
  /** The lock files held, one per port. */
  readonly files: readonly string[];
  /** Deletes the lock files and releases the locks. Idempotent. */
  release(): void;
}

/** True when `file` still names the open file `fd` (it was not deleted and made anew meanwhile). */
function stillNamed(fd: number, file: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Opens and locks `file`: its fd, or the holder's description when another process has it. */
function lockFile(file: string): { fd: number } | { holder: string } {
  const io = loadNative();
  // Each retry means a dataplane stopped in between; a few are plenty.
  for (let attempt = 0; attempt < 8; attempt++) {
    // Node opens with O_CLOEXEC: the helpers `run` spawns (ip, nsenter) never inherit the lock.
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o644);
    if (!io.fdTryLock(fd)) {
      const holder = describeHolder(fd, file);
      closeSync(fd);
      return { holder };
    }
    if (stillNamed(fd, file)) return { fd };
    closeSync(fd); // deleted by a dataplane that stopped meanwhile: take the new file
  }
  return { holder: 'one starting or stopping right now (its lock file keeps being replaced)' };
}

/**
 * Takes the lock of every port, or none: throws PortBusyError naming the
 * process that holds one (NetnsNotFoundError when a configured namespace
 * does not exist).
 */
export function lockPorts(ports: readonly PortConfig[], dir = lockDir()): PortLocks {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const held: { fd: number; file: string }[] = [];
  const release = () => {
    for (const { fd, file } of held.splice(0)) {
      try {
        unlinkSync(file);
      } catch {
        // already gone: nothing to tidy
      }
      closeSync(fd);
    }
  };
  const portOfFile = new Map<string, string>();
  try {
    for (const p of ports) {
      const place = portPlace(p);
      const file = join(dir, `netns-${place.netnsId}-${place.ifname}.lock`);
      // Our own second lock on the same file would fail as if another process held it.
      const other = portOfFile.get(file);
      if (other !== undefined) throw new PortBusyError(`ports ${other} and ${p.name} are both interface ${place.ifname} in ${place.netnsText}`);
      portOfFile.set(file, p.name);
      const got = lockFile(file);
      if ('holder' in got) {
        throw new PortBusyError(
          `port ${p.name}: interface ${place.ifname} in ${place.netnsText} is already served by another dataplane: ${got.holder}. ` +
            `One dataplane per port: stop that one first (lock ${file})`,
        );
      }
      const fd = got.fd;
      held.push({ fd, file });
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n${process.argv.join(' ')}\n`, 0);
    }
  } catch (e) {
    release();
    throw e;
  }
  return { files: held.map((h) => h.file), release };
}

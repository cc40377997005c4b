// The programs the lab, the demo, `dataplane run`'s port setup, the live
// benchmark and the tests run, and the Debian package each one comes from.
// One table, so that every "X is not installed" names the same package (a
// command run through commands.ts that is missing too), and so that a
// missing tool is said up front instead of showing up later as something
// else (a router that "did not answer a ping" when ping itself was missing).
// test/host/tools.test.ts checks the table against dpkg for every tool
// installed on the machine.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const TOOL_PACKAGES = {
  ip: 'iproute2',
  ss: 'iproute2',
  sysctl: 'procps',
  ping: 'iputils-ping',
  tracepath: 'iputils-tracepath',
  traceroute: 'traceroute',
  nc: 'netcat-openbsd',
  ethtool: 'ethtool',
  curl: 'curl',
  python3: 'python3',
  iperf3: 'iperf3',
  tshark: 'tshark',
  tcpdump: 'tcpdump',
  capinfos: 'wireshark-common',
  mergecap: 'wireshark-common',
  setpriv: 'util-linux',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  trafgen: 'netsniff-ng',
  // Debian's `dpdk` package is the runtime only; the test applications are in dpdk-dev.
  'dpdk-testpmd': 'dpdk-dev',
  'dpdk-test-fib': 'dpdk-dev',
  'docker-compose': 'docker-compose',
  // The NAT lab: the kernel engine's NAT, and the RFC 5780 NAT behaviour discovery of the e2e tests.
  nft: 'nftables',
  turnserver: 'coturn',
  turnutils_natdiscovery: 'coturn',
  // The metrics tests check a real scrape with `promtool check metrics`.
  promtool: 'prometheus',
} as const satisfies Record<string, string>;

/** A program with a known package: only these can be asked for, so every message names one. */
export type Tool = keyof typeof TOOL_PACKAGES;

/** The Debian package of a tool, or the tool's own name when the table has none (a guess). */
export function packageOf(cmd: string): string {
  return (TOOL_PACKAGES as Record<string, string>)[cmd] ?? cmd;
}

/**
 * True when `cmd` is an executable file in one of `path`'s directories, as the
 * shell's `command -v` finds it (and as `ip netns exec`, which execs through
 * PATH, will). Looked up directly, so no shell is needed to ask.
 */
export function haveCommand(cmd: string, path = process.env.PATH ?? ''): boolean {
  if (cmd.includes('/')) return isExecutable(cmd);
  return path.split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, cmd)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The tools of `tools` not found in `path`, each once, in the order given. */
export function missingTools(tools: readonly Tool[], path?: string): Tool[] {
  return [...new Set(tools)].filter((t) => !haveCommand(t, path));
}

/**
 * What to tell a person when some of `tools` are missing, or undefined:
 * "ping is not installed: apt-get install -y iputils-ping".
 */
export function missingToolsMessage(tools: readonly Tool[], path?: string): string | undefined {
  const missing = missingTools(tools, path);
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((t) => TOOL_PACKAGES[t]))];
  const names = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
  return `${names} ${missing.length === 1 ? 'is' : 'are'} not installed: apt-get install -y ${packages.join(' ')}`;
}

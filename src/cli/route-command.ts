// `dataplane route lookup --config CFG [ADDR ...]`: what the FIB answers for
// each address, one line each, in iproute2's words.
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { RouteBuildError } from '../route/fib-build.js';
import { compileFib, type CompiledFib } from '../route/fib.js';
import { NexthopKind } from '../route/nexthops.js';
import { NO_ROUTE } from '../pipeline/context.js';
import { printConfigWarnings } from './config-notices.js';
import { ipv4ToString, tryParseIpv4Address } from '../wire/address.js';

/** The most specific configured prefix containing `addr` (the control-side prefix set, not the trie). */
function matchingPrefix(addr: number, compiled: CompiledFib): string {
  for (let len = 32; len >= 0; len--) {
    const p = len === 0 ? 0 : (addr & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
    if (compiled.lpm.get(p, len) !== NO_ROUTE) return `${ipv4ToString(p)}/${len}`;
  }
  return '?';
}

/** One answer line: `ADDR PREFIX via GW dev PORT`, `ADDR PREFIX dev PORT`, `ADDR PREFIX blackhole`, `ADDR unreachable`... */
export function describeLookup(addr: number, config: RouterConfig, compiled: CompiledFib): string {
  const a = ipv4ToString(addr);
  const nh = compiled.lpm.lookup(addr);
  if (nh === NO_ROUTE) return `${a} unreachable`;
  const prefix = matchingPrefix(addr, compiled);
  const t = compiled.nexthops;
  const hop = (i: number): string => {
    const port = config.ports[t.port[i]]?.name ?? '?';
    switch (t.kind[i]) {
      case NexthopKind.GATEWAY:
        return `via ${ipv4ToString(t.gateway[i])} dev ${port}`;
      case NexthopKind.ATTACHED:
        return `dev ${port}`;
      case NexthopKind.LOCAL:
        return `local dev ${port}`;
      case NexthopKind.BROADCAST:
        return `broadcast dev ${port}`;
      case NexthopKind.BLACKHOLE:
        return 'blackhole';
      case NexthopKind.UNREACHABLE:
        return 'unreachable';
      case NexthopKind.PROHIBIT:
        return 'prohibit';
      default:
        return '?';
    }
  };
  if (t.kind[nh] === NexthopKind.ECMP) {
    const seen = new Set<number>();
    for (let k = 0; k < t.groupSize[nh]; k++) seen.add(t.members[t.groupStart[nh] + k]);
    return `${a} ${prefix} ${[...seen].map((m) => `nexthop ${hop(m)}`).join(' ')}`;
  }
  return `${a} ${prefix} ${hop(nh)}`;
}

export async function runRouteLookup(addrs: string[], opts: { config: string }): Promise<number> {
  let config: RouterConfig;
  let compiled: CompiledFib;
  try {
    config = loadConfig(opts.config);
    printConfigWarnings('route lookup', config.notices);
    compiled = compileFib(config);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RouteBuildError) {
      process.stderr.write(`dataplane route lookup: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let bad = 0;
  const out: string[] = [];
  const answer = (text: string) => {
    const t = text.trim();
    if (t === '') return;
    const addr = tryParseIpv4Address(t);
    if (addr < 0) {
      process.stderr.write(`dataplane route lookup: "${t}" is not an IPv4 address\n`);
      bad++;
      return;
    }
    out.push(describeLookup(addr, config, compiled));
    if (out.length >= 4096) process.stdout.write(out.splice(0).join('\n') + '\n');
  };
  if (addrs.length > 0) for (const a of addrs) answer(a);
  else for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) for (const tok of line.split(/\s+/)) answer(tok);
  if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
  return bad > 0 ? 1 : 0;
}

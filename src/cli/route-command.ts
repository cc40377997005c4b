// `dataplane route lookup --config CFG [ADDR ...]`: what the FIB answers for
// each address, one line each, in iproute2's words.
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { RouteBuildError } from '../route/fib-build.js';
import { compileFib, type CompiledFib } from '../route/fib.js';
import { describeRoute } from '../route/describe.js';
import { printConfigWarnings } from './config-notices.js';
import { ipv4ToString, tryParseIpv4Address } from '../wire/address.js';
import { quoted } from '../config/quoted.js';

/** One answer line: `ADDR PREFIX via GW dev PORT`, `ADDR PREFIX dev PORT`, `ADDR PREFIX blackhole`, `ADDR unreachable`... */
export function describeLookup(addr: number, config: RouterConfig, compiled: CompiledFib): string {
  return `${ipv4ToString(addr)} ${describeRoute(addr, config, compiled)}`;
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
      process.stderr.write(`dataplane route lookup: ${quoted(t)} is not an IPv4 address\n`);
      bad++;
      return;
    }
    out.push(describeLookup(addr, config, compiled));
    if (out.length >= 4096) process.stdout.write(out.splice(0).join('\n') + '\n');
  };
  if (addrs.length > 0) for (const a of addrs) answer(a);
  else {
    // Typed at a terminal: say what it waits for, and answer each line as it comes rather than at the end.
    const interactive = process.stdin.isTTY === true;
    if (interactive) process.stderr.write('dataplane route lookup: reading addresses from standard input (one or more a line; Ctrl-D ends), or give them as arguments\n');
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      for (const tok of line.split(/\s+/)) answer(tok);
      if (interactive && out.length > 0) process.stdout.write(out.splice(0).join('\n') + '\n');
    }
  }
  if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
  return bad > 0 ? 1 : 0;
}

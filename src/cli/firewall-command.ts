// `dataplane firewall --config CFG [--json] [--judge "A:P -> B:P proto"]`:
// the firewall a config compiles to, rule by rule, and how it judges one
// packet (the plain reference evaluator: the packet path's classifier must
// agree with it).
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { ReferenceFirewall } from '../firewall/evaluate.js';
import { describeJudgement, describePlan, originRows, PROTOCOL_NAMES, type Packet } from '../firewall/describe-plan.js';
import { tryParseIpv4Address } from '../wire/address.js';

const PROTOCOLS: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)]));

/** "198.51.100.10:5432 -> 198.51.100.11:80 tcp" (ports optional, default 0; protocol a name or a number); a string says what is wrong. */
export function parsePacket(text: string): Packet | string {
  const m = /^\s*([\d.]+)(?::(\d+))?\s*-?>\s*([\d.]+)(?::(\d+))?\s+(\w+)\s*$/.exec(text);
  if (m === null) return `"${text}" is not "SRC[:PORT] -> DST[:PORT] PROTO" (e.g. "198.51.100.10:40000 -> 198.51.100.11:80 tcp")`;
  const src = tryParseIpv4Address(m[1]);
  const dst = tryParseIpv4Address(m[3]);
  if (src < 0 || dst < 0) return `"${src < 0 ? m[1] : m[3]}" is not an IPv4 address`;
  const proto = /^\d+$/.test(m[5]) ? Number(m[5]) : PROTOCOLS[m[5].toLowerCase()];
  if (proto === undefined || proto > 255) return `"${m[5]}" is not tcp, udp, icmp, sctp or a protocol number 0-255`;
  const sport = Number(m[2] ?? 0);
  const dport = Number(m[4] ?? 0);
  if (sport > 65535 || dport > 65535) return `port ${Math.max(sport, dport)} is above 65535`;
  return { src, dst, proto, sport, dport };
}

export function runFirewall(opts: { config: string; json: boolean; judge?: string }): number {
  let config: RouterConfig;
  try {
    config = loadConfig(opts.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`dataplane firewall: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const plan = config.firewall;
  const packet = opts.judge === undefined ? undefined : parsePacket(opts.judge);
  if (typeof packet === 'string') {
    process.stderr.write(`dataplane firewall: --judge: ${packet}\n`);
    return 2;
  }
  if (plan === undefined) {
    const text = 'no firewall configured (add "firewall:" or "networkPolicies:" beside "endpoints:")';
    process.stdout.write(opts.json ? JSON.stringify({ firewall: null }) + '\n' : `${text}\n`);
    return 0;
  }
  if (packet !== undefined) {
    const judged = plan.endpoints.includes(packet.src) || plan.endpoints.includes(packet.dst);
    const d = describeJudgement(plan, packet, judged ? new ReferenceFirewall(plan).judge(packet.src, packet.dst, packet.proto, packet.dport) : undefined);
    process.stdout.write((opts.json ? JSON.stringify(d.json) : d.text) + '\n');
    return 0;
  }
  process.stdout.write((opts.json ? JSON.stringify({ endpoints: plan.endpoints.length, rules: plan.rules.length, origins: originRows(plan) }) : describePlan(plan)) + '\n');
  return 0;
}

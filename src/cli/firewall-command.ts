// `dataplane firewall --config CFG [--json] [--judge "A[:P] -> B:P proto"]`:
// the firewall a config compiles to, rule by rule, and how it judges one
// packet (the plain reference evaluator: the packet path's classifier must
// agree with it).
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { ReferenceFirewall } from '../firewall/evaluate.js';
import { describeJudgement, describePlan, originRows, PROTOCOL_NAMES, type Packet } from '../firewall/describe-plan.js';
import { tryParseIpv4Address } from '../wire/address.js';
import { DEFAULT_SOURCE_PORT } from '../explain/spec.js';

const PROTOCOLS: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)]));

/** The protocols with ports: the firewall matches their destination port, and only theirs. */
const PORTED = new Set([6, 17, 132]);
const PORT_ZERO = 'port 0 is reserved, RFC 6335: no socket sends from or to it';

/** A port of the packet, or why it is not one: "1-65535", and 0 is refused with the reason. */
function portOf(address: string, port: string, side: string): number | string {
  const n = Number(port);
  if (n === 0) return `"${address}:${port}": the ${side} port must be 1-65535 (${PORT_ZERO})`;
  if (n > 65535) return `"${address}:${port}": the ${side} port must be 1-65535`;
  return n;
}

/**
 * "198.51.100.10:5432 -> 198.51.100.11:80 tcp" (protocol a name or a number); a
 * string says what is wrong. TCP, UDP and SCTP need the destination port (the
 * verdict depends on it; it used to default to 0, a packet nobody sends); the
 * source port defaults to 49152, as explain's. Other protocols have no ports:
 * one given is refused rather than dropped from the judgement unsaid.
 */
export function parsePacket(text: string): Packet | string {
  const m = /^\s*([\d.]+)(?::(\d+))?\s*-?>\s*([\d.]+)(?::(\d+))?\s+(\w+)\s*$/.exec(text);
  if (m === null) return `"${text}" is not "SRC[:PORT] -> DST[:PORT] PROTO" (e.g. "198.51.100.10:40000 -> 198.51.100.11:80 tcp")`;
  const [, srcText, sportText, dstText, dportText, protoText] = m;
  const src = tryParseIpv4Address(srcText);
  const dst = tryParseIpv4Address(dstText);
  if (src < 0 || dst < 0) return `"${src < 0 ? srcText : dstText}" is not an IPv4 address`;
  const proto = /^\d+$/.test(protoText) ? Number(protoText) : PROTOCOLS[protoText.toLowerCase()];
  if (proto === undefined || proto > 255) return `"${protoText}" is not tcp, udp, icmp, sctp or a protocol number 0-255`;
  const name = PROTOCOL_NAMES[proto] ?? `protocol ${proto}`;
  if (!PORTED.has(proto)) {
    const ported = sportText !== undefined ? `${srcText}:${sportText}` : dportText !== undefined ? `${dstText}:${dportText}` : undefined;
    if (ported !== undefined) return `"${ported}": only tcp, udp and sctp have ports (write the address alone for ${name})`;
    return { src, dst, proto, sport: 0, dport: 0 };
  }
  if (dportText === undefined) return `"${dstText}": ${name} needs a destination port (${dstText}:PORT): the verdict depends on it`;
  const sport = sportText === undefined ? DEFAULT_SOURCE_PORT : portOf(srcText, sportText, 'source');
  const dport = portOf(dstText, dportText, 'destination');
  if (typeof sport === 'string') return sport;
  if (typeof dport === 'string') return dport;
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

// The trace filter language: what each primitive matches, precedence, and
// errors that name the word and what was expected.
import { describe, expect, it } from 'vitest';
import { FrameFields, parseTraceFilter, TraceFilterError } from '../../src/trace/filter.js';
import { arpFrame, echoFrame, HOST_MAC, ROUTER_MAC, tcpSynFrame, udpFrame } from '../pipeline/build.js';
import { ARP_REQUEST } from '../../src/wire/arp.js';

const PORTS = ['lan', 'wan'];
const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };
const frames = {
  dns: { port: 0, f: udpFrame({ ...FROM_LAN, dst: '198.51.100.53' }, 40000, 53) },
  web: { port: 1, f: tcpSynFrame({ src: '203.0.113.7', dst: '192.0.2.10' }, 443, 50000) },
  ping: { port: 0, f: echoFrame({ ...FROM_LAN, dst: '198.51.100.1' }, 7, 1) },
  laterFragment: { port: 0, f: udpFrame({ ...FROM_LAN, dst: '198.51.100.53', fragOffset: 185 }, 40000, 53) },
  arp: { port: 1, f: arpFrame(ARP_REQUEST, '02:bb:00:00:00:01', '198.51.100.9', '00:00:00:00:00:00', '198.51.100.1') },
  runt: { port: 0, f: new Uint8Array(10) },
};
type Name = keyof typeof frames;

function picks(expr: string): Name[] {
  const filter = parseTraceFilter(expr, PORTS);
  const fields = new FrameFields();
  return (Object.keys(frames) as Name[]).filter((n) => filter.matches(fields.read(frames[n].f, 0, frames[n].f.length, frames[n].port)));
}

describe('trace filter', () => {
  it('matches by protocol, port, address and input port', () => {
    expect(picks('')).toEqual(Object.keys(frames));
    expect(picks('udp')).toEqual(['dns', 'laterFragment']);
    expect(picks('tcp')).toEqual(['web']);
    expect(picks('icmp')).toEqual(['ping']);
    expect(picks('arp')).toEqual(['arp']);
    expect(picks('ip')).toEqual(['dns', 'web', 'ping', 'laterFragment']);
    expect(picks('proto 17')).toEqual(['dns', 'laterFragment']);
    // A later fragment has no ports: port filters never match it.
    expect(picks('port 53')).toEqual(['dns']);
    expect(picks('dst port 53')).toEqual(['dns']);
    expect(picks('src port 53')).toEqual([]);
    expect(picks('port 443')).toEqual(['web']);
    expect(picks('portrange 50-500')).toEqual(['dns', 'web']);
    expect(picks('in lan')).toEqual(['dns', 'ping', 'laterFragment', 'runt']);
    expect(picks('in wan')).toEqual(['web', 'arp']);
    expect(picks('host 192.0.2.10')).toEqual(['dns', 'web', 'ping', 'laterFragment']);
    expect(picks('dst host 192.0.2.10')).toEqual(['web']);
    expect(picks('src 192.0.2.0/24')).toEqual(['dns', 'ping', 'laterFragment']);
    expect(picks('src net 203.0.113.0/24')).toEqual(['web']);
    expect(picks('dst 198.51.100.0/24 and not icmp')).toEqual(['dns', 'laterFragment']);
  });

  it('combines with and, or, not and parentheses; "and" binds tighter', () => {
    expect(picks('src 192.0.2.0/24 and udp and dst port 53')).toEqual(['dns']);
    expect(picks('icmp or tcp and port 443')).toEqual(['web', 'ping']);
    expect(picks('(icmp or tcp) and in lan')).toEqual(['ping']);
    expect(picks('!arp && !ip')).toEqual(['runt']);
    expect(picks('not (udp || tcp)')).toEqual(['ping', 'arp', 'runt']);
    expect(picks('in lan or in wan')).toEqual(Object.keys(frames));
  });

  it('names the word and what was expected when the filter is wrong', () => {
    const err = (expr: string) => {
      try {
        parseTraceFilter(expr, PORTS);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceFilterError);
        return (e as Error).message;
      }
      throw new Error(`"${expr}" parsed`);
    };
    expect(err('in dmz')).toBe(`trace filter "in dmz": at 'dmz' (word 2): expected a port name (lan, wan)`);
    expect(err('port 70000')).toBe(`trace filter "port 70000": at '70000' (word 2): expected a port number 0-65535`);
    expect(err('udp and')).toBe('trace filter "udp and": at the end: expected a filter term (in PORT, host, net, port, tcp, udp, icmp, ...)');
    expect(err('udp port 53')).toBe(`trace filter "udp port 53": at 'port' (word 2): expected 'and', 'or' or the end of the filter`);
    expect(err('src 192.0.2.1/24')).toContain('a network address (192.0.2.1/24 has host bits set below /24)');
    expect(err('net 10.0.0.0/33')).toContain('expected a network A.B.C.D/LEN');
    expect(err('(udp')).toBe(`trace filter "(udp": at the end: expected ')'`);
    expect(err('portrange 9-3')).toContain('expected a port range LOW-HIGH within 0-65535');
    expect(err('banana')).toContain("at 'banana' (word 1): expected a filter term");
  });
});

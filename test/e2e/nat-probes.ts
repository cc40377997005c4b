// What the NAT end-to-end tests (nat.test.ts) run on the hosts around the
// NAT, and how they read the answers: turnserver and turnutils_natdiscovery
// (coturn), and small python3 programs for what no packaged tool shows (a
// connected UDP socket's ECONNREFUSED, a UDP echo, many flows at once and
// the ICMP errors they get).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB } from '../../src/lab/topology.js';
import { LAB_NAT } from '../../src/lab/lab-nat.js';

/** RFC 5780 behaviours as turnutils_natdiscovery names them ("NAT with Endpoint Independent Mapping!"). */
export type Behaviour = 'Endpoint Independent' | 'Address Dependent' | 'Address and Port Dependent';

export const BEHAVIOUR_OF_FILTERING: Record<string, Behaviour> = {
  'endpoint-independent': 'Endpoint Independent',
  'address-dependent': 'Address Dependent',
  'address-and-port-dependent': 'Address and Port Dependent',
};

export interface NatDiscovery {
  /** The verdicts the tool printed, undefined when it printed none (no answer through the NAT). */
  mapping?: Behaviour;
  filtering?: Behaviour;
  /** It printed "No NAT!": the server saw the client's own address. */
  noNat: boolean;
  /** Every "UDP reflexive addr: A:P" it printed (the NAT's external endpoints). */
  reflexive: string[];
}

/**
 * Reads `turnutils_natdiscovery -m -f` output (coturn 4.6): each discovery
 * ends with a line between two rules of "=" such as
 *   NAT with Endpoint Independent Mapping!
 *   NAT with Address and Port Dependent Filtering!
 * and each answer it got names the mapped address ("IPv4. UDP reflexive addr:
 * 198.51.100.1:43608"). A test without an answer prints "STUN receive
 * timeout.." and, when the first request of a discovery went unanswered, no
 * verdict at all.
 */
export function parseNatDiscovery(out: string): NatDiscovery {
  const verdict = (kind: 'Mapping' | 'Filtering'): Behaviour | undefined => {
    const m = new RegExp(`^\\s*NAT with (Endpoint Independent|Address Dependent|Address and Port Dependent) ${kind}!\\s*$`, 'm').exec(out);
    return m === null ? undefined : (m[1] as Behaviour);
  };
  return {
    mapping: verdict('Mapping'),
    filtering: verdict('Filtering'),
    noNat: /^\s*No NAT!/m.test(out),
    reflexive: [...out.matchAll(/UDP reflexive addr:\s*(\d+\.\d+\.\d+\.\d+:\d+)/g)].map((m) => m[1]),
  };
}

/**
 * turnserver as a STUN server with RFC 5780 on both outside addresses (it
 * enables CHANGE-REQUEST when it listens on two addresses of one family, and
 * then also listens on the alternate port, 3479). Its own empty config file
 * and database: Debian's /etc/turnserver.conf says no-rfc5780, and nothing
 * of the host's is used.
 */
export function turnserverArgv(dir: string): string[] {
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, '# empty: the command line says everything (nat.test.ts)\n');
  return [
    'turnserver', '-c', conf, '-b', join(dir, 'turndb'), '--pidfile', join(dir, 'turnserver.pid'),
    '-L', LAB.server.addr, '-L', LAB_NAT.serverAlt.addr, '--listening-port', String(STUN_PORT), '--alt-listening-port', String(STUN_PORT + 1),
    '--stun-only', '--no-cli', '--no-tls', '--no-dtls', '--no-tcp', '--log-file', 'stdout', '--simple-log',
  ];
}

export const STUN_PORT = 3478;

/** The natdiscovery command the tests run in the client namespace: mapping (-m) then filtering (-f) discovery. */
export const NATDISCOVERY_ARGV = ['turnutils_natdiscovery', '-m', '-f', '-p', String(STUN_PORT), LAB.server.addr];

/** A UDP echo server on ADDR:PORT (argv 1, 2): every datagram goes back to its sender. */
export const UDP_ECHO_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
`;

/**
 * A connected UDP socket sends to ADDR:PORT (argv 1, 2), where nothing
 * listens, and reads: the ICMP port unreachable the server sends (to the NAT
 * address) must come back translated to the client, which turns it into
 * ECONNREFUSED. Prints "ECONNREFUSED", "timeout" or "data".
 */
export const ECONNREFUSED_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
verdict = "timeout"
for _ in range(3):
    try:
        s.send(b"anyone there?")
        s.recv(2048)
        verdict = "data"
        break
    except ConnectionRefusedError:
        verdict = "ECONNREFUSED"
        break
    except socket.timeout:
        pass
print(verdict)
`;

/**
 * One UDP datagram to ADDR:PORT (argv 1, 2) and the reply: prints JSON with
 * the reply's text and where it came from (a port forward's reply must come
 * from the address and port it was sent to).
 */
export const UDP_ASK_PY = `
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
out = {"reply": None}
for _ in range(3):
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        data, peer = s.recvfrom(2048)
        out = {"reply": data.decode(), "from": "%s:%d" % peer}
        break
    except socket.timeout:
        pass
print(json.dumps(out))
`;

/**
 * Opens FLOWS (argv 4) UDP flows from CLIENT (argv 1) to ADDR:PORT (argv 2,
 * 3), from source ports 20000 upwards, one datagram each, in batches; each
 * flow waits up to a second for its echo (an answered flow is not one a
 * full table may evict). A raw ICMP socket counts the destination
 * unreachables that quote one of these datagrams, by code. Prints JSON:
 * { sent, echoed, unreachable: { code: count } }.
 */
export const FILL_TABLE_PY = `
import json, select, socket, struct, sys, time
client, addr, port, flows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
dst = socket.inet_aton(addr)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
raw.setblocking(False)
unreachable = {}
def drain():
    while True:
        try:
            pkt = raw.recv(4096)
        except BlockingIOError:
            return
        ihl = (pkt[0] & 15) * 4
        if len(pkt) < ihl + 8 + 20 + 4 or pkt[ihl] != 3:
            continue
        inner = pkt[ihl + 8:]
        iihl = (inner[0] & 15) * 4
        if inner[9] != 17 or inner[16:20] != dst or len(inner) < iihl + 4:
            continue
        sport, dport = struct.unpack("!HH", inner[iihl:iihl + 4])
        if dport == port and 20000 <= sport < 20000 + flows:
            code = str(pkt[ihl + 1])
            unreachable[code] = unreachable.get(code, 0) + 1
sent = echoed = 0
BATCH = 200
for start in range(0, flows, BATCH):
    socks = {}
    poll = select.poll()
    for i in range(start, min(flows, start + BATCH)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((client, 20000 + i))
        s.setblocking(False)
        s.sendto(b"flow %d" % i, (addr, port))
        sent += 1
        socks[s.fileno()] = s
        poll.register(s, select.POLLIN)
    deadline = time.time() + 1.0
    while socks and time.time() < deadline:
        for fd, _ in poll.poll(100):
            try:
                socks[fd].recv(2048)
                echoed += 1
            except OSError:
                pass
            poll.unregister(fd)
            socks.pop(fd).close()
        drain()
    for s in socks.values():
        s.close()
time.sleep(0.3)
drain()
print(json.dumps({"sent": sent, "echoed": echoed, "unreachable": unreachable}))
`;

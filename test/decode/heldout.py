#!/usr/bin/python3
"""Writes captures for the held-out tshark check of `dataplane decode`.

usage: heldout.py SEED COUNT OUTDIR

Frames are built with scapy (not with the project's own builders) and varied at
random from SEED: IPv4 with and without options, TCP/UDP/ICMP, fragments,
ICMP errors quoting nothing up to the whole datagram, and the damage real
captures show: frames shorter than the IPv4 total length, snap-length cuts,
bad checksums, bad UDP lengths and TCP data offsets. Two files: eth.pcap
(Ethernet, some frames VLAN-tagged) and raw.pcap (LINKTYPE_RAW, 101). Only
documentation addresses are used.
"""
import random
import struct
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_NOP,
                       IPOption_Router_Alert, IPOption_RR, IPOption_Timestamp,
                       Raw, raw)

NETS = ['192.0.2.', '198.51.100.', '203.0.113.', '198.18.0.', '198.19.255.']


def addr(r):
    return r.choice(NETS) + str(r.randint(1, 254))


def ip_options(r):
    return r.choice([
        [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()],
        [IPOption_Router_Alert()],
        [IPOption_RR(routers=[addr(r) for _ in range(r.randint(0, 3))])],
        [IPOption_Timestamp(flg=0, timestamp=[r.randint(0, 1 << 31)] * r.randint(1, 3))],
    ])


def payload(r, lo=0, hi=64):
    return bytes(r.getrandbits(8) for _ in range(r.randint(lo, hi)))


def tcp(r):
    opts = r.choice([[], [('MSS', 1460)], [('MSS', 1400), ('SAckOK', b''), ('WScale', 7)],
                     [('NOP', None), ('NOP', None), ('Timestamp', (r.getrandbits(32), r.getrandbits(32)))]])
    return TCP(sport=r.randint(1, 65535), dport=r.choice([22, 80, 443, r.randint(1, 65535)]),
               seq=r.getrandbits(32), ack=r.getrandbits(32), flags=r.getrandbits(8),
               window=r.randint(0, 65535), options=opts) / Raw(payload(r, 0, 40))


def udp(r):
    # Ports away from the ones tshark hands to a heavy dissector; plain UDP is what is compared.
    return UDP(sport=r.randint(20000, 60000), dport=r.randint(20000, 60000)) / Raw(payload(r, 0, 60))


def icmp_echo(r):
    return ICMP(type=r.choice([0, 8, 13, 14, 17, 18]), id=r.randint(0, 65535), seq=r.randint(0, 65535)) / Raw(payload(r, 12, 40))


def datagram(r, l4):
    ip = IP(src=addr(r), dst=addr(r), ttl=r.randint(1, 255), id=r.randint(0, 65535),
            tos=r.randint(0, 255), flags=r.choice([0, 0, 2]))
    if r.random() < 0.2:
        ip.options = ip_options(r)
    return ip / l4


def icmp_error(r):
    inner = datagram(r, r.choice([tcp, udp, icmp_echo])(r))
    if r.random() < 0.15:
        inner.frag = r.randint(1, 100)
    if r.random() < 0.1:
        inner.flags = 'MF'
    quoted = raw(inner)
    hl = (quoted[0] & 0x0f) * 4
    # Nothing, part of the IP header, the header alone, + 4 / 8 / 12 bytes, or all of it.
    keep = r.choice([0, r.randint(1, hl - 1), hl, hl + 4, hl + 4, hl + 8, hl + 8, hl + 12, len(quoted)])
    t, c = r.choice([(3, 0), (3, 1), (3, 3), (3, 3), (3, 4), (3, 13), (11, 0), (11, 1), (12, 0), (4, 0), (5, 1)])
    ic = ICMP(type=t, code=c)
    if (t, c) == (3, 4):
        ic.nexthopmtu = r.choice([576, 1280, 1400, 1500])
    if t == 5:
        ic.gw = addr(r)
    return ic / Raw(quoted[:keep])


def damage(r, b, ip_off):
    """Returns (frame bytes, wire length) with at most one kind of damage."""
    kind = r.random()
    hl = (b[ip_off] & 0x0f) * 4
    total = struct.unpack('!H', b[ip_off + 2:ip_off + 4])[0]
    if kind < 0.10 and total > hl + 1:
        # Frame shorter than the IPv4 total length (not a snap-length cut).
        cut = r.randint(ip_off + hl, ip_off + total - 1)
        return b[:cut], cut
    if kind < 0.18:
        # Snap-length cut: fewer bytes captured than were on the wire.
        cut = r.randint(ip_off, len(b))
        return b[:cut], len(b)
    if kind < 0.23:
        # A random byte of the IPv4 header or just after it changed.
        at = r.randint(ip_off, min(len(b) - 1, ip_off + hl + 16))
        b = bytearray(b)
        b[at] ^= 1 << r.randint(0, 7)
        return bytes(b), len(b)
    if kind < 0.26:
        # Ethernet-style trailer after the datagram.
        b = b + payload(r, 1, 12)
        return b, len(b)
    return b, len(b)


def build(r):
    what = r.random()
    if what < 0.3:
        pkt = datagram(r, tcp(r))
    elif what < 0.55:
        pkt = datagram(r, udp(r))
    elif what < 0.65:
        pkt = datagram(r, icmp_echo(r))
    else:
        pkt = datagram(r, icmp_error(r))
    if r.random() < 0.08:
        # A fragment: the first (MF, offset 0), or a later one (offset > 0, MF or not).
        pkt.flags = 'MF' if r.random() < 0.7 else 0
        if pkt.flags == 0 or r.random() < 0.5:
            pkt.frag = r.randint(1, 1000)
    b = bytearray(raw(pkt))
    hl = (b[0] & 0x0f) * 4
    proto = b[9]
    if proto == 17 and r.random() < 0.12:
        # Bad UDP length field: below 8 or past the datagram.
        b[hl + 4:hl + 6] = struct.pack('!H', r.choice([0, r.randint(1, 7), len(b) - hl + r.randint(1, 30)]))
    if proto == 17 and r.random() < 0.08:
        b[hl + 6:hl + 8] = b'\0\0'  # sent without checksum
    if proto == 6 and r.random() < 0.06:
        b[hl + 12] = (r.choice([0, 1, 4, 15]) << 4) | (b[hl + 12] & 0x0f)
    if r.random() < 0.05:
        b[10:12] = struct.pack('!H', r.getrandbits(16))  # bad header checksum
    return bytes(b)


def frame(r, link):
    ip = build(r)
    if link == 1:
        e = Ether(src='02:00:00:00:00:%02x' % r.randint(1, 255), dst='02:00:00:00:01:%02x' % r.randint(1, 255))
        if r.random() < 0.1:
            e = e / Dot1Q(vlan=r.randint(1, 4094))
        head = raw(e)
        # raw(Ether()) ends with type 0x9000 when nothing follows: set IPv4.
        head = head[:-2] + b'\x08\x00'
        b, wire = damage(r, head + ip, len(head))
    else:
        b, wire = damage(r, ip, 0)
    return b, wire


def write(path, link, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, link))
        for i, (b, wire) in enumerate(frames):
            f.write(struct.pack('<IIII', 1600000000 + i, (i * 7919) % 1000000, len(b), wire))
            f.write(b)


def main():
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    r = random.Random(seed)
    write(out + '/eth.pcap', 1, [frame(r, 1) for _ in range(count)])
    write(out + '/raw.pcap', 101, [frame(r, 101) for _ in range(count)])


if __name__ == '__main__':
    main()

// The router's YAML config as the user writes it, validated with zod. Every
// field that can be wrong gets a message naming what it expects; load.ts
// turns zod's issues into "ports[1].address: ..." lines and then checks what
// a schema cannot see (duplicate names, overlapping subnets, unknown ports).
//
// The protobuf schema of the control plane (proto/) will describe the same
// messages; this file stays the YAML front end.
import { z } from 'zod';
import { firewallConfigShape } from './firewall-schema.js';
import { decapSchema, loadBalancerSchema } from './load-balancer-schema.js';
import { metricsSchema } from './metrics-schema.js';
import { DEFAULT_CONTROL_SOCKET } from './control-socket.js';
import { choiceError, discriminatorError } from './zod-issue.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
/** Linux interface names: at most 15 bytes, no '/', ':' or whitespace. */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** What the kernel refuses besides (dev_valid_name): "." and "..", the directories of /sys/class/net. */
const DOT_NAMES = new Set(['.', '..']);

/**
 * A Linux interface name: IFNAME, and not "." or "..". Nor a name starting
 * with "-", which the kernel takes: the commands that name the interface,
 * those the dataplane prints as hints (`ip -d link show NAME`, `ethtool -L
 * NAME ...`) and those a user types after them, would read it as an option.
 */
function ifname(message: string) {
  return z
    .string()
    .regex(IFNAME, message)
    .refine((v) => !DOT_NAMES.has(v), 'cannot be "." or "..": Linux refuses them as interface names (they name directories, as in /sys/class/net)')
    .refine((v) => !v.startsWith('-'), 'cannot start with "-": commands that take an interface name, such as `ip -d link show NAME` (which the dataplane prints as a hint), would read it as an option');
}

/**
 * Port names that are valid interface names but would be ambiguous where port
 * names are used: as pcapng interface names (replay's OUT, traces), and as
 * keys of the JSON that lists ports (replay --json). A Map: an object literal
 * cannot hold a key "__proto__".
 */
const RESERVED_PORT_NAMES = new Map<string, string>([
  ['dropped', 'for the interface of dropped packets in trace files (replaying a trace would take its drops for arrivals on this port)'],
  ['__proto__', 'in JavaScript, where that key is an object\'s prototype (the port would vanish from the JSON that lists ports by name)'],
]);

const portName = ifname('must be 1-15 characters of letters, digits, "_", "." or "-" (a Linux interface name)').superRefine((v, ctx) => {
  const why = RESERVED_PORT_NAMES.get(v);
  if (why !== undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is reserved ${why}` });
});

const ipv4String = z.string().regex(IPV4, 'must be a dotted-quad IPv4 address such as 192.0.2.1');
const cidrString = z.string().regex(CIDR, 'must be an IPv4 prefix such as 192.0.2.0/24');
const interfaceAddress = z.string().regex(CIDR, 'must be an address with prefix length such as 192.0.2.1/24');

/** How a port reaches the wire when the dataplane runs live (`dataplane run`); replay ignores it. */
/** A ring's frame count (AF_PACKET v2 slots, AF_XDP UMEM frames): a power of two from 64 to 65536. */
function ringFrames() {
  return z
    .number()
    .int('must be a whole number')
    .min(64, 'must be at least 64')
    .max(65536, 'must be at most 65536')
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two');
}

export const portIoSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('tap'),
      /** TAP device name; default: the port name. */
      ifname: ifname('must be 1-15 characters of letters, digits, "_", "." or "-"').optional(),
      /** Move the TAP into this network namespace: a name under /run/netns, or a path such as /proc/PID/ns/net. */
      netns: z.string().min(1, 'must name a network namespace').optional(),
      /** Like a CNI plugin: give the kernel side this address (in netns) and a default route via the port's address. */
      peerAddress: interfaceAddress.optional(),
      /** Rename the kernel side inside netns (e.g. eth1). */
      peerName: ifname('must be a Linux interface name').optional(),
      /** IFF_VNET_HDR: frames carry a virtio-net header. */
      vnetHdr: z.boolean().default(false),
      /**
       * Checksum and TCP segmentation offload (implies vnetHdr): the kernel
       * side hands over TCP/IPv4 super-packets of up to 64 KiB with partial
       * checksums, and takes them back the same way, so TCP crosses the
       * dataplane in one read()/write() per 64 KiB instead of per 1500 B.
       * Workers then use 64 KiB slots (~33 MB of packet memory each). A
       * super-packet leaves whole by another offload TAP; towards any other
       * port it is segmented (and partial checksums completed) in software
       * (ip4-gso), which is slower: give every port TCP flows leave by
       * `offload: true` where you can.
       */
      offload: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('afpacket'),
      /** An existing interface in the dataplane's network namespace (a veth end, a container's eth1). */
      interface: ifname('must be a Linux interface name'),
      /**
       * Take the interface's offloads as they come (PACKET_VNET_HDR): a veth
       * whose peer does TSO/GSO (a container's eth0, by default) hands over
       * TCP super-frames of up to 64 KiB with partial checksums; they are
       * routed whole and leave whole by other offload ports (the kernel or
       * the receiver segments them), and are segmented in software towards
       * ports without offload. Workers then use 64 KiB slots (~33 MB each).
       * `false` only where the interface and its peer have TSO/GSO/GRO and
       * checksum offload turned off: super-frames are then dropped
       * (io rx-oversize).
       */
      offload: z.boolean().default(true),
      /**
       * The receive ring's layout. `v2` (TPACKET_V2, the default without
       * offload): fixed frame slots, each handed over as soon as the kernel
       * wrote it, so a lone packet (a ping) is not held. `v3` (TPACKET_V3):
       * blocks packed with frames, handed over when full or `blockTimeoutMs`
       * after their first frame; fewer wake-ups under a steady flood, more
       * latency at light load. `none` (the default with offload, unless
       * `frames` is given): no ring; each frame is received straight into
       * the slot it is routed and sent from, one copy where a ring makes two
       * (the cheaper way for TCP super-frames).
       */
      ring: z.enum(['v2', 'v3', 'none']).optional(),
      /** v2: frame slots in the receive ring, a power of two (default 2048; 128 with offload, whose slots are 68 KiB). */
      frames: ringFrames()
        .optional(),
      /** v3: a block is handed over at the latest this many milliseconds after its first frame (default 1, the least). */
      blockTimeoutMs: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
    })
    .strict()
    .superRefine((io, ctx) => {
      if (io.ring === 'v3' && io.frames !== undefined) ctx.addIssue({ code: 'custom', path: ['frames'], message: 'applies to ring v2 only (v3 packs frames into blocks)' });
      if (io.ring === 'none' && io.frames !== undefined) ctx.addIssue({ code: 'custom', path: ['frames'], message: 'applies to ring v2 only (none has no ring)' });
      if (io.offload && io.frames !== undefined && io.frames > 1024) ctx.addIssue({ code: 'custom', path: ['frames'], message: 'must be at most 1024 with offload (each slot holds a 64 KiB super-frame: 68 MiB of ring)' });
      if (io.ring !== 'v3' && io.blockTimeoutMs !== undefined) ctx.addIssue({ code: 'custom', path: ['blockTimeoutMs'], message: 'applies to ring v3 only (v2 hands each frame over at once)' });
    }),
  z
    .object({
      type: z.literal('afxdp'),
      /**
       * An existing interface in the dataplane's network namespace. An XDP
       * program on it hands every frame to the AF_XDP socket of the queue it
       * arrived on: one socket per receive queue, each served by one worker
       * (queue q by worker q). The interface needs no more queues than
       * workers; with fewer, the extra workers only send on it.
       */
      interface: ifname('must be a Linux interface name'),
      /**
       * How the sockets bind: `zerocopy` (the driver DMAs into our memory; an
       * error where the driver cannot), `copy` (the kernel copies; veth, and
       * any driver), `auto` (zero-copy where the driver has it, else copy).
       */
      mode: z.enum(['auto', 'copy', 'zerocopy']).default('auto'),
      /** How the XDP program attaches: `native` (in the driver), `generic` (skb mode, any device), `auto` (native, else generic). */
      xdpMode: z.enum(['auto', 'native', 'generic']).default('auto'),
      /**
       * UMEM frames (4 KiB each) per socket, a power of two; all but a TX
       * reserve stock the fill ring. 16384 (64 MiB): what the kernel can
       * queue while a worker waits for a core is all that absorbs the wait,
       * and on a loaded 2-core machine a worker at normal priority waited
       * longer than 3500 frames lasted (bench/live/afxdp-probe.ts).
       */
      frames: ringFrames()
        .default(16384),
      /** AF_XDP carries no offload metadata: super-frames cannot arrive, so TSO/GSO must be off on the peer (native XDP on a veth turns them off); partial checksums are recognised by value and completed (native/src/checksum.h). */
      offload: z.literal(false, { message: 'must be false: AF_XDP carries no offload metadata' }).default(false),
    })
    .strict(),
], { error: discriminatorError('type') });

/** A port's MTU: at least 68, what every IPv4 link must carry unfragmented (RFC 791); at most 9216, the largest jumbo frame switches take. */
export const MTU_RANGE = { min: 68, max: 9216 } as const;
const MTU_RANGE_TEXT = `must be ${MTU_RANGE.min}-${MTU_RANGE.max} (at least IPv4's minimum of ${MTU_RANGE.min}, RFC 791; at most ${MTU_RANGE.max}, the largest jumbo frame)`;
/**
 * The largest MTU of an afxdp port: a frame lives in one UMEM chunk
 * (XSK_FRAME_BYTES, 4096, native/src/af-xdp.h) after the kernel's 256 bytes
 * of XDP headroom, so 3840 bytes of frame, less the Ethernet header. The
 * socket can neither receive nor send a longer one. The pipeline cuts what
 * it routes to the port to this MTU, whatever the other ports carry (jumbo,
 * offload super-packets): fragments, ICMP fragmentation needed, software
 * segmentation. A longer frame that still reached the socket would be
 * dropped, counted io tx-oversize (xskTxBurst), never copied.
 */
export const AFXDP_MAX_MTU = 4096 - 256 - 14;

export const portSchema = z
  .object({
    name: portName,
    mac: z.string().regex(MAC, 'must be six hex bytes separated by colons such as 02:00:00:00:00:01').optional(),
    address: interfaceAddress,
    mtu: z
      .number()
      .int(`must be a whole number ${MTU_RANGE.min}-${MTU_RANGE.max}`)
      .min(MTU_RANGE.min, MTU_RANGE_TEXT)
      .max(MTU_RANGE.max, MTU_RANGE_TEXT)
      .default(1500),
    io: portIoSchema.optional(),
    /** Unwrap IPIP/GUE addressed to hosts behind this port (load-balancer-schema.ts). */
    decap: decapSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    // A value out of the general range has its message already.
    if (p.io?.type === 'afxdp' && p.mtu > AFXDP_MAX_MTU && p.mtu <= MTU_RANGE.max) {
      ctx.addIssue({ code: 'custom', path: ['mtu'], message: `must be at most ${AFXDP_MAX_MTU} on an afxdp port (a frame must fit one 4 KiB UMEM chunk after the kernel's 256 bytes of XDP headroom)` });
    }
  });

export type PortIo = z.infer<typeof portIoSchema>;

const nexthopSchema = z
  .object({
    via: ipv4String.optional(),
    dev: z.string().regex(IFNAME, 'must name a port').optional(),
    weight: z.number().int('must be a whole number').min(1, 'must be at least 1').max(255, 'must be at most 255').default(1),
  })
  .strict()
  .refine((n) => n.via !== undefined || n.dev !== undefined, { message: 'a next hop needs "via" or "dev"' });

export const routeObjectSchema = z
  .object({
    prefix: cidrString,
    via: ipv4String.optional(),
    dev: z.string().regex(IFNAME, 'must name a port').optional(),
    type: z.enum(['unicast', 'blackhole', 'unreachable', 'prohibit']).default('unicast'),
    nexthops: z.array(nexthopSchema).min(1, 'must list at least one next hop').max(64, 'at most 64 next hops').optional(),
  })
  .strict();

/** A route as a line of the routes-file grammar, or as an object. */
export const routeSchema = z.union([z.string().min(1, 'must not be empty'), routeObjectSchema]);

const PORT_RANGE = /^(\d{1,5})(-(\d{1,5}))?$/;
const ADDRESS_RANGE = /^(\d{1,3}(\.\d{1,3}){3})(-(\d{1,3}(\.\d{1,3}){3}))?$/;
const portNumber = z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
/** A port or a range "LOW-HIGH" (1-65535). */
const portRange = z.union([portNumber, z.string().regex(PORT_RANGE, 'must be a port or a range such as 20000-29999')]);

/** NAT (src/nat/): masquerade and SNAT after routing, DNAT before it, as netfilter orders them. */
export const natSchema = z
  .object({
    /** Traffic leaving `outPort` gets that port's address (ip-masq-agent semantics). */
    masquerade: z
      .array(
        z
          .object({
            outPort: z.string().regex(IFNAME, 'must name a port'),
            /** Destinations left untranslated (ip-masq-agent's nonMasqueradeCIDRs); none by default. */
            nonMasqueradeCIDRs: z.array(cidrString).default([]),
            /** Masquerade traffic to link-local 169.254.0.0/16 too (ip-masq-agent's masqLinkLocal); default false. */
            masqLinkLocal: z.boolean().default(false),
            /** Source ports the translation may use; default 1024-65535. */
            ports: portRange.optional(),
          })
          .strict(),
      )
      .default([]),
    /** Traffic leaving `outPort` that matches gets an address of the pool `to`, and a port of `ports`. */
    snat: z
      .array(
        z
          .object({
            match: z
              .object({ src: cidrString.optional(), dst: cidrString.optional(), proto: z.enum(['tcp', 'udp', 'icmp']).optional() })
              .strict()
              .default({}),
            outPort: z.string().regex(IFNAME, 'must name a port'),
            /** An address, or a range "A.B.C.D-A.B.C.E" (paired pooling: one internal host keeps one address). */
            to: z.string().regex(ADDRESS_RANGE, 'must be an address or a range such as 198.51.100.100-198.51.100.101'),
            ports: portRange.optional(),
          })
          .strict(),
      )
      .default([]),
    /** Traffic arriving on `inPort` for `dport` (and `proto`) goes to `to` ("A.B.C.D" or "A.B.C.D:PORT"): port forwarding. */
    dnat: z
      .array(
        z
          .object({
            inPort: z.string().regex(IFNAME, 'must name a port'),
            proto: z.enum(['tcp', 'udp'], { error: choiceError('must be one of "tcp", "udp"') }),
            dport: portRange,
            /** The router's address it is addressed to; default the inPort's address. */
            dst: ipv4String.optional(),
            to: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/, 'must be "A.B.C.D" or "A.B.C.D:PORT"'),
          })
          .strict(),
      )
      .default([]),
    /** Which inbound packets a mapping lets in (RFC 4787 section 5). */
    filtering: z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent']).default('endpoint-independent'),
    /** Timeouts: rfc (the RFC minimums) or cloud-nat (Cloud NAT's defaults, and a minimum of ports per endpoint). */
    profile: z.enum(['rfc', 'cloud-nat']).default('rfc'),
    /** cloud-nat: ports set aside for each internal endpoint (Cloud NAT's minPortsPerVm). */
    minPortsPerEndpoint: z.number().int('must be a whole number').min(1, 'must be at least 1').max(65535, 'must be at most 65535').optional(),
  })
  .strict();

export const neighborSchema = z
  .object({
    address: ipv4String,
    mac: z.string().regex(MAC, 'must be six hex bytes separated by colons such as 02:00:00:00:00:01'),
    dev: z.string().regex(IFNAME, 'must name a port').optional(),
  })
  .strict();

// The control API and the metrics endpoint (issue 12): where they listen.
export { DEFAULT_CONTROL_SOCKET };
const LOOPBACK_HOST = /^(localhost|127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})$/;
const CONTROL_LISTEN_SHAPE = 'must be a loopback HOST:PORT such as 127.0.0.1:9470 (the API has no authentication)';

/**
 * Why `control.listen` is not one the API can listen on, or undefined when it
 * is: HOST:PORT, the host a loopback address or localhost (the API has no
 * authentication), the port 1-65535. Each part gets its own reason, so a port
 * of 70000 is not reported as a host that is not loopback.
 */
export function controlListenProblem(text: string): string | undefined {
  const m = /^(.*):(\d+)$/.exec(text);
  if (m === null) return CONTROL_LISTEN_SHAPE;
  const [, host, portText] = m;
  if (!LOOPBACK_HOST.test(host)) return `"${host}" is not a loopback address: ${CONTROL_LISTEN_SHAPE}`;
  const port = Number(portText);
  if (port === 0) return 'port 0 is not 1-65535 (0 would have the kernel pick a port that ctl cannot know)';
  if (port > 65535) return `port ${portText} is not 1-65535`;
  // One spelling per port: reload compares the text, and ctl dials it as written.
  if (portText.startsWith('0')) return `port ${portText}: write it without leading zeros (${port})`;
  return undefined;
}

export const controlSchema = z
  .object({
    socket: z
      .string()
      .max(107, 'must be at most 107 bytes (a Unix socket path)')
      .refine((v) => v === '' || v.startsWith('/'), 'must be an absolute path such as /run/dataplane/dataplane.sock, or "" to turn the API off')
      .default(DEFAULT_CONTROL_SOCKET),
    listen: z
      .string()
      .superRefine((text, ctx) => {
        const why = controlListenProblem(text);
        if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
      })
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    ports: z.array(portSchema).min(1, 'must list at least one port').max(4096, 'at most 4096 ports'),
    routes: z.array(routeSchema).default([]),
    routesFile: z.string().min(1, 'must be a file path').optional(),
    /** Static neighbors (like `ip neigh add ... nud permanent`): replay and labs without ARP. */
    neighbors: z.array(neighborSchema).default([]),
    icmp: z
      .object({
        /** Token bucket for ICMP errors the router sends (RFC 1812 4.3.2.8). */
        ratePerSecond: z.number().min(0, 'must be >= 0 (0 disables ICMP errors)').default(1000),
        burst: z.number().int('must be a whole number').min(1, 'must be at least 1').default(100),
      })
      .strict()
      .default({ ratePerSecond: 1000, burst: 100 }),
    arp: z
      .object({
        /** How long a neighbor entry stays valid without being refreshed. */
        reachableMs: z.number().int().min(1000, 'must be at least 1000').default(30_000),
        /** How long to wait for an ARP reply before answering ICMP host unreachable. */
        resolveTimeoutMs: z.number().int().min(10, 'must be at least 10').default(1000),
        /** Packets held per unresolved neighbor (RFC 1122 2.3.2.2 says at least one). */
        pendingPerNeighbor: z.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256').default(8),
        /** Neighbors that may be unresolved at once. */
        pendingNeighbors: z.number().int().min(1, 'must be at least 1').max(65536, 'must be at most 65536').default(256),
      })
      .strict()
      .default({ reachableMs: 30_000, resolveTimeoutMs: 1000, pendingPerNeighbor: 8, pendingNeighbors: 256 }),
    nat: natSchema.optional(),
    /** The flow table, used when a stateful feature (NAT, the firewall) is configured. */
    conntrack: z
      .object({
        /** Flows the table holds (all workers together); about 105 bytes each (bench/results/nat.json: 104.6 at the default capacity). */
        capacity: z.number().int('must be a whole number').min(16, 'must be at least 16').max(16 * 1024 * 1024, 'must be at most 16777216').default(1 << 20),
      })
      .strict()
      .default({ capacity: 1 << 20 }),
    reassembly: z
      .object({
        /** Datagrams to the router that may be in pieces at once (72 KiB each, per worker). */
        datagrams: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1024, 'must be at most 1024').default(16),
        /** How long the pieces of one datagram are kept (Linux's ipfrag_time is 30 s). */
        timeoutMs: z.number().int('must be a whole number').min(100, 'must be at least 100').max(120_000, 'must be at most 120000').default(30_000),
      })
      .strict()
      .default({ datagrams: 16, timeoutMs: 30_000 }),
    // The firewall: endpoints, namespaces, firewall, networkPolicies, networkPolicyFile (firewall-schema.ts).
    ...firewallConfigShape,
    /** The L4 load balancer's VIPs and backends (load-balancer-schema.ts). */
    loadBalancer: loadBalancerSchema.optional(),
    /** The control API (gRPC): a Unix socket, and optionally TCP on the loopback. */
    control: controlSchema.default({ socket: DEFAULT_CONTROL_SOCKET }),
    /** The Prometheus endpoint; absent: none. */
    metrics: metricsSchema.optional(),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
export type RawRouteObject = z.infer<typeof routeObjectSchema>;

// The forwarding graph of a router, assembled: nodes in packet-path order,
// the context they share, and one entry point that runs a batch through
// everything (timers first, then the received packets). The same Router runs
// live on a worker, in `replay`, in tests and in benchmarks.
import type { RouterConfig } from '../config/load.js';
import { ArpInput } from '../arp/arp-input.js';
import { ArpResolve } from '../arp/arp-resolve.js';
import type { NeighborSync } from '../arp/neighbor-sync.js';
import { ArpResolver } from '../arp/resolver.js';
import type { NexthopTable } from '../route/nexthops.js';
import type { Batch } from './batch.js';
import { systemClock, type Clock } from './clock.js';
import type { FibLookup, ForwardingContext } from './context.js';
import { Graph } from './graph.js';
import type { PipelineNode } from './node.js';
import { EthernetInput } from './nodes/ethernet-input.js';
import { IcmpError } from './nodes/icmp-error.js';
import { Ip4Frag } from './nodes/ip4-frag.js';
import { Ip4Gso } from './nodes/ip4-gso.js';
import { Ip4Fast } from './nodes/ip4-fast.js';
import { FastFlows } from './nodes/ip4-fast-flow.js';
import { FlowEncap } from './nodes/flow-encap.js';
import { Ip4Input } from './nodes/ip4-input.js';
import { Ip4Local } from './nodes/ip4-local.js';
import { Ip4Reassembly } from './nodes/ip4-reassembly.js';
import { Reassembler } from './reassembly.js';
import { Ip4Lookup } from './nodes/ip4-lookup.js';
import { Ip4Output } from './nodes/ip4-output.js';
import { Ip4Rewrite } from './nodes/ip4-rewrite.js';
import { PortTable } from './ports.js';
import { TokenBucket } from './token-bucket.js';
import { NatBindings } from '../nat/bindings.js';
import { SweepPacer } from '../flow/sweep-pacer.js';
import { CtInput } from '../nat/ct-input.js';
import { NatOutput } from '../nat/nat-output.js';
import { attachNatTables, createNatTables, type NatBuffers, type NatTables } from '../nat/nat-tables.js';
import { NatRules } from '../nat/rules.js';
import { trackingConfig } from '../nat/nat-config.js';
import { Firewall } from '../firewall/firewall.js';
import { FirewallClassifier } from '../firewall/classifier.js';
import { FirewallNode } from '../firewall/firewall-node.js';
import type { LbBuffers } from '../lb/lb-tables.js';
import { LbControl } from '../lb/lb-control.js';
import { LoadBalancer } from '../lb/load-balancer.js';
import { LbForward } from '../lb/lb-forward.js';
import { LbEncap } from '../lb/lb-encap.js';
import { LbDecap } from '../lb/lb-decap.js';
import { prefixMask } from '../route/prefix.js';

export interface RouterOptions {
  clock?: Clock;
  /** Slots in the batches this router will run (vectors are sized for it). */
  batchCapacity: number;
  /** Largest datagram the ARP queue holds (the batch's maxFrame). */
  maxFrame: number;
  /** Count into this buffer (a worker's SharedArrayBuffer) instead of private memory. */
  counterBuffer?: (bytes: number) => ArrayBufferLike;
  /** Neighbors learned by other workers (live, several workers). */
  neighborSync?: NeighborSync;
  /** The ICMP error rate limit's state, shared by every worker (TokenBucket.BYTES): one limit for the dataplane. */
  icmpLimit?: SharedArrayBuffer;
  /** Ports take unicast frames for any MAC (replay of captures made elsewhere). */
  promiscuous?: boolean;
  /**
   * The NAT state shared by the workers (createNatTables on the main thread)
   * and this router's worker index. Without it a router with a `nat:` config
   * makes its own, for one worker (replay, tests).
   */
  nat?: { buffers: NatBuffers; worker: number };
  /** Where this router counts the firewall's rule hits (a worker's SharedArrayBuffer of Firewall.hitsBytes). */
  firewallHits?: ArrayBufferLike;
  /**
   * The load balancer's tables the workers share (LbControl on the main
   * thread) and this router's worker index. Without it a router with VIPs
   * builds its own tables, for one worker (replay, tests): `lbControl`.
   */
  lb?: { buffers: LbBuffers; worker: number };
  /** Put the fused fast path (nodes/ip4-fast.ts) in front where it applies; default true. False: every packet takes the full graph (benchmarks compare the two). */
  fastPath?: boolean;
}

/** Largest frame the NAT's fragment hold keeps (fragments are cut to an MTU; 9000-byte jumbo frames fit). */
const MAX_HELD_FRAGMENT = 9216;

/**
 * The NAT sweep's pace (flow/sweep-pacer.ts): a lap of the worker's used ids
 * every second, at least 16 and at most 256 records a batch (256 also after a
 * sweep that ended flows).
 */
const SWEEP_LAP_MS = 1000;
const SWEEP_MIN_RECORDS = 16;
const SWEEP_MAX_RECORDS = 256;

export class Router {
  readonly ctx: ForwardingContext;
  readonly graph: Graph;
  /** The neighbor table, the ARP queue and their timer. */
  readonly arp: ArpResolver;
  private readonly entryId: number;
  /** The fused fast path (nodes/ip4-fast.ts; with a flow stage, nodes/ip4-fast-flow.ts, where stateful features are configured). */
  readonly fast: Ip4Fast | undefined;
  private readonly fastId: number;
  /** Whether batches start at the fast path, when it is installed; false: the full graph (benchmarks compare the two on one router and its tables). */
  fastPathOn = true;
  private readonly arpResolve: ArpResolve;
  private readonly reassembly: Ip4Reassembly;
  private readonly toTx: (slot: number) => void;
  private readonly toIcmpError: (slot: number) => void;
  /** Connection tracking and NAT, when the config has `nat:` or a firewall (which tracks flows without translating them). */
  readonly nat: NatBindings | undefined;
  /** How many records the NAT sweep looks at per batch. */
  private readonly sweepPacer = new SweepPacer(SWEEP_LAP_MS, SWEEP_MIN_RECORDS, SWEEP_MAX_RECORDS);
  /** The stateful firewall, when the config has one. */
  readonly firewall: Firewall | undefined;
  readonly natTables: NatTables | undefined;
  /** The load balancer, when the config has VIPs. */
  readonly lb: LoadBalancer | undefined;
  /** The load balancer's tables, when this router made its own (no `lb` option). */
  readonly lbControl: LbControl | undefined;
  private ctInput: CtInput | undefined;

  constructor(config: RouterConfig, fib: FibLookup, nexthops: NexthopTable, opts: RouterOptions) {
    const clock = opts.clock ?? systemClock;
    this.ctx = {
      ports: new PortTable(config.ports, { promiscuous: opts.promiscuous }),
      fib,
      nexthops,
      clock,
      icmpLimiter: new TokenBucket(config.icmp.ratePerSecond, config.icmp.burst, clock, opts.icmpLimit),
    };
    const ctx = this.ctx;
    this.arp = new ArpResolver(ctx, config, opts.maxFrame, opts.neighborSync);
    this.arpResolve = new ArpResolve(ctx, this.arp);
    this.reassembly = new Ip4Reassembly(new Reassembler(config.reassembly.datagrams, config.reassembly.timeoutMs), clock);
    const tracking = trackingConfig(config);
    const lbConfig = config.loadBalancer;
    const ethernetInput = new EthernetInput(ctx);
    const ip4Input = new Ip4Input(ctx);
    const ip4Lookup = new Ip4Lookup(ctx);
    const ip4Rewrite = new Ip4Rewrite(ctx);
    const ip4Output = new Ip4Output(ctx, this.arp.neighbors);
    this.graph = new Graph(opts.batchCapacity);
    // The fused fast path goes first (nodes run in the order added). Stateful features splice nodes into
    // the path it fuses (ct-input before ip4-lookup, the firewall and nat-output after it): it then takes
    // established flows' packets through its flow stage (set below). Not with tunnel decap ports (lb-decap
    // judges every routed packet).
    const decap = config.ports.some((p) => p.decap !== undefined);
    const bypassed = [ethernetInput, ip4Input, ip4Lookup, ip4Rewrite, ip4Output];
    if (!decap && opts.fastPath !== false) this.graph.add((this.fast = new Ip4Fast(ctx, this.arp.neighbors, bypassed)));
    this.graph
      .add(ethernetInput)
      .add(new ArpInput(ctx, this.arp))
      .add(ip4Input)
      .add(new Ip4Local())
      .add(this.reassembly)
      .add(new IcmpError(ctx))
      .add(ip4Lookup)
      .add(ip4Rewrite)
      .add(new Ip4Frag(ctx))
      .add(new Ip4Gso())
      .add(ip4Output)
      .add(this.arpResolve);
    // Where a routed packet goes after ip4-lookup: the tunnel terminator, the firewall, nat-output, ip4-rewrite.
    const afterRouting: string[] = [];
    let encap: FlowEncap | undefined;
    let encapBypassed: PipelineNode[] = [];
    let encapBypassedL2: PipelineNode[] = [];
    if (config.ports.some((p) => p.decap !== undefined)) {
      this.graph.add(new LbDecap(ctx, config.ports.map((p) => p.decap)));
      afterRouting.push('lb-decap');
    }
    if (tracking !== undefined) {
      const affinityMs = lbConfig?.vips.reduce((m, v) => Math.max(m, v.affinity?.timeoutMs ?? 0), 0);
      const buffers = opts.nat?.buffers ?? createNatTables(tracking, ctx.ports.address, { capacity: config.conntrack.capacity, workers: 1, affinityMs });
      const tables = attachNatTables(buffers, tracking, ctx.ports.address, opts.nat?.worker ?? 0);
      const rules = new NatRules(tracking, ctx.ports.count, ctx.ports.address);
      // Replies to an SNAT pool address come to the rule's port: answer ARP for it there.
      for (const r of tracking.snat) for (const a of r.addresses) if (a !== ctx.ports.address[r.outPort]) ctx.ports.answerArpFor(r.outPort, a);
      this.nat = new NatBindings(tables, rules, tracking.minPortsPerEndpoint);
      this.natTables = tables;
      const firewall = config.firewall === undefined ? undefined : new Firewall(FirewallClassifier.build(config.firewall), opts.firewallHits);
      this.firewall = firewall;
      let lb: LoadBalancer | undefined;
      if (lbConfig !== undefined) {
        if (opts.lb === undefined) this.lbControl = LbControl.create(lbConfig, 1);
        lb = new LoadBalancer(lbConfig, opts.lb?.buffers ?? this.lbControl!.tables.buffers, opts.lb?.worker ?? 0, this.nat);
        this.lb = lb;
        // A VIP on a connected subnet is answered for there (clients may reach it without a route).
        for (const v of lbConfig.vips) {
          config.ports.forEach((p, i) => {
            if (((v.address ^ p.address) & prefixMask(p.prefixLen)) === 0) ctx.ports.answerArpFor(i, v.address);
          });
        }
      }
      // Tracking before routing, on every path into it; the filter after routing; flows start after that.
      this.graph
        .add((this.ctInput = new CtInput(ctx, this.nat, rules, Math.min(opts.maxFrame, MAX_HELD_FRAGMENT), firewall, lb)))
        .add(new NatOutput(clock, this.nat, rules, firewall, lb))
        .redirect('ip4-input', 'lookup', 'ct-input')
        .redirect('icmp-error', 'lookup', 'ct-input');
      if (firewall !== undefined) {
        this.graph.add(new FirewallNode(firewall, lb));
        afterRouting.push('firewall');
      }
      afterRouting.push('nat-output');
      if (lb !== undefined) {
        // Direct-return packets skip routing: lb-forward picks their way, then on as routed packets go.
        this.graph.add(new LbForward(ctx, lb)).redirect('ct-input', 'lb', 'lb-forward');
        if (firewall !== undefined) this.graph.redirect('lb-forward', 'out', 'firewall');
        if (lb.encapsulates) this.graph.add(new LbEncap(ctx, lb)).redirect('nat-output', 'encap', 'lb-encap').redirect('lb-forward', 'encap', 'lb-encap');
      }
      if (this.fast !== undefined) {
        // A flow's packet skips ct-input, routing (or lb-forward for dsr-l2), the firewall and nat-output (which pass it).
        const g = this.graph;
        const routed = [ethernetInput, ip4Input, g.node('ct-input'), ip4Lookup, ...(firewall !== undefined ? [g.node('firewall')] : []), g.node('nat-output'), ip4Rewrite, ip4Output];
        const dsr = lb === undefined ? [] : [ethernetInput, ip4Input, g.node('ct-input'), g.node('lb-forward'), ip4Rewrite, ip4Output];
        // Direct-return VIPs: their established flows' packets are sent from the flow stage (flow-encap.ts), a
        // tunnel mode's wrapped there, skipping lb-encap as well; wired to the graph once it is built.
        if (lb !== undefined && lbConfig!.vips.some((v) => v.mode !== 'nat')) {
          encap = new FlowEncap(ctx, lb, this.nat.flows, this.arp.neighbors);
          if (lb.encapsulates) encapBypassed = [ethernetInput, ip4Input, g.node('ct-input'), g.node('lb-forward'), g.node('lb-encap'), ip4Rewrite, ip4Output];
          encapBypassedL2 = dsr;
        }
        this.fast.useFlows(new FastFlows(this.nat.flows, firewall, lb, encap), routed, dsr);
      }
    }
    if (afterRouting.length > 0) {
      this.graph.redirect('ip4-lookup', 'rewrite', afterRouting[0]);
      if (afterRouting[0] === 'lb-decap' && afterRouting.length > 1) this.graph.redirect('lb-decap', 'rewrite', afterRouting[1]);
    }
    this.graph.build(opts.counterBuffer);
    if (encap !== undefined) {
      const lbEncap = this.lb!.encapsulates ? (this.graph.node('lb-encap') as LbEncap) : undefined;
      encap.bind({
        graph: this.graph, from: this.fast!, tx: this.fast!.next.tx, bypassed: encapBypassed, bypassedL2: encapBypassedL2,
        ipipCounter: lbEncap?.counter.ipip ?? -1, gueCounter: lbEncap?.counter.gue ?? -1,
      });
    }
    this.entryId = this.graph.node('ethernet-input').id;
    this.fastId = this.fast?.id ?? -1;
    const arp = this.arpResolve;
    this.toTx = (slot) => this.graph.enqueue(arp, arp.next.tx, slot);
    this.toIcmpError = (slot) => {
      this.graph.countDrop(arp, arp.reason.resolutionFailed, slot);
      this.graph.enqueue(arp, arp.next.icmpError, slot);
    };
  }

  /**
   * Puts new forwarding tables in force (a new generation from the control
   * plane); call between batches only. Nodes read ctx.fib and ctx.nexthops
   * at the start of each batch, and those that cache next-hop indexes notice
   * the new table by its identity.
   */
  setTables(fib: FibLookup, nexthops: NexthopTable): void {
    this.ctx.fib = fib;
    this.ctx.nexthops = nexthops;
  }

  get counters() {
    return this.graph.counters;
  }

  /** Runs one batch: ARP and reassembly timers, then slots [0, batch.rxCount). Output is in graph.output. */
  process(batch: Batch): void {
    const g = this.graph;
    g.begin(batch);
    const lost = this.arp.service(batch, this.toTx, this.toIcmpError);
    for (let i = 0; i < lost; i++) g.counters.add(this.arpResolve.counter.timerNoBuffer, 0);
    this.reassembly.service(batch, g);
    const nat = this.nat;
    if (nat !== undefined) {
      const now = this.ctx.clock.nowMs();
      this.sweepPacer.ended(nat.service(now, this.sweepPacer.budget(now, nat.flows.sliceUsed())));
    }
    if (this.ctInput !== undefined) this.ctInput.service(batch, g);
    // A batch with traced packets takes the full graph, so the trace lists the nodes it always did.
    g.run(this.fastId >= 0 && batch.traced === 0 && this.fastPathOn ? this.fastId : this.entryId);
  }
}

// `dataplane lb preview --config CFG --new NEW.yaml [--flows CAPTURE] [--json]`:
// per VIP, the share of Maglev table slots (and of a capture's flows) that
// would change backend if NEW replaced CFG, computed from both configs'
// tables (src/lb/preview.ts) before anything is applied.
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { readCaptureFlows, type CaptureFlows } from '../lb/capture-flows.js';
import { previewLoadBalancer, type FlowHashing, type VipPreview } from '../lb/preview.js';
import { ipv4ToString } from '../wire/address.js';
import { printConfigWarnings } from './config-notices.js';

export interface LbPreviewOptions {
  config: string;
  new: string;
  flows?: string;
  json: boolean;
}

const COMMAND = 'lb preview';

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EISDIR') return 'is a directory, not a capture file';
  if (err?.code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

function vipLabel(p: VipPreview): string {
  const v = p.vip;
  return `${p.name} (${ipv4ToString(v.address)} ${v.protocol === 6 ? 'tcp' : 'udp'}${v.port === 0 ? '' : `/${v.port}`}, ${v.mode}, ${v.tableSize} slots)`;
}

function shareText(s: number | undefined): string {
  return s === undefined ? 'absent' : pct(s);
}

/** How a config picks a flow's backend, in words: what the capture's flows were counted with. */
function hashingText(h: FlowHashing): string {
  if (h.by === 'flow') return `per flow (${h.hash} hash)`;
  return `per client /${h.prefixLength} (clientIP affinity: a client's first flow in the capture picks by its ${h.hash} hash, its other flows follow)`;
}

function hashingLine(p: VipPreview): string {
  const { before, after } = p.hashing;
  if (before !== undefined && after !== undefined && JSON.stringify(before) !== JSON.stringify(after)) return `  hashing: before ${hashingText(before)}; after ${hashingText(after)}`;
  return `  hashing: ${hashingText((after ?? before)!)}`;
}

function textLines(previews: VipPreview[], capture: { file: string; flows: CaptureFlows } | undefined): string[] {
  const lines: string[] = [];
  if (capture) {
    const f = capture.flows;
    lines.push(
      `capture ${capture.file}: ${f.frames} frames, ${f.packets} TCP/UDP packets to VIP addresses, ${f.count} flows` +
        (f.fragments > 0 ? `, ${f.fragments} fragments left out` : ''),
    );
  }
  if (previews.length === 0) return [...lines, 'no VIPs in either config (nothing to compare: add loadBalancer.vips, CONFIG.md "Load balancer")'];
  for (const p of previews) {
    const flows = p.flows;
    if (p.change === 'added' || p.change === 'removed') {
      lines.push(`${vipLabel(p)}: ${p.change} (${p.vip.backends.length} backends)`);
      if (flows !== undefined) lines.push(`  flows: ${flows} in the capture ${p.change === 'added' ? 'would now be balanced by it' : 'would lose their VIP'}`);
      continue;
    }
    lines.push(
      `${vipLabel(p)}: ${pct(p.slotShare)} of slots change backend` +
        (p.sampled ? ' (table size changes: estimated over 2^20 flow hashes)' : ` (${p.slotsMoved} of ${p.vip.tableSize})`),
    );
    if (flows !== undefined) {
      lines.push(`  flows: ${flows === 0 ? 'none in the capture' : `${pct(p.flowsMoved! / flows)} of its ${flows} flows in the capture would move (${p.flowsMoved})`}`);
      lines.push(hashingLine(p));
    }
    if (p.notes.length > 0) lines.push(`  also: ${p.notes.join(', ')}`);
    for (const b of p.backends) {
      if (b.before === b.after) continue;
      lines.push(`  ${ipv4ToString(b.address).padEnd(15)}  ${shareText(b.before)} -> ${shareText(b.after)} of slots`);
    }
  }
  lines.push('Live flows stay pinned to their backend in the flow table; the shares are what new flows would see. Backends are taken as healthy.');
  if (capture && previews.some((p) => p.hashing.before?.by === 'client' && p.hashing.after?.by === 'client')) {
    lines.push("With clientIP affinity, a client whose affinity entry is still fresh keeps its backend while that backend stays in the config, until the entry's timeout; the flow shares are what clients without one would see.");
  }
  return lines;
}

function jsonDoc(previews: VipPreview[], capture: { file: string; flows: CaptureFlows } | undefined): unknown {
  return {
    capture: capture && { file: capture.file, frames: capture.flows.frames, packets: capture.flows.packets, flows: capture.flows.count, fragments: capture.flows.fragments },
    vips: previews.map((p) => ({
      name: p.name,
      change: p.change,
      address: ipv4ToString(p.vip.address),
      protocol: p.vip.protocol === 6 ? 'tcp' : 'udp',
      port: p.vip.port,
      tableSize: p.vip.tableSize,
      slotsMoved: p.slotsMoved,
      slotShare: p.slotShare,
      sampled: p.sampled,
      flows: p.flows,
      flowsMoved: p.flowsMoved,
      flowShare: p.flows === undefined || p.flows === 0 ? undefined : p.flowsMoved! / p.flows,
      hashing: p.hashing,
      notes: p.notes,
      backends: p.backends.map((b) => ({ address: ipv4ToString(b.address), before: b.before, after: b.after })),
    })),
  };
}

/** Returns the exit status: 0 done, 1 unreadable capture, 2 bad config or options. */
export function runLbPreview(opts: LbPreviewOptions): number {
  let before: RouterConfig;
  let after: RouterConfig;
  try {
    before = loadConfig(opts.config);
    after = loadConfig(opts.new);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`dataplane ${COMMAND}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  printConfigWarnings(COMMAND, before.notices);
  printConfigWarnings(COMMAND, after.notices);
  let capture: { file: string; flows: CaptureFlows } | undefined;
  if (opts.flows !== undefined) {
    const vips = [...(before.loadBalancer?.vips ?? []), ...(after.loadBalancer?.vips ?? [])];
    try {
      capture = { file: opts.flows, flows: readCaptureFlows(opts.flows, vips) };
    } catch (e) {
      process.stderr.write(`dataplane ${COMMAND}: ${opts.flows}: ${describeError(e)}\n`);
      return 1;
    }
  }
  const previews = previewLoadBalancer(before.loadBalancer, after.loadBalancer, capture?.flows);
  process.stdout.write(opts.json ? JSON.stringify(jsonDoc(previews, capture), null, 2) + '\n' : textLines(previews, capture).join('\n') + '\n');
  return 0;
}

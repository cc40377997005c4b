// The live benchmark's Markdown table and SVG chart (hand-written SVG: one
// horizontal bar per subject for 64-byte pps, TCP Gbit/s beside it).
import { writeFileSync } from 'node:fs';

export interface LiveResult {
  label: string;
  subject: 'dataplane' | 'linux-kernel' | 'dpdk-testpmd';
  ports: string;
  workers: number;
  offeredPps?: number;
  sinkPps?: number;
  lossPct?: number;
  rttP50Us?: number;
  rttP99Us?: number;
  tcpGbps?: number;
  cpuNsPerPacket?: number;
  notes: string[];
}

const f = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));

export function writeLiveMarkdown(path: string, results: readonly LiveResult[]): void {
  const lines = [
    '# Live forwarding: generator ns -> router -> sink ns',
    '',
    `${new Date().toISOString()}, ${process.version}, ${results.length} subjects, same topology (dataplane lab), 64-byte UDP from trafgen for 3 s, TCP from iperf3 -t 3.`,
    '',
    '| router | sink kpps | offered kpps | loss % | RTT p50 us | RTT p99 us | TCP Gbit/s | CPU ns/pkt | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.label} | ${f((r.sinkPps ?? NaN) / 1000, 1)} | ${f((r.offeredPps ?? NaN) / 1000, 1)} | ${f(r.lossPct, 1)} | ${f(r.rttP50Us)} | ${f(r.rttP99Us)} | ${f(r.tcpGbps, 2)} | ${f(r.cpuNsPerPacket)} | ${r.notes.join('; ').replace(/\|/g, '/')} |`,
    );
  }
  lines.push(
    '',
    'Reading it: trafgen offers as fast as one core lets it; where loss is ~0 the generator, not the router, was the limit.',
    'The kernel forwards veth traffic in the sender\'s softirq context, on the generator\'s core, so its pps is bounded by the',
    'generator; its TCP figure shows what it does with GSO/GRO on a single flow. CPU ns/pkt is the router process\'s',
    'utime+stime (all threads) over forwarded packets; testpmd busy-polls a core whatever the load.',
    '"afpacket" rows turn TSO/GSO/GRO and checksum offload off on the veths; "afpacket+offload" rows leave the kernel\'s',
    'defaults on (as Docker does), so TCP crosses the dataplane in 64 KiB super-frames (PACKET_VNET_HDR).',
  );
  writeFileSync(path, lines.join('\n') + '\n');
}

const COLORS: Record<LiveResult['subject'], string> = { dataplane: '#2b6cb0', 'linux-kernel': '#718096', 'dpdk-testpmd': '#c05621' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function writeLiveChart(path: string, results: readonly LiveResult[]): void {
  const rowH = 28;
  const left = 190;
  const barW = 320;
  const tcpLeft = left + barW + 90;
  const tcpW = 180;
  const top = 50;
  const height = top + results.length * rowH + 30;
  const width = tcpLeft + tcpW + 80;
  const maxPps = Math.max(1, ...results.map((r) => r.sinkPps ?? 0));
  const maxTcp = Math.max(0.001, ...results.map((r) => r.tcpGbps ?? 0));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Live forwarding, generator ns -&gt; router -&gt; sink ns (${new Date().toISOString().slice(0, 10)})</text>`,
    `<text x="${left}" y="40">64-byte UDP at the sink (kpps)</text>`,
    `<text x="${tcpLeft}" y="40">TCP, iperf3 (Gbit/s)</text>`,
  ];
  results.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    const w = ((r.sinkPps ?? 0) / maxPps) * barW;
    out.push(`<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLORS[r.subject]}"/>`);
    out.push(`<text x="${left + w + 4}" y="${y + 15}">${r.sinkPps === undefined ? 'n/a' : ((r.sinkPps ?? 0) / 1000).toFixed(1)}</text>`);
    const tw = ((r.tcpGbps ?? 0) / maxTcp) * tcpW;
    out.push(`<rect x="${tcpLeft}" y="${y + 3}" width="${tw.toFixed(1)}" height="${rowH - 8}" fill="${COLORS[r.subject]}" opacity="0.7"/>`);
    out.push(`<text x="${tcpLeft + tw + 4}" y="${y + 15}">${r.tcpGbps === undefined ? 'n/a' : r.tcpGbps.toFixed(2)}</text>`);
  });
  out.push(`<text x="10" y="${height - 8}" fill="#555">blue: dataplane, grey: Linux kernel, orange: DPDK testpmd (net_af_packet). 2-core machine; generator, router and sink share it.</text>`);
  out.push('</svg>');
  writeFileSync(path, out.join('\n') + '\n');
}

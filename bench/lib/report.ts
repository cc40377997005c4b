// Benchmark results: one row per measurement, printed as a table and written
// as JSON under bench/results/ so runs can be compared over time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { RESULTS_DIR } from './paths.js';

export interface BenchRow {
  /** Area and case, e.g. "decode/64B-udp". */
  name: string;
  /** Who was measured: "dataplane" or a peer ("cap", "node_pcap", "tcpdump"). */
  subject: string;
  /** Main figure and its unit (Mpps, ns/op, MB/s). */
  value: number;
  unit: string;
  /** Nanoseconds per packet/operation where it applies. */
  nsPerOp?: number;
  /** Relative margin of error of the measurement, in percent. */
  rmePct?: number;
  /** Extra facts: memory, sample counts, target. */
  notes?: string;
  /** Set on a row kept from an earlier run of the area (ISO date of that run): see writeResults. */
  measured?: string;
}

export interface BenchTarget {
  description: string;
  met: boolean;
  measured: string;
  /** Set on a target kept from an earlier run of the area (ISO date of that run). */
  measuredOn?: string;
}


function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function printTable(title: string, rows: readonly BenchRow[]): void {
  const header = ['case', 'subject', 'value', 'unit', 'ns/op', '±%', 'notes'];
  const body = rows.map((r) => [
    r.name,
    r.subject,
    fmt(r.value),
    r.unit,
    r.nsPerOp === undefined ? '' : fmt(r.nsPerOp),
    r.rmePct === undefined ? '' : r.rmePct.toFixed(1),
    r.notes ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(`\n## ${title}\n`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
}

export function printTargets(targets: readonly BenchTarget[]): void {
  if (targets.length === 0) return;
  console.log('\nTargets:');
  for (const t of targets) console.log(`  [${t.met ? 'met' : 'MISSED'}] ${t.description}: ${t.measured}`);
}

/** The machine a run was measured on (written with every result). */
export function machineInfo(): { cpus: number; cpu: string; memGiB: number; node: string } {
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

/** "on <CPU model>, N cpus": for notes beside ratios, which hold only on the machine they were measured on. */
export function machineLabel(): string {
  const m = machineInfo();
  return `on ${m.cpu}, ${m.cpus} cpus, Node ${m.node}`;
}

/**
 * Writes bench/results/<area>.json and returns its path. A run that measured
 * only part of an area (DP_*_BENCH filters, one mode) must not erase the
 * rest: rows and targets of the file's earlier run that this run did not
 * produce (rows by name, whatever their subjects; targets by description) are kept, each tagged with the date of
 * the run that measured it.
 */
export function writeResults(area: string, rows: readonly BenchRow[], targets: readonly BenchTarget[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${area}.json`);
  const date = new Date().toISOString();
  const earlier = readEarlier(path);
  const names = new Set(rows.map((r) => r.name));
  const descriptions = new Set(targets.map((t) => t.description));
  const keptRows = earlier.rows.filter((r) => !names.has(r.name)).map((r) => ({ ...r, measured: r.measured ?? earlier.date }));
  const keptTargets = earlier.targets.filter((t) => !descriptions.has(t.description)).map((t) => ({ ...t, measuredOn: t.measuredOn ?? earlier.date }));
  const doc = {
    area,
    date,
    machine: machineInfo(),
    // The 1, 5 and 15 minute load averages when the run ended: on a shared machine, how busy it was.
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    rows: [...rows, ...keptRows],
    targets: [...targets, ...keptTargets],
  };
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  if (keptRows.length > 0) console.error(`bench: kept ${keptRows.length} row(s) of ${path} that this run did not measure (tagged with their run's date)`);
  return path;
}

/** The rows and targets of an earlier results file (none if absent or unreadable). */
function readEarlier(path: string): { date: string; rows: BenchRow[]; targets: BenchTarget[] } {
  if (!existsSync(path)) return { date: '', rows: [], targets: [] };
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { date?: string; rows?: BenchRow[]; targets?: BenchTarget[] };
    return { date: doc.date ?? '', rows: Array.isArray(doc.rows) ? doc.rows : [], targets: Array.isArray(doc.targets) ? doc.targets : [] };
  } catch {
    return { date: '', rows: [], targets: [] };
  }
}

// tshark as the oracle for decodeFrame: the fields it prints for every frame
// of a set of captures. Test helper only.
//
// Starting tshark costs ~0.2 s (dissector registration), which over ~600
// captures is most of two minutes. So captures that read cleanly are
// concatenated with `mergecap -a` (per-file interfaces, link types, lengths
// and timestamps are kept) and dissected in a few large runs; their
// boundaries come from `capinfos -c`, which reads through the same wiretap
// library as tshark. A capture that wiretap reports an error for gets a
// tshark run of its own, since mergecap stops at the first bad record.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIELDS = [
  'frame.number',
  'frame.len',
  'frame.cap_len',
  'frame.time_epoch',
  'frame.protocols',
  'eth.src',
  'eth.dst',
  'ieee8021ad.id',
  'vlan.id',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.ttl',
  'ip.len',
  'ip.hdr_len',
  'ip.id',
  'ip.flags.df',
  'ip.flags.mf',
  'ip.frag_offset',
  'ip.checksum.status',
  'ip.opt.type',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  // tshark fills tcp.seq, not tcp.seq_raw, for the TCP header an ICMP error quotes.
  'tcp.seq',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum.status',
  'icmp.type',
  'icmp.code',
  'icmp.mtu',
  'icmp.ident',
  'icmp.seq',
  'icmp.checksum.status',
] as const;

export type Field = (typeof FIELDS)[number];
/** One frame: every occurrence of each field, outermost first. */
export type TsharkRow = Record<Field, string[]>;

const PREFS = [
  'ip.defragment:FALSE',
  'tcp.desegment_tcp_streams:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
  'ip.check_checksum:TRUE',
  'tcp.check_checksum:TRUE',
  'udp.check_checksum:TRUE',
];

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function parseRows(stdout: string): TsharkRow[] {
  const rows: TsharkRow[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('\t');
    const row = {} as TsharkRow;
    FIELDS.forEach((f, i) => {
      const v = cols[i] ?? '';
      row[f] = v === '' ? [] : f === 'frame.protocols' ? [v] : v.split(',');
    });
    rows.push(row);
  }
  return rows;
}

/** tshark's rows for one capture, and its stderr. */
export async function tsharkRows(file: string): Promise<{ rows: TsharkRow[]; stderr: string }> {
  const args = ['-n', '-r', file, ...PREFS.flatMap((p) => ['-o', p]), '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const r = await run('tshark', args);
  return { rows: parseRows(r.stdout), stderr: r.stderr };
}

/** Frame counts that wiretap reads from each file, and the files it reports an error for. */
export async function capinfosCounts(files: readonly string[]): Promise<{ counts: Map<string, number>; failed: Set<string> }> {
  const counts = new Map<string, number>();
  const failed = new Set<string>();
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += 200) batches.push(files.slice(i, i + 200));
  for (const r of await pool(batches, 2, (b) => run('capinfos', ['-T', '-r', '-c', '-M', ...b]))) {
    for (const line of r.stdout.split('\n')) {
      const tab = line.lastIndexOf('\t');
      if (tab > 0) counts.set(line.slice(0, tab), Number(line.slice(tab + 1)));
    }
    for (const f of files) if (r.stderr.includes(`"${f}"`)) failed.add(f);
  }
  for (const f of files) if (!counts.has(f)) failed.add(f);
  return { counts, failed };
}

/** tshark rows per file: clean files through merged runs, the rest one by one. */
export async function tsharkAll(files: readonly string[], parallel = 2): Promise<Map<string, { rows: TsharkRow[]; stderr: string }>> {
  const { counts, failed } = await capinfosCounts(files);
  const clean = files.filter((f) => !failed.has(f));
  const result = new Map<string, { rows: TsharkRow[]; stderr: string }>();
  const tmp = mkdtempSync(join(tmpdir(), 'decode-tshark-'));
  try {
    const groups: string[][] = Array.from({ length: parallel }, () => []);
    clean.forEach((f, i) => groups[i % parallel].push(f));
    const merged = await pool(
      groups.filter((g) => g.length > 0),
      parallel,
      async (group) => {
        const out = join(tmp, `merged-${clean.indexOf(group[0])}.pcapng`);
        const m = await run('mergecap', ['-a', '-I', 'none', '-F', 'pcapng', '-w', out, ...group]);
        if (m.code !== 0) throw new Error(`mergecap failed: ${m.stderr}`);
        return { group, ...(await tsharkRows(out)) };
      },
    );
    for (const { group, rows, stderr } of merged) {
      const expected = group.reduce((n, f) => n + (counts.get(f) ?? 0), 0);
      if (rows.length !== expected) throw new Error(`merged tshark run gave ${rows.length} frames, capinfos counts add up to ${expected}`);
      let at = 0;
      for (const f of group) {
        const n = counts.get(f) ?? 0;
        result.set(f, { rows: rows.slice(at, at + n), stderr });
        at += n;
      }
    }
    const single = files.filter((f) => failed.has(f));
    const alone = await pool(single, parallel, (f) => tsharkRows(f));
    single.forEach((f, i) => result.set(f, alone[i]));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

/** Every file under `dir` (recursively), .gz skipped, sorted. */
export function listCaptures(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.endsWith('.gz')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

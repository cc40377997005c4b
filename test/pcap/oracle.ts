// tshark and tcpdump as oracles for the capture reader: what they say each
// record's captured length, original length, timestamp and interface are.
// Helpers for the tests only.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureFormatError, CaptureReader } from '../../src/pcap/reader.js';
import type { CaptureRecord } from '../../src/pcap/reader.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../..');
/** The shared capture corpus (beside the repository), or $PCAP_DATA_DIR. */
export const DATA_DIR = process.env.PCAP_DATA_DIR ?? resolve(REPO_ROOT, '../shared/data/pcaps');
export const FIXTURE = join(here, 'fixtures', 'oracle.json');

/** Link type whose 4-byte pseudo-header Wireshark moves out of the frame (its lengths are 4 less). */
const LINKTYPE_SUNATM = 123;

export function hasTool(name: string): boolean {
  const r = spawnSync(name, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Every capture under DATA_DIR (recursively, .gz skipped), as paths relative to it, sorted. */
export function listCaptures(dir = DATA_DIR): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.endsWith('.gz')) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** First 64 bits of the SHA-1, in hex: enough to notice a changed file or a different answer. */
export function sha1(data: Uint8Array | string): string {
  return createHash('sha1').update(data).digest('hex').slice(0, 16);
}

/**
 * A timestamp as tshark prints frame.time_epoch. Wireshark keeps nanoseconds
 * in a 32-bit int, so an out-of-range pcap fraction wraps (and a negative
 * result prints with a leading minus); `| 0` does the same wrap.
 */
export function tsharkTime(tsSec: number, tsNsec: number): string {
  const ns = tsNsec | 0;
  return ns < 0 ? `-${tsSec}.${String(-ns).padStart(9, '0')}` : `${tsSec}.${String(ns).padStart(9, '0')}`;
}

/**
 * One record as a line of `tshark -T fields -e frame.cap_len -e frame.len
 * -e frame.time_epoch -e frame.interface_id`: tshark 4.0 numbers interfaces
 * within each section (localId) and leaves the id empty for classic pcap.
 */
export function tsharkLine(r: CaptureRecord, reader: CaptureReader): string {
  const cut = r.linkType === LINKTYPE_SUNATM ? 4 : 0;
  const id = reader.format === 'pcapng' ? String(reader.interfaces[r.interfaceId].localId) : '';
  return `${r.caplen - cut}\t${r.len - cut}\t${tsharkTime(r.tsSec, r.tsNsec)}\t${id}`;
}

export interface OurRead {
  lines: string[];
  /** The CaptureFormatError, if reading stopped with one. */
  error?: CaptureFormatError;
  /** Any other exception: always a bug. */
  crash?: unknown;
}

/** Reads a capture with CaptureReader into tshark-style lines. */
export function readOurs(pathOrBytes: string | Uint8Array): OurRead {
  const lines: string[] = [];
  let reader: CaptureReader | undefined;
  try {
    reader = typeof pathOrBytes === 'string' ? CaptureReader.open(pathOrBytes) : CaptureReader.fromBytes(pathOrBytes);
    while (reader.next()) lines.push(tsharkLine(reader.record, reader));
    return { lines };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { lines, error: e };
    return { lines, crash: e };
  } finally {
    reader?.close();
  }
}

export interface TsharkResult {
  /** tshark read the whole file without complaint. */
  ok: boolean;
  lines: string[];
  stderr: string;
}

const TSHARK_ARGS = ['-T', 'fields', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.time_epoch', '-e', 'frame.interface_id', '-r'];

function tsharkResult(status: number | null, stdout: string, stderr: string): TsharkResult {
  return {
    ok: status === 0,
    lines: stdout.split('\n').filter((l) => l.length > 0),
    stderr: stderr
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('Running as user'))
      .join('\n'),
  };
}

export function runTshark(path: string): TsharkResult {
  const r = spawnSync('tshark', [...TSHARK_ARGS, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return tsharkResult(r.status, r.stdout ?? '', r.stderr ?? '');
}

export function runTsharkAsync(path: string): Promise<TsharkResult> {
  return new Promise((done, fail) => {
    const child = spawn('tshark', [...TSHARK_ARGS, path]);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', fail);
    child.on('close', (status) => done(tsharkResult(status, out, err)));
  });
}

/** `tcpdump --count`: the packets libpcap read, and whether it read the file to the end without error. */
export function runTcpdumpCount(path: string): { ok: boolean; count: number } {
  const r = spawnSync('tcpdump', ['--count', '-r', path], { encoding: 'utf8' });
  const m = /(\d+) packets?/.exec(r.stdout ?? '');
  return { ok: r.status === 0 && m !== null, count: m ? Number(m[1]) : 0 };
}

export interface OracleEntry {
  /** sha1 of the capture, so that a changed file is not compared with stale answers. */
  sha1: string;
  /** tshark's records: how many, and the sha1 of their lines; its complaint when it did not read it all. */
  tshark: { ok: boolean; count: number; sha1: string; stderr?: string };
  /** Only for files tshark refuses: libpcap's count. */
  tcpdump?: { ok: boolean; count: number };
}

export interface OracleFixture {
  tools: string;
  files: Record<string, OracleEntry>;
}

export function loadFixture(): OracleFixture | undefined {
  if (!existsSync(FIXTURE)) return undefined;
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as OracleFixture;
}

export async function oracleEntry(path: string): Promise<OracleEntry> {
  const t = await runTsharkAsync(path);
  const entry: OracleEntry = {
    sha1: sha1(readFileSync(path)),
    tshark: { ok: t.ok, count: t.lines.length, sha1: sha1(t.lines.join('\n')) },
  };
  if (!t.ok) entry.tshark.stderr = t.stderr.replace(path, '<file>');
  if (!t.ok) entry.tcpdump = runTcpdumpCount(path);
  return entry;
}

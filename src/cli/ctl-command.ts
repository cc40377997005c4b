// `dataplane ctl`: iproute2-like verbs over the control API of a running
// dataplane. Each verb is one gRPC call (ctl-program.ts declares them); this
// module makes the call and prints the answer, as text or --json. Exit
// status: 0 done, 1 the dataplane refused or could not be reached, 2 usage.
//
// Start-up is most of what a ctl process costs (a call is about a
// millisecond), so this module imports only the gRPC client: the default
// socket comes from a module of its own (not the config schema, which loads
// zod), and the YAML parser loads only when --config names a file.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { fileErrorReason } from '../config/file-error.js';
import { quoted } from '../config/quoted.js';
import { parseRouteLine } from '../config/routes.js';
import { FlowFilterError, parseFlowFilter } from '../nat/flow-filter.js';
import { parseTraceFilter, TraceFilterError } from '../trace/filter.js';
import { ExplainSpecError, parseExplainSpec } from '../explain/spec.js';
import { tryParseIpv4Address, tryWriteMac } from '../wire/address.js';
import { ControlCallError, ControlClient } from '../control/client.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/control-socket.js';

export interface CtlOptions {
  socket?: string;
  config?: string;
  json?: boolean;
  timeout?: number;
}

/** Where ctl calls, and how messages name it ("--socket PATH", "the default socket PATH"). */
export interface CtlTarget {
  /** A Unix socket path or HOST:PORT, as ControlClient takes it. */
  where: string;
  named: string;
}

/** Where to call: --socket, else the socket (or listen address) of --config's control section, else the default socket. */
export async function resolveCtlTarget(opts: CtlOptions): Promise<CtlTarget> {
  if (opts.socket !== undefined) return { where: checkSocketOption(opts.socket), named: `--socket ${opts.socket}` };
  if (opts.config !== undefined) {
    const [{ parse: parseYaml }, { YAML_PARSE_TO_JS_OPTIONS }, { textOf }] = await Promise.all([import('yaml'), import('../config/yaml-options.js'), import('../config/text-file.js')]);
    let doc: unknown;
    try {
      const text = textOf(readFileSync(opts.config), opts.config, 'of YAML');
      if (typeof text !== 'string') throw new CtlUsageError(`--config ${text.problem}`);
      doc = parseYaml(text, YAML_PARSE_TO_JS_OPTIONS);
    } catch (e) {
      if (e instanceof CtlUsageError) throw e;
      throw new CtlUsageError(`--config ${opts.config}: ${fileErrorReason(e)}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new CtlUsageError(`--config ${opts.config}: not a config: its top level must be a mapping of sections (ports:, control:, ...)`);
    }
    const control = (doc as { control?: { socket?: unknown; listen?: unknown } } | null)?.control;
    // A control section the loader would refuse is refused here too, in its words: falling back to the default socket would call the wrong dataplane.
    if (control !== undefined) {
      const problems = await controlProblems(control);
      if (problems.length > 0) throw new CtlUsageError(`--config ${opts.config}: ${problems.join('; ')}`);
    }
    if (typeof control?.socket === 'string' && control.socket !== '') return { where: control.socket, named: `--config ${opts.config}: control.socket ${control.socket}` };
    if (control?.socket === '' && typeof control.listen === 'string') return { where: control.listen, named: `--config ${opts.config}: control.listen ${control.listen}` };
    if (control?.socket === '') throw new CtlUsageError(`--config ${opts.config}: its control API is off (control.socket is "")`);
    return { where: DEFAULT_CONTROL_SOCKET, named: `--config ${opts.config} gives no control.socket, and the default socket ${DEFAULT_CONTROL_SOCKET}` };
  }
  return { where: DEFAULT_CONTROL_SOCKET, named: `the default socket ${DEFAULT_CONTROL_SOCKET}` };
}

/**
 * A `control:` section's problems as the config loader words them
 * ("control.socket: must be an absolute path ..."), from the loader's own
 * schema. Loaded only here: the schema brings zod, which a ctl without
 * --config never needs.
 */
async function controlProblems(control: unknown): Promise<string[]> {
  const [{ controlSchema }, { issueMessage }] = await Promise.all([import('../config/schema.js'), import('../config/zod-issue.js')]);
  const r = controlSchema.safeParse(control);
  if (r.success) return [];
  return r.error.issues.map((issue) => {
    const path = ['control', ...issue.path];
    const field = path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
    if (issue.code === 'unrecognized_keys') return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${field}: ${issueMessage(issue, path)}`;
  });
}

/** Where to call (resolveCtlTarget's address alone). */
export async function ctlTarget(opts: CtlOptions): Promise<string> {
  return (await resolveCtlTarget(opts)).where;
}

/**
 * After a call could not reach a dataplane: when the socket path exists but
 * is something else (a regular file, a directory), what it is, naming where
 * the path came from. connect() says only "connection refused" there, which
 * reads as "the dataplane is down" and sends the user to restart it, when
 * the path is what is wrong. Undefined for HOST:PORT, a missing path, or a
 * socket (then the client's own message says it).
 */
export function notASocket(target: CtlTarget): string | undefined {
  if (!target.where.includes('/')) return undefined;
  const path = target.where.startsWith('unix:') ? target.where.slice('unix:'.length) : target.where;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isSocket()) return undefined;
  const kind = st.isFile() ? 'a regular file' : st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a device';
  return `${target.named}: is ${kind}, not a socket: give the socket a running dataplane listens on (its control.socket, which \`dataplane run\` creates)`;
}

export class CtlUsageError extends Error {}

/** The longest Unix socket path (sun_path holds 108 bytes with the terminating NUL), as control.socket checks. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * --socket as given, or a usage error saying what it takes: a value the gRPC
 * client would misread (empty, or a bare name it takes for a host) or a path
 * no socket can have.
 */
function checkSocketOption(socket: string): string {
  const takes = 'give the path of a running dataplane\'s socket (control.socket, e.g. /run/dataplane/dataplane.sock) or the HOST:PORT of its control.listen';
  if (socket.trim() === '') throw new CtlUsageError(`--socket is empty: ${takes}`);
  if (!socket.includes('/') && !/^[^:]+:\d+$/.test(socket)) throw new CtlUsageError(`--socket ${socket}: neither a path (a socket in this directory is ./${socket}) nor HOST:PORT: ${takes}`);
  // The client would throw on a port past 65535 (an invalid URL), and nothing listens on port 0.
  const port = socket.includes('/') ? undefined : Number(socket.slice(socket.lastIndexOf(':') + 1));
  if (port !== undefined && (port < 1 || port > 65535)) throw new CtlUsageError(`--socket ${socket}: port ${socket.slice(socket.lastIndexOf(':') + 1)} is not 1-65535`);
  const path = socket.startsWith('unix:') ? socket.slice('unix:'.length) : socket;
  const bytes = Buffer.byteLength(path);
  if (path.includes('/') && bytes > MAX_SOCKET_PATH_BYTES) throw new CtlUsageError(`--socket ${socket}: ${bytes} bytes, longer than any Unix socket path (at most ${MAX_SOCKET_PATH_BYTES})`);
  return socket;
}

type Out = (text: string, json: unknown) => void;

/** Runs one verb: `call(client)` does the calls and prints through `out`. */
export async function runCtl(opts: CtlOptions, verb: (client: ControlClient, out: Out) => Promise<void>): Promise<number> {
  let client: ControlClient | undefined;
  let target: CtlTarget | undefined;
  try {
    target = await resolveCtlTarget(opts);
    client = new ControlClient(target.where, opts.timeout ?? 30_000);
    const out: Out = (text, json) => process.stdout.write(opts.json ? JSON.stringify(json, null, 2) + '\n' : text === '' ? '' : text + '\n');
    await verb(client, out);
    return 0;
  } catch (e) {
    if (e instanceof CtlUsageError) {
      process.stderr.write(`dataplane ctl: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ControlCallError) {
      // Never reached (code -1): a path that is not a socket is said as such; the exit status stays that of "cannot reach".
      const wrongPath = e.code === -1 && target !== undefined ? notASocket(target) : undefined;
      process.stderr.write(`dataplane ctl: ${wrongPath ?? e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    client?.close();
  }
}

// ---------------------------------------------------------------- formatting

interface RouteEntry {
  prefix: string;
  type: string;
  via: string;
  dev: string;
  nexthops: { via: string; dev: string; weight: number }[];
  source: string;
}

/** A route as `ip route` prints one, with where it came from. */
export function routeLine(r: RouteEntry): string {
  const parts = [r.type !== 'unicast' && r.type !== '' ? `${r.type} ${r.prefix}` : r.prefix];
  if (r.nexthops.length > 1) for (const n of r.nexthops) parts.push(`nexthop${n.via ? ` via ${n.via}` : ''}${n.dev ? ` dev ${n.dev}` : ''} weight ${n.weight}`);
  else {
    if (r.via) parts.push(`via ${r.via}`);
    if (r.dev) parts.push(`dev ${r.dev}`);
  }
  parts.push(`proto ${r.source}`);
  return parts.join(' ');
}

/**
 * Words after a verb as one routes-file line ("198.18.5.0/24 via
 * 198.51.100.2"). Its syntax is checked here, before anything is sent, so a
 * typo is a usage error (exit 2) whether or not a dataplane runs; what only
 * the dataplane knows (a port's name, a gateway off every subnet) it checks.
 */
export function routeWords(words: string[]): string {
  if (words.length === 0) throw new CtlUsageError('a route needs a prefix, e.g. `ctl route add 198.18.5.0/24 via 198.51.100.2`');
  const line = words.join(' ');
  const parsed = parseRouteLine(line);
  if (typeof parsed === 'string') throw new CtlUsageError(`route ${quoted(line)}: ${parsed}`);
  return line;
}

/** A --filter of `flows` (kind flow) or `nat` (kind mapping), its syntax checked before anything is sent. */
export function checkedFilter(text: string, kind: 'flow' | 'mapping'): string {
  try {
    parseFlowFilter(text, kind);
  } catch (e) {
    if (e instanceof FlowFilterError) throw new CtlUsageError(e.message);
    throw e;
  }
  return text;
}

/**
 * A `trace start --filter`, its syntax checked before anything is sent (the
 * port names of `in PORT` only the dataplane knows; it checks them).
 */
export function checkedTraceFilter(text: string): string {
  try {
    parseTraceFilter(text, 'any');
  } catch (e) {
    if (e instanceof TraceFilterError) throw new CtlUsageError(e.message);
    throw e;
  }
  return text;
}

/** An `explain` packet, its syntax checked before anything is sent (the dataplane checks the port name). */
export function checkedExplainSpec(text: string): string {
  try {
    parseExplainSpec(text, 'any');
  } catch (e) {
    if (e instanceof ExplainSpecError) throw new CtlUsageError(`explain: ${e.message}`);
    throw e;
  }
  return text;
}

/** Each word an IPv4 address (`what` names it in the message), checked before anything is sent. */
export function checkedAddresses(words: string[], what: string): string[] {
  for (const w of words) if (tryParseIpv4Address(w) < 0) throw new CtlUsageError(`${what} ${quoted(w)} is not an IPv4 address such as 198.51.100.20`);
  return words;
}

const macScratch = new Uint8Array(6);

/** A MAC address as `ip neigh` takes it (02:00:00:00:00:02), checked before anything is sent. */
export function checkedMac(text: string): string {
  if (!tryWriteMac(macScratch, 0, text)) throw new CtlUsageError(`lladdr ${quoted(text)} is not a MAC address such as 02:00:00:00:00:02`);
  return text;
}

/** Routes-file lines of a file, without comments and blank lines, for one Change call. */
export function routeFileLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CtlUsageError(`${file}: ${fileErrorReason(e)}`);
  }
  const lines: string[] = [];
  const bad: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const parsed = parseRouteLine(line);
    if (typeof parsed === 'string') bad.push(`${file}:${i + 1}: ${parsed}`);
    else lines.push(line);
  });
  // Every bad line at once (the first 20), and nothing sent: the change is one generation, all or nothing.
  if (bad.length > 0) throw new CtlUsageError(`${bad.length} bad route line${bad.length === 1 ? '' : 's'}, nothing sent:\n  ${bad.slice(0, 20).join('\n  ')}${bad.length > 20 ? `\n  (${bad.length - 20} more)` : ''}`);
  return lines;
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CtlUsageError(`${file}: ${fileErrorReason(e)}`);
  }
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  // A loop, not Math.max(...column): a flow dump can have more rows than a call can take arguments (RangeError).
  const widths = rows[0].map(() => 0);
  for (const r of rows) for (let c = 0; c < widths.length; c++) widths[c] = Math.max(widths[c], (r[c] ?? '').length);
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

export function appliedText(applied: string[]): string {
  return applied.length === 0 ? 'nothing to change' : applied.join('\n');
}

// `dataplane conformance`: runs the RFC 1812, 4787, 5382 and 5508
// requirements of src/conformance/ through the pipeline (memory ports, a
// virtual clock: no root, no files) and prints the report.
import { select } from '../conformance/catalogue.js';
import { formatJson, formatTable } from '../conformance/report.js';
import { RFCS, runAll, type Rfc, type Row } from '../conformance/requirement.js';

export interface ConformanceOptions {
  json: boolean;
  /** RFC numbers as typed (--rfc 4787 --rfc 5508, or "4787,5508", "rfc4787"). */
  rfc: string[];
}

/** The RFCs asked for, or the message naming the one that is not checked. */
export function parseRfcs(items: readonly string[]): Rfc[] | string {
  const wanted: Rfc[] = [];
  for (const item of items.flatMap((s) => s.split(',')).map((s) => s.trim().replace(/^rfc\s*/i, '')).filter((s) => s !== '')) {
    const n = Number(item);
    if (!(RFCS as readonly number[]).includes(n)) return `--rfc ${item}: not one of the RFCs it checks (${RFCS.join(', ')})`;
    if (!wanted.includes(n as Rfc)) wanted.push(n as Rfc);
  }
  return wanted;
}

/** The report and the exit status: 0 when every row passes, 1 when one fails. */
export function conformanceReport(rows: readonly Row[], json: boolean): { output: string; status: number } {
  return { output: json ? formatJson(rows) : formatTable(rows), status: rows.every((r) => r.pass) ? 0 : 1 };
}

/** Exit status: 0 every requirement passes, 1 one fails, 2 bad options. */
export function runConformance(opts: ConformanceOptions): number {
  const rfcs = parseRfcs(opts.rfc);
  if (typeof rfcs === 'string') {
    process.stderr.write(`dataplane conformance: ${rfcs}\n`);
    return 2;
  }
  const { output, status } = conformanceReport(runAll(select(rfcs)), opts.json);
  process.stdout.write(output);
  return status;
}

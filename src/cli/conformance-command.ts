// `dataplane conformance`: runs the RFC 1812, 4787, 5382 and 5508
// requirements of src/conformance/ through the pipeline (memory ports, a
// virtual clock: no root, no files) and prints the report.
import { select } from '../conformance/catalogue.js';
import { formatJson, formatTable } from '../conformance/report.js';
import { RFCS, runAll, type Rfc } from '../conformance/requirement.js';

export interface ConformanceOptions {
  json: boolean;
  /** RFC numbers as typed (--rfc 4787 --rfc 5508, or "4787,5508"). */
  rfc: string[];
}

/** Exit status: 0 every requirement passes, 1 one fails, 2 bad options. */
export function runConformance(opts: ConformanceOptions): number {
  const wanted: Rfc[] = [];
  for (const item of opts.rfc.flatMap((s) => s.split(',')).map((s) => s.trim().replace(/^rfc\s*/i, '')).filter((s) => s !== '')) {
    const n = Number(item);
    if (!(RFCS as readonly number[]).includes(n)) {
      process.stderr.write(`dataplane conformance: --rfc ${item}: not one of the RFCs it checks (${RFCS.join(', ')})\n`);
      return 2;
    }
    if (!wanted.includes(n as Rfc)) wanted.push(n as Rfc);
  }
  const rows = runAll(select(wanted));
  process.stdout.write(opts.json ? formatJson(rows) : formatTable(rows));
  return rows.every((r) => r.pass) ? 0 : 1;
}

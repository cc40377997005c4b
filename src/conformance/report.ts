// The report: a text table with three columns (the requirement, pass or
// fail, the evidence: one step per line) and a count per RFC, or the rows
// as JSON.
import { RFCS, type Row } from './requirement.js';

/** The requirement column's width: its text wraps within it. */
const REQUIREMENT_WIDTH = 44;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export function formatTable(rows: readonly Row[]): string {
  const out: string[] = [];
  const width = REQUIREMENT_WIDTH;
  const pad = (s: string) => s.padEnd(width);
  out.push(`${pad('REQUIREMENT')}  RESULT  EVIDENCE`);
  for (const r of rows) {
    const left = [r.requirement, ...wrap(r.text, width)];
    const right = r.pass ? r.evidence : [...`FAILED: ${r.failure ?? ''}`.split('\n').map((l) => l.trim()), ...r.evidence];
    const n = Math.max(left.length, right.length);
    for (let i = 0; i < n; i++) {
      const result = i === 0 ? (r.pass ? 'pass  ' : 'FAIL  ') : '      ';
      out.push(`${pad(left[i] ?? '')}  ${result}  ${right[i] ?? ''}`.trimEnd());
    }
    out.push('');
  }
  out.push(summary(rows));
  return `${out.join('\n')}\n`;
}

/** "RFC 1812: 12/12 pass  RFC 4787: 17/17 pass ... all 57 pass" */
export function summary(rows: readonly Row[]): string {
  const parts: string[] = [];
  for (const rfc of RFCS) {
    const of = rows.filter((r) => r.rfc === rfc);
    if (of.length > 0) parts.push(`RFC ${rfc}: ${of.filter((r) => r.pass).length}/${of.length} pass`);
  }
  const failed = rows.filter((r) => !r.pass).length;
  parts.push(failed === 0 ? `all ${rows.length} pass` : `${failed} of ${rows.length} FAIL`);
  return parts.join('  ');
}

export function formatJson(rows: readonly Row[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

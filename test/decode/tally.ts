// Field-by-field agreement counts for oracle cross-checks: how many values
// were compared, how many differed, and a few examples of each difference.
import { spawnSync } from 'node:child_process';

export function hasTools(names: readonly string[]): boolean {
  return names.every((n) => {
    const r = spawnSync(n, ['--version'], { stdio: 'ignore' });
    return !r.error && r.status === 0;
  });
}

interface FieldCount {
  compared: number;
  mismatched: number;
  examples: string[];
}

export class Tally {
  private readonly fields = new Map<string, FieldCount>();
  compared = 0;
  mismatched = 0;

  constructor(private readonly examplesPerField = 4) {}

  eq(field: string, ours: unknown, theirs: unknown, where: string): void {
    let c = this.fields.get(field);
    if (!c) {
      c = { compared: 0, mismatched: 0, examples: [] };
      this.fields.set(field, c);
    }
    c.compared++;
    this.compared++;
    if (ours === theirs) return;
    c.mismatched++;
    this.mismatched++;
    if (c.examples.length < this.examplesPerField) c.examples.push(`${where}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(theirs)}`);
  }

  get agreement(): number {
    return this.compared === 0 ? 1 : (this.compared - this.mismatched) / this.compared;
  }

  /** How many values of `field` were compared. */
  comparedOf(field: string): number {
    return this.fields.get(field)?.compared ?? 0;
  }

  /** Mismatch counts per field (most first), for assertions and reports. */
  mismatches(): [string, number][] {
    return [...this.fields].filter(([, c]) => c.mismatched > 0).map(([f, c]): [string, number] => [f, c.mismatched]).sort((a, b) => b[1] - a[1]);
  }

  report(title: string): string {
    const lines = [
      title,
      `fields compared: ${this.compared}, equal: ${this.compared - this.mismatched} (${(this.agreement * 100).toFixed(3)}%), mismatches: ${this.mismatched}`,
    ];
    const sorted = [...this.fields].sort((a, b) => b[1].mismatched - a[1].mismatched || a[0].localeCompare(b[0]));
    for (const [field, c] of sorted) {
      lines.push(`  ${field.padEnd(24)} ${String(c.compared).padStart(7)} compared, ${String(c.mismatched).padStart(5)} differ`);
      for (const e of c.examples) lines.push(`      ${e}`);
    }
    return lines.join('\n');
  }
}

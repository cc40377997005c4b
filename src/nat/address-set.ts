// A fixed set of IPv4 addresses for a per-packet membership test: open
// addressing in an Int32Array (load <= 1/2, linear probing), so a miss reads
// one or two words of one small array. ct-input asks "is this destination an
// external (NAT) address?" for every packet without a flow; a Set<number>
// there cost ~1.4% of a new flow's time (its hash and a call per test).
// Address 0 (0.0.0.0) is never external, so 0 marks an empty cell; it is
// stored apart when a set holds it.

export class AddressSet {
  private readonly cells: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  private readonly hasZero: boolean;
  readonly size: number;

  constructor(addresses: Iterable<number>) {
    const unique = new Set<number>();
    for (const a of addresses) unique.add(a | 0);
    this.size = unique.size;
    let bits = 1;
    while (1 << bits < 2 * unique.size) bits++;
    this.cells = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    this.hasZero = unique.has(0);
    for (const a of unique) {
      if (a === 0) continue;
      let i = this.slot(a);
      while (this.cells[i] !== 0) i = (i + 1) & this.mask;
      this.cells[i] = a;
    }
  }

  private slot(a: number): number {
    return Math.imul(a, 0x9e3779b1) >>> this.shift;
  }

  has(addr: number): boolean {
    const a = addr | 0;
    if (a === 0) return this.hasZero;
    const cells = this.cells;
    for (let i = this.slot(a); ; i = (i + 1) & this.mask) {
      const c = cells[i];
      if (c === a) return true;
      if (c === 0) return false;
    }
  }
}

// The boolean skeleton shared by the packet trace's filter
// (src/trace/filter.ts) and the control plane's flow filter
// (src/nat/flow-filter.ts): `not`/`!`, parentheses, `and`/`&&` binding
// tighter than `or`/`||`, over primitives each language parses itself. It
// lives here because both folders build on pipeline/ and neither may import
// the other.

/** The token stream a filter parser walks. */
export interface FilterTokens {
  peek(): string | undefined;
  take(): string | undefined;
  /** Steps back one token (so an error names the token that was wrong). */
  back(): void;
  /** Throws, naming what was expected at the current token. */
  fail(expected: string): never;
}

/** Parses `expr := term { or term }`, `term := not term | ( expr ) | primitive` with and binding tighter. */
export function parseFilterExpression<F>(t: FilterTokens, primitive: () => (f: F) => boolean): (f: F) => boolean {
  type Predicate = (f: F) => boolean;
  const term = (): Predicate => {
    const w = t.peek();
    if (w === 'not' || w === '!') {
      t.take();
      const inner = term();
      return (f) => !inner(f);
    }
    if (w === '(') {
      t.take();
      const e = expr();
      if (t.take() !== ')') {
        t.back();
        t.fail("')'");
      }
      return e;
    }
    return primitive();
  };
  const conjunction = (): Predicate => {
    let left = term();
    while (t.peek() === 'and' || t.peek() === '&&') {
      t.take();
      const l = left;
      const r = term();
      left = (f) => l(f) && r(f);
    }
    return left;
  };
  const expr = (): Predicate => {
    let left = conjunction();
    while (t.peek() === 'or' || t.peek() === '||') {
      t.take();
      const l = left;
      const r = conjunction();
      left = (f) => l(f) || r(f);
    }
    return left;
  };
  return expr();
}

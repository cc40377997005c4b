// The obviously-correct LPM that the trie is tested against: a list of
// prefixes, longest match by a full scan. Same API and NO_ROUTE as Lpm.

import { NO_ROUTE } from './fib-view.js';
import { prefixMask } from './prefix.js';

interface RefRoute {
  prefix: number;
  len: number;
  nextHop: number;
}

export class LinearLpm {
  private readonly routes: RefRoute[] = [];

  get size(): number {
    return this.routes.length;
  }

  /** Returns true when the prefix is new (otherwise its next hop is replaced). */
  insert(prefix: number, len: number, nextHop: number): boolean {
    const p = prefix >>> 0;
    const found = this.routes.find((r) => r.prefix === p && r.len === len);
    if (found) {
      found.nextHop = nextHop;
      return false;
    }
    this.routes.push({ prefix: p, len, nextHop });
    return true;
  }

  delete(prefix: number, len: number): boolean {
    const p = prefix >>> 0;
    const i = this.routes.findIndex((r) => r.prefix === p && r.len === len);
    if (i < 0) return false;
    this.routes.splice(i, 1);
    return true;
  }

  get(prefix: number, len: number): number {
    const p = prefix >>> 0;
    return this.routes.find((r) => r.prefix === p && r.len === len)?.nextHop ?? NO_ROUTE;
  }

  lookup(addr: number): number {
    const a = addr >>> 0;
    let best = -1;
    let nextHop = NO_ROUTE;
    for (const r of this.routes) {
      if (r.len > best && ((a & prefixMask(r.len)) >>> 0) === r.prefix) {
        best = r.len;
        nextHop = r.nextHop;
      }
    }
    return nextHop;
  }
}

// After a config failed its schema, its lists are salvaged entry by entry
// (load.ts, firewall-salvage.ts): the entries valid on their own are checked
// further, and `at` keeps where each stands in the list as written, so a
// later problem names the entry by the index the user sees.
import type { z } from 'zod';

/** The entries of `list` that pass `schema` alone, and where each stands in the list; undefined when `list` is no list. */
export function validEntries<T>(list: unknown, schema: z.ZodType<T>): { items: T[]; at: number[] } | undefined {
  if (!Array.isArray(list)) return undefined;
  const items: T[] = [];
  const at: number[] = [];
  list.forEach((x: unknown, i) => {
    const r = schema.safeParse(x);
    if (r.success) {
      items.push(r.data);
      at.push(i);
    }
  });
  return { items, at };
}
